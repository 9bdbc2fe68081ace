package qoe

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenantgate/tenantgate/m365access"
)

// The job kinds of the package.
const (
	KindFetchCall = "tenantgate.qoe.fetch_call"
	KindLifecycle = "tenantgate.qoe.lifecycle"
	KindSubscribe = "tenantgate.qoe.subscribe"
	KindRenewAll  = "tenantgate.qoe.renew_all"
	KindBackfill  = "tenantgate.qoe.backfill"
	KindPSTN      = "tenantgate.qoe.pstn"
	KindPSTNAll   = "tenantgate.qoe.pstn_all"
	KindPurge     = "tenantgate.qoe.purge"
)

// The lifecycle events Graph sends.
const (
	lifecycleReauthorize = "reauthorizationRequired"
	lifecycleRemoved     = "subscriptionRemoved"
	lifecycleMissed      = "missed"
)

// inFlight keeps one job per unique args queued or running; a finished
// job does not block the next (the Store's versions drop repeats).
var inFlight = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

func uniqueInFlight() river.UniqueOpts { return river.UniqueOpts{ByArgs: true, ByState: inFlight} }

// FetchCallArgs fetches, classifies and stores one call record.
type FetchCallArgs struct {
	Customer string `json:"customer" river:"unique"`
	CallID   string `json:"callId" river:"unique"`
}

// Kind is the job kind.
func (FetchCallArgs) Kind() string { return KindFetchCall }

// InsertOpts makes the job unique while queued and gives it 12 attempts.
func (FetchCallArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 12, UniqueOpts: uniqueInFlight()}
}

// LifecycleArgs handles one lifecycle notification.
type LifecycleArgs struct {
	Customer       string `json:"customer" river:"unique"`
	SubscriptionID string `json:"subscriptionId" river:"unique"`
	Event          string `json:"event" river:"unique"`
}

// Kind is the job kind.
func (LifecycleArgs) Kind() string { return KindLifecycle }

// InsertOpts makes the job unique while queued.
func (LifecycleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 12, UniqueOpts: uniqueInFlight()}
}

// SubscribeArgs runs EnsureSubscription for one customer.
type SubscribeArgs struct {
	Customer string `json:"customer" river:"unique"`
}

// Kind is the job kind.
func (SubscribeArgs) Kind() string { return KindSubscribe }

// InsertOpts makes the job unique while queued.
func (SubscribeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, UniqueOpts: uniqueInFlight()}
}

// RenewAllArgs queues a SubscribeArgs job per customer, and a BackfillArgs
// job per subscribed customer (periodic).
type RenewAllArgs struct{}

// Kind is the job kind.
func (RenewAllArgs) Kind() string { return KindRenewAll }

// InsertOpts makes the job unique while queued.
func (RenewAllArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: inFlight}}
}

// BackfillArgs lists a customer's call records that started at or after
// Since and queues a FetchCallArgs job for each one not stored at its
// version (after a "missed" lifecycle notification).
type BackfillArgs struct {
	Customer string    `json:"customer" river:"unique"`
	Since    time.Time `json:"since"`
}

// Kind is the job kind.
func (BackfillArgs) Kind() string { return KindBackfill }

// InsertOpts makes the job unique per customer while queued.
func (BackfillArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, UniqueOpts: uniqueInFlight()}
}

// PSTNArgs pulls one UTC day (YYYY-MM-DD) of a customer's Direct Routing
// and Calling Plan reports.
type PSTNArgs struct {
	Customer string `json:"customer" river:"unique"`
	Day      string `json:"day" river:"unique"`
}

// Kind is the job kind.
func (PSTNArgs) Kind() string { return KindPSTN }

// InsertOpts makes the job unique while queued.
func (PSTNArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, UniqueOpts: uniqueInFlight()}
}

// PSTNAllArgs queues PSTNArgs for yesterday and today for each
// subscribed customer (periodic, daily).
type PSTNAllArgs struct{}

// Kind is the job kind.
func (PSTNAllArgs) Kind() string { return KindPSTNAll }

// InsertOpts makes the job unique while queued.
func (PSTNAllArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: inFlight}}
}

// PurgeArgs deletes the calls older than the retention (periodic, daily).
type PurgeArgs struct{}

// Kind is the job kind.
func (PurgeArgs) Kind() string { return KindPurge }

// InsertOpts makes the job unique while queued.
func (PurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: inFlight}}
}

// AddWorkers registers the package's workers on w. Its signature fits
// fleet.Config.Workers.
func (s *Service) AddWorkers(w *river.Workers) error {
	for _, err := range []error{
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workFetch))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workLifecycle))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workSubscribe))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workRenewAll))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workBackfill))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workPSTN))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workPSTNAll))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workPurge))),
	} {
		if err != nil {
			return fmt.Errorf("qoe: %w", err)
		}
	}
	return nil
}

// PeriodicJobs returns the periodic jobs for the host's River client:
// the renewal pass (every RenewInterval), the PSTN pull and the
// retention purge (daily), each also run at start.
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	mk := func(every time.Duration, args river.JobArgs, id string) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: id, RunOnStart: true})
	}
	return []*river.PeriodicJob{
		mk(s.cfg.RenewInterval, RenewAllArgs{}, KindRenewAll),
		mk(24*time.Hour, PSTNAllArgs{}, KindPSTNAll),
		mk(24*time.Hour, PurgeArgs{}, KindPurge),
	}
}

// snoozeIfThrottled turns a 429 into a snooze of the customer's jobs.
func (s *Service) snoozeIfThrottled(customer string, err error) error {
	if d, ok := Throttled(err, s.cfg.ThrottleFallback); ok {
		s.throttle(customer, d)
		s.stats.throttled.Add(1)
		return river.JobSnooze(d)
	}
	return err
}

// permanent reports errors that retrying cannot fix: the job is
// cancelled and the reason logged.
func permanent(err error) bool {
	var fe *m365access.FlowError
	if errors.As(err, &fe) && fe.Reason == m365access.ReasonNotConfigured {
		return true
	}
	var e *m365access.Error
	return errors.As(err, &e) && (e.HTTPStatus == http.StatusForbidden || e.HTTPStatus == http.StatusBadRequest)
}

func (s *Service) workFetch(ctx context.Context, job *river.Job[FetchCallArgs]) error {
	a := job.Args
	if d := s.throttledFor(a.Customer); d > 0 {
		return river.JobSnooze(d)
	}
	if _, ok, err := s.cfg.Store.subscription(ctx, a.Customer); err != nil {
		return err
	} else if !ok {
		s.log.InfoContext(ctx, "qoe: call of a customer without a subscription dropped", "customer", a.Customer)
		return nil
	}
	err := s.ProcessCall(ctx, a.Customer, a.CallID)
	if err == nil {
		return nil
	}
	if permanent(err) {
		s.log.WarnContext(ctx, "qoe: call record cannot be fetched", "customer", a.Customer, "call", a.CallID, "err", err)
		return river.JobCancel(err)
	}
	if notFound(err) && job.Attempt >= fetchNotFoundAttempts {
		// A record Graph notified becomes readable within seconds; one
		// still missing after a few tries was never there (a forged ID).
		s.log.InfoContext(ctx, "qoe: call record not found; dropped", "customer", a.Customer, "call", clipID(a.CallID), "attempts", job.Attempt)
		return river.JobCancel(err)
	}
	return s.snoozeIfThrottled(a.Customer, err)
}

// fetchNotFoundAttempts is how many times a fetch meets Graph's 404
// before it is final (River's backoff puts the third try about 20 s
// after the first).
const fetchNotFoundAttempts = 3

// ProcessCall fetches call record id of customer with its sessions and
// segments, classifies it and stores it; a version already stored is
// dropped.
func (s *Service) ProcessCall(ctx context.Context, customer, id string) error {
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return err
	}
	rec, err := g.fetchRecord(ctx, id)
	if err != nil {
		return err
	}
	c, err := rec.toCall(customer)
	if err != nil {
		return river.JobCancel(err) // a malformed record stays malformed
	}
	stored, err := s.cfg.Store.PutCall(ctx, c)
	if err != nil {
		return fmt.Errorf("qoe: store call %s of customer %q: %w", c.ID, customer, err)
	}
	if !stored {
		s.stats.duplicates.Add(1)
		return nil
	}
	s.stats.stored.Add(1)
	return s.cfg.Store.bumpLastSeen(ctx, customer, c.Start)
}

func (s *Service) workLifecycle(ctx context.Context, job *river.Job[LifecycleArgs]) error {
	a := job.Args
	if d := s.throttledFor(a.Customer); d > 0 {
		return river.JobSnooze(d)
	}
	unlock := s.lockCustomer(a.Customer)
	defer unlock()
	row, ok, err := s.cfg.Store.subscription(ctx, a.Customer)
	if err != nil {
		return err
	}
	if !ok || row.ID != a.SubscriptionID {
		return nil // replaced or removed since
	}
	// A lifecycle notification only needs the clientState, which the
	// customer's admin can read from Graph: confirm it with Graph first.
	g, err := s.graphFor(ctx, a.Customer)
	if err != nil {
		return s.snoozeIfThrottled(a.Customer, err)
	}
	_, err = g.getSubscription(ctx, row.ID)
	gone := notFound(err)
	if err != nil && !gone {
		return s.snoozeIfThrottled(a.Customer, err)
	}
	switch {
	case a.Event == lifecycleRemoved && !gone:
		s.log.WarnContext(ctx, "qoe: subscriptionRemoved for a subscription Graph still has; ignored", "customer", a.Customer, "subscription", row.ID)
		return nil
	case a.Event == lifecycleRemoved || gone:
		// Graph lost it: a new one, and a backfill of what it missed.
		err = s.create(ctx, a.Customer, row.AppID, row.LastSeenStart)
		if err == nil {
			_, err = s.insert(ctx, BackfillArgs{Customer: a.Customer, Since: s.backfillSince(row)}, nil)
		}
	case a.Event == lifecycleReauthorize:
		err = s.renew(ctx, a.Customer, row)
	case a.Event == lifecycleMissed:
		_, err = s.insert(ctx, BackfillArgs{Customer: a.Customer, Since: s.backfillSince(row)}, nil)
	}
	if err != nil {
		return s.snoozeIfThrottled(a.Customer, err)
	}
	s.log.InfoContext(ctx, "qoe: lifecycle notification handled", "customer", a.Customer, "event", a.Event)
	return nil
}

// backfillSince is where a backfill starts: a minute before the newest
// call seen (calls are listed by start, and may land out of order), or
// the subscription's creation.
func (s *Service) backfillSince(row subRow) time.Time {
	if !row.LastSeenStart.IsZero() {
		return row.LastSeenStart.Add(-time.Minute)
	}
	if !row.CreatedAt.IsZero() {
		return row.CreatedAt.Add(-time.Hour)
	}
	return s.now().Add(-24 * time.Hour)
}

func (s *Service) workSubscribe(ctx context.Context, job *river.Job[SubscribeArgs]) error {
	if d := s.throttledFor(job.Args.Customer); d > 0 {
		return river.JobSnooze(d)
	}
	err := s.EnsureSubscription(ctx, job.Args.Customer)
	if err != nil && permanent(err) {
		return river.JobCancel(err)
	}
	return s.snoozeIfThrottled(job.Args.Customer, err)
}

// customers returns the customers the periodic passes cover.
func (s *Service) customers(ctx context.Context) ([]string, error) {
	if s.cfg.Customers != nil {
		cs, err := s.cfg.Customers(ctx)
		if err != nil {
			return nil, err
		}
		subscribed, err := s.cfg.Store.subscribedCustomers(ctx)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		var out []string
		for _, c := range append(cs, subscribed...) {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		return out, nil
	}
	return s.cfg.Store.subscribedCustomers(ctx)
}

func (s *Service) workRenewAll(ctx context.Context, _ *river.Job[RenewAllArgs]) error {
	cs, err := s.customers(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if _, err := s.insert(ctx, SubscribeArgs{Customer: c}, nil); err != nil {
			return err
		}
		// Graph drops a change notification it could not deliver for
		// about four hours and tells nobody: "missed" lifecycle
		// notifications are for Outlook resources only. Each pass lists
		// the records whose notifications may have been dropped since the
		// last one.
		row, ok, err := s.cfg.Store.subscription(ctx, c)
		if err != nil {
			return err
		}
		if ok {
			if _, err := s.insert(ctx, BackfillArgs{Customer: c, Since: s.periodicBackfillSince(row)}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// graphRetryWindow is how long Graph retries a change notification
// before dropping it: about four hours (change notifications through
// webhooks).
const graphRetryWindow = 4 * time.Hour

// periodicBackfillSince is where a renewal pass's backfill starts: early
// enough to cover every notification Graph may have dropped since the
// previous pass (its retry window, the pass interval and an hour for call
// length and lag), or where a lifecycle backfill would start if that is
// earlier; never before Graph's 30 days of call records.
func (s *Service) periodicBackfillSince(row subRow) time.Time {
	now := s.now()
	since := now.Add(-(graphRetryWindow + s.cfg.RenewInterval + time.Hour))
	if b := s.backfillSince(row); b.Before(since) {
		since = b
	}
	if oldest := now.Add(-30 * 24 * time.Hour); since.Before(oldest) {
		since = oldest
	}
	return since
}

func (s *Service) workBackfill(ctx context.Context, job *river.Job[BackfillArgs]) error {
	a := job.Args
	if d := s.throttledFor(a.Customer); d > 0 {
		return river.JobSnooze(d)
	}
	n, err := s.Backfill(ctx, a.Customer, a.Since)
	if err != nil {
		return s.snoozeIfThrottled(a.Customer, err)
	}
	s.log.InfoContext(ctx, "qoe: backfill queued calls", "customer", a.Customer, "since", a.Since, "queued", n)
	return nil
}

// Backfill lists customer's call records that started at or after since
// and queues a fetch for each one not stored at its version. It returns
// how many it queued.
func (s *Service) Backfill(ctx context.Context, customer string, since time.Time) (int, error) {
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return 0, err
	}
	recs, err := g.listSince(ctx, since)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		v, err := s.cfg.Store.callVersion(ctx, customer, r.ID)
		if err != nil {
			return n, err
		}
		if v >= r.Version && v > 0 {
			continue
		}
		if _, err := s.insert(ctx, FetchCallArgs{Customer: customer, CallID: r.ID}, nil); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Service) workPSTN(ctx context.Context, job *river.Job[PSTNArgs]) error {
	a := job.Args
	if d := s.throttledFor(a.Customer); d > 0 {
		return river.JobSnooze(d)
	}
	day, err := time.Parse(time.DateOnly, a.Day)
	if err != nil {
		return river.JobCancel(fmt.Errorf("qoe: bad PSTN day %q", a.Day))
	}
	err = s.PullPSTN(ctx, a.Customer, day)
	if err != nil && permanent(err) {
		s.log.InfoContext(ctx, "qoe: PSTN reports not readable (CallRecords.Read.PstnCalls missing?)", "customer", a.Customer, "err", err)
		return nil
	}
	return s.snoozeIfThrottled(a.Customer, err)
}

// PullPSTN reads customer's getDirectRoutingCalls and getPstnCalls for
// the UTC day of day and stores per SBC FQDN the attempts, successes,
// final SIP codes and minutes, and the Calling Plan calls and minutes.
func (s *Service) PullPSTN(ctx context.Context, customer string, day time.Time) error {
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return err
	}
	from := truncDay(day)
	to := from.Add(24 * time.Hour)
	dr, err := report[directRoutingRow](ctx, g, "getDirectRoutingCalls", from, to)
	if err != nil {
		return err
	}
	pc, err := report[pstnRow](ctx, g, "getPstnCalls", from, to)
	if err != nil {
		return err
	}
	byFQDN := map[string]*pstnDay{}
	var rows []pstnDay
	for _, r := range dr {
		t := byFQDN[r.TrunkFQDN]
		if t == nil {
			t = &pstnDay{kind: "directRouting", fqdn: r.TrunkFQDN, codes: map[string]int{}}
			byFQDN[r.TrunkFQDN] = t
		}
		t.attempts++
		if r.Successful != nil && *r.Successful {
			t.succ++
		}
		if r.Duration != nil {
			t.ss += *r.Duration
		}
		if r.FinalSIPCode != nil {
			t.codes[strconv.Itoa(*r.FinalSIPCode)]++
		}
	}
	for _, t := range byFQDN {
		rows = append(rows, *t)
	}
	if len(pc) > 0 {
		cp := pstnDay{kind: "callingPlan", codes: map[string]int{}}
		for _, r := range pc {
			cp.attempts++
			cp.succ++
			if r.Duration != nil {
				cp.ss += *r.Duration
			}
		}
		rows = append(rows, cp)
	}
	return s.cfg.Store.putPSTNDay(ctx, customer, dayOf(from), rows, s.now())
}

func (s *Service) workPSTNAll(ctx context.Context, _ *river.Job[PSTNAllArgs]) error {
	cs, err := s.cfg.Store.subscribedCustomers(ctx)
	if err != nil {
		return err
	}
	today := truncDay(s.now())
	for _, c := range cs {
		for _, d := range []time.Time{today.AddDate(0, 0, -1), today} {
			if _, err := s.insert(ctx, PSTNArgs{Customer: c, Day: dayOf(d)}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) workPurge(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	n, err := s.Purge(ctx)
	if err == nil && n > 0 {
		s.log.InfoContext(ctx, "qoe: purged calls past retention", "calls", n)
	}
	return err
}

// Purge deletes the calls that started longer than the retention ago.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	return s.cfg.Store.Purge(ctx, s.now().Add(-s.cfg.Retention))
}
