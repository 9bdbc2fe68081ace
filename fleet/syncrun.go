package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/usersync"
)

// The states of a sync run.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	// RunRetrying: an attempt failed for a temporary reason (throttling,
	// an interrupted replica); River retries it with backoff.
	RunRetrying = "retrying"
	// RunCancelled: someone cancelled the job.
	RunCancelled = "cancelled"
)

// SyncRun is the latest user sync of a customer, as the admin API shows
// it: one record per customer, kept in the Store.
type SyncRun struct {
	ID         string     `json:"id"`
	State      string     `json:"state"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Added      int        `json:"added"`
	Changed    int        `json:"changed"`
	Removed    int        `json:"removed"`
	Unchanged  int        `json:"unchanged"`
	Total      int        `json:"total"`
	// Round is the kind of read the sync made ("full" or "delta", see
	// usersync.Round), RoundReason why, and Requests the Graph requests
	// it made for users.
	Round       string    `json:"round,omitempty"`
	RoundReason string    `json:"roundReason,omitempty"`
	Requests    int       `json:"requests,omitempty"`
	Progress    Progress  `json:"progress"`
	Error       *RunError `json:"error,omitempty"`
	// Heartbeat is when the worker running the sync last recorded it.
	Heartbeat time.Time `json:"heartbeat"`
	// Job is the River job of the run; Attempt counts its attempts.
	Job     int64  `json:"job,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Trigger string `json:"trigger,omitempty"`
}

// Progress is how far a run got.
type Progress struct {
	Pages   int `json:"pages"`
	Read    int `json:"read"`
	Matched int `json:"matched"`
	// Estimate is the number of users the filter selects per Graph, -1
	// when unknown.
	Estimate int64 `json:"estimate"`
	// Percent is Read/Estimate in percent (100 when done), -1 when unknown.
	Percent int `json:"percent"`
}

// RunError says, without internal text, why a run failed.
type RunError struct {
	Code    string `json:"code"`
	Action  string `json:"action,omitempty"`
	Message string `json:"message"`
}

// LatestSync returns the customer's latest sync run; ok is false when it
// never synced.
func (f *Fleet) LatestSync(ctx context.Context, customer string) (run SyncRun, ok bool, err error) {
	_, ok, err = getJSON(ctx, f.cfg.Store, syncRunKey(customer), &run)
	return run, ok, err
}

func (f *Fleet) saveRun(ctx context.Context, customer string, run SyncRun) error {
	return update(ctx, f.cfg.Store, syncRunKey(customer), func(r *SyncRun, _ bool) error {
		*r = run
		return nil
	})
}

// SyncNow enqueues a user sync of the customer to run now and returns its
// run as queued. A sync already waiting (scheduled or retrying) is moved
// to now; one running gives ErrRunning.
func (f *Fleet) SyncNow(ctx context.Context, customer string) (SyncRun, error) {
	if f.cfg.Syncer == nil {
		return SyncRun{}, ErrDisabled
	}
	if err := f.enrolledForJob(ctx, customer); err != nil {
		return SyncRun{}, err
	}
	j, err := f.enqueueNow(ctx, customer, SyncArgs{Customer: customer, Trigger: "api"}, true)
	if errors.Is(err, ErrRunning) {
		// The running job may be an orphan (its process is gone): give it
		// back, and the sync is accepted at once.
		f.rescueBeforeBusy(ctx)
		j, err = f.enqueueNow(ctx, customer, SyncArgs{Customer: customer, Trigger: "api"}, true)
	}
	// A run that recorded its end holds its job's unique slot until River
	// has finalized the job (asynchronously, within moments): wait for it
	// rather than refuse.
	for deadline := time.Now().Add(5 * time.Second); errors.Is(err, ErrRunning) && time.Now().Before(deadline); {
		prev, ok, lerr := f.LatestSync(ctx, customer)
		if lerr != nil || !ok || prev.Job != j.ID || prev.FinishedAt == nil {
			break
		}
		select {
		case <-ctx.Done():
			return SyncRun{}, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
		j, err = f.enqueueNow(ctx, customer, SyncArgs{Customer: customer, Trigger: "api"}, true)
	}
	if err != nil {
		return SyncRun{}, err
	}
	now := f.now()
	run := SyncRun{ID: runID(j.ID), State: RunQueued, StartedAt: now, Heartbeat: now, Job: j.ID, Trigger: "api",
		Progress: Progress{Estimate: -1, Percent: -1}}
	// The worker may have started already; only record "queued" over an
	// older run.
	err = update(ctx, f.cfg.Store, syncRunKey(customer), func(r *SyncRun, _ bool) error {
		if r.ID == run.ID && r.State != RunInterrupted {
			run = *r
			return errSkip
		}
		*r = run
		return nil
	})
	return run, err
}

// CancelSync cancels the customer's queued or running sync. A running one
// stops at its next page and records itself cancelled.
func (f *Fleet) CancelSync(ctx context.Context, customer string) (SyncRun, error) {
	run, ok, err := f.LatestSync(ctx, customer)
	if err != nil {
		return SyncRun{}, err
	}
	if !ok || run.Job == 0 {
		return run, ErrNotEnrolled
	}
	if run.FinishedAt == nil {
		// A run whose process is gone would never see the cancel: give
		// it back first, so the cancel takes effect now.
		f.rescueBeforeBusy(ctx)
		if run, _, err = f.LatestSync(ctx, customer); err != nil {
			return run, err
		}
	}
	if _, err := f.client.JobCancel(ctx, run.Job); err != nil && !errors.Is(err, river.ErrNotFound) {
		return run, fmt.Errorf("fleet: cancel sync of %q: %w", customer, err)
	}
	if run.State == RunQueued || run.State == RunRetrying || run.State == RunInterrupted {
		now := f.now()
		run.State, run.FinishedAt = RunCancelled, &now
		run.Error = &RunError{Code: "cancelled", Message: "the sync was cancelled"}
		if err := f.saveRun(ctx, customer, run); err != nil {
			return run, err
		}
	}
	return run, nil
}

// inProgressSnooze is how long a sync waits when the host's own sync of
// the customer is running.
const inProgressSnooze = 30 * time.Second

// savedFilters reads each customer's saved userFilter, for a Syncer
// without Filters.
func (f *Fleet) savedFilters(ctx context.Context, customer string) (string, error) {
	st, err := f.cfg.Access.GetSettings(ctx, customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return "", nil
	}
	return st.UserFilter, err
}

func runID(job int64) string { return "job-" + strconv.FormatInt(job, 10) }

// workSync runs one user sync, recording its progress (a heartbeat every
// Config.SyncHeartbeat) and result in the customer's run record.
func (f *Fleet) workSync(ctx context.Context, job *river.Job[SyncArgs]) error {
	customer := job.Args.Customer
	if f.cfg.Syncer == nil {
		return river.JobCancel(ErrDisabled)
	}
	if err := f.guard(ctx, customer); err != nil {
		return err
	}
	if done, err := f.done(ctx, customer, job.ID, KindSync); err != nil || done {
		return err
	}
	ctx = WithCustomer(ctx, customer)
	now := f.now()
	live := &liveRun{run: SyncRun{ID: runID(job.ID), State: RunRunning, StartedAt: now, Heartbeat: now, Job: job.ID,
		Attempt: job.Attempt, Trigger: job.Args.Trigger, Progress: Progress{Estimate: -1, Percent: -1}}}
	if err := f.saveRun(ctx, customer, live.run); err != nil {
		return err
	}
	res := f.runSync(ctx, customer, job.Args.Trigger, live)
	run := f.finishedRun(ctx, customer, live.snapshot(), res)
	var jobErr error
	run.State, run.Error, jobErr = syncOutcome(ctx, customer, res, job.Attempt >= job.MaxAttempts)
	if res.Err != nil {
		f.cfg.Logger.WarnContext(ctx, "fleet: user sync failed", "customer", customer, "run", run.ID, "attempt", job.Attempt, "state", run.State, "err", res.Err.Error())
	}
	// The result must be recorded even when ctx ended (shutdown, cancel).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := f.recordSync(sctx, customer, job.ID, run, res); err != nil {
		return errors.Join(jobErr, err)
	}
	return jobErr
}

// liveRun is the run record of a sync under way, which the sync's
// progress and the heartbeat both update.
type liveRun struct {
	mu  sync.Mutex
	run SyncRun
}

func (l *liveRun) snapshot() SyncRun {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.run
}

// runSync runs the customer's sync through the Syncer, recording its
// progress in live and saving live every Config.SyncHeartbeat until it
// returns.
func (f *Fleet) runSync(ctx context.Context, customer, trigger string, live *liveRun) usersync.Result {
	opts := []usersync.SyncOption{usersync.WithProgress(func(p usersync.Progress) {
		live.mu.Lock()
		live.run.Progress = progressOf(p.Pages, p.Read, p.Matched, p.Estimate, false)
		live.mu.Unlock()
	})}
	if f.cfg.Syncer.Filters == nil {
		opts = append(opts, usersync.WithFilters(usersync.FilterFunc(f.savedFilters)))
	}
	if trigger == "api" {
		// A sync a person asks for reads every user: a delta round sees
		// only what changed in Entra ID, not Teams Phone changes (a number
		// or policy assigned since), which a person syncing expects to see.
		opts = append(opts, usersync.WithRound(usersync.RoundFull))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { f.heartbeat(ctx, customer, live, done) })
	res := f.cfg.Syncer.SyncCustomer(ctx, customer, opts...)
	close(done)
	wg.Wait()
	return res
}

// heartbeat saves live every Config.SyncHeartbeat until done is closed.
func (f *Fleet) heartbeat(ctx context.Context, customer string, live *liveRun, done <-chan struct{}) {
	t := time.NewTicker(f.cfg.SyncHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			live.mu.Lock()
			live.run.Heartbeat = f.now()
			snap := live.run
			live.mu.Unlock()
			if err := f.saveRun(ctx, customer, snap); err != nil && ctx.Err() == nil {
				f.cfg.Logger.WarnContext(ctx, "fleet: recording sync progress failed", "customer", customer, "err", err.Error())
			}
		}
	}
}

// finishedRun is run with the sync's result: its end, counts and
// progress, and the customer's user count when Config.Users can tell.
func (f *Fleet) finishedRun(ctx context.Context, customer string, run SyncRun, res usersync.Result) SyncRun {
	fin := f.now()
	run.FinishedAt, run.Heartbeat = &fin, fin
	run.Added, run.Changed, run.Removed, run.Unchanged = res.Added, res.Changed, res.Removed, res.Unchanged
	run.Round, run.RoundReason, run.Requests = string(res.Round), res.Reason, res.Requests
	run.Progress = progressOf(res.Pages, res.Read, res.Matched, res.Estimate, res.Err == nil)
	run.Total = res.Added + res.Changed + res.Unchanged
	if f.cfg.Users != nil {
		if n, err := f.cfg.Users.Count(ctx, customer); err == nil {
			run.Total = n
		}
	}
	return run
}

// syncOutcome decides how a sync that returned res ended: the run's state
// and error, and what the job returns to River (nil, an error to retry,
// a snooze or a cancel). final is the job's last attempt.
func syncOutcome(ctx context.Context, customer string, res usersync.Result, final bool) (string, *RunError, error) {
	switch {
	case res.Err == nil:
		return RunSucceeded, nil, nil
	case errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely):
		return RunCancelled, &RunError{Code: "cancelled", Message: "the sync was cancelled"}, res.Err
	case errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, context.DeadlineExceeded):
		state := RunRetrying
		if final {
			state = RunFailed
		}
		return state, &RunError{Code: "interrupted", Action: string(m365access.ActionWaitAndRetry),
			Message: "the sync was interrupted (cancelled, timed out or the server stopped); it is retried unless it was cancelled"}, res.Err
	case errors.Is(res.Err, usersync.ErrInProgress):
		// The host's own sync of the customer (same Syncer) is running:
		// run after it, without spending an attempt.
		return RunRetrying, &RunError{Code: "inProgress", Action: string(m365access.ActionWaitAndRetry),
			Message: "another sync of this customer is running in this process; this one runs after it"}, river.JobSnooze(inProgressSnooze)
	case sqldb.IsStorageFull(res.Err):
		// Not "retrying": nothing can be stored (River's own job rows
		// included) until someone frees space; River retries the job
		// when it can record that.
		return RunFailed, &RunError{Code: "storage_full",
			Message: "the database's storage is full; nothing was removed: free space on its disk, then sync again"}, fmt.Errorf("fleet: sync of %q: %w", customer, res.Err)
	case retryable(res.Err) && !final:
		return RunRetrying, runErrorOf(res), fmt.Errorf("fleet: sync of %q: %w", customer, res.Err)
	default:
		return RunFailed, runErrorOf(res), river.JobCancel(fmt.Errorf("fleet: sync of %q: %w", customer, res.Err))
	}
}

// recordSync saves the run that ended, reports it (events, plugins'
// AfterSync) and, once it succeeded or failed, records it in the
// customer's state (once per job, whichever attempt ended it).
func (f *Fleet) recordSync(ctx context.Context, customer string, job int64, run SyncRun, res usersync.Result) error {
	if err := f.saveRun(ctx, customer, run); err != nil {
		return err
	}
	f.emitSync(ctx, customer, run, res)
	f.afterSync(ctx, customer, run)
	if run.State != RunSucceeded && run.State != RunFailed {
		return nil
	}
	return update(ctx, f.cfg.Store, stateKey(customer), func(st *state, _ bool) error {
		if st.SyncJob == job {
			return errSkip
		}
		st.LastSyncAt, st.LastSyncOK, st.SyncJob = run.FinishedAt, run.State == RunSucceeded, job
		if run.State == RunSucceeded {
			st.Syncs++
		}
		return nil
	})
}

// emitSync reports a run that ended, once per run whichever replica ran
// its last attempt.
func (f *Fleet) emitSync(ctx context.Context, customer string, run SyncRun, res usersync.Result) {
	if f.cfg.Events == nil || (run.State != RunSucceeded && run.State != RunFailed) {
		return
	}
	ms := res.Duration.Milliseconds()
	e := events.Event{Type: events.SyncSucceeded, Key: "sync/" + run.ID,
		Data: events.Data{Customer: customer, Users: &run.Total, Added: &run.Added, Changed: &run.Changed, Removed: &run.Removed, DurationMS: &ms}}
	if run.FinishedAt != nil {
		e.Time = *run.FinishedAt
	}
	if run.State == RunFailed {
		e.Type = events.SyncFailed
		e.Data.Users, e.Data.Added, e.Data.Changed, e.Data.Removed = nil, nil, nil, nil
		if run.Error != nil {
			e.Data.Action, e.Data.Error = run.Error.Action, run.Error.Message
		}
	}
	if err := f.cfg.Events.Emit(ctx, e); err != nil {
		f.cfg.Logger.WarnContext(ctx, "fleet: sync event", "customer", customer, "run", run.ID, "err", err.Error())
	}
}

// retryable reports whether trying again later can help: temporary
// failures and unknown ones (network), not those a person must fix.
func retryable(err error) bool {
	if m365access.IsRetryable(err) {
		return true
	}
	var fe *usersync.FilterError
	if errors.As(err, &fe) {
		return false
	}
	a := m365access.ActionOf(err)
	return a == m365access.ActionNone || a == m365access.ActionWaitAndRetry
}

// progressOf builds the progress of a run.
func progressOf(pages, read, matched int, estimate int64, done bool) Progress {
	p := Progress{Pages: pages, Read: read, Matched: matched, Estimate: estimate, Percent: -1}
	switch {
	case done:
		p.Percent = 100
	case estimate > 0:
		p.Percent = int(min(99, int64(read)*100/estimate))
	}
	return p
}

// runErrorOf says, without internal text, why a sync failed.
func runErrorOf(res usersync.Result) *RunError {
	var fe *usersync.FilterError
	var me *m365access.Error
	e := &RunError{Code: "internal", Action: string(res.Action), Message: "the sync failed; the error was logged"}
	switch {
	case errors.As(res.Err, &fe):
		e.Code, e.Message = "invalid_filter", "the user filter cannot be used; correct it in the settings"
		e.Action = string(m365access.ActionFixFilter)
	case errors.Is(res.Err, usersync.ErrInProgress):
		e.Code, e.Message = "sync_running", "another sync of this customer was running"
	case errors.As(res.Err, &me):
		e.Code, e.Message = "microsoft_error", "Microsoft refused the request; see the action"
		if me.Retryable {
			e.Code, e.Message = "microsoft_unavailable", "Microsoft is unavailable or throttling; retried later"
		}
	case m365access.ActionOf(res.Err) != m365access.ActionNone:
		e.Code, e.Message = "microsoft_error", "getting a token failed; see the action"
	}
	if e.Action == "" {
		e.Action = string(m365access.ActionOf(res.Err))
	}
	return e
}
