package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// OffboardArgs offboards one customer.
type OffboardArgs struct {
	Customer string `json:"customer" river:"unique"`
}

// Kind is the job kind.
func (OffboardArgs) Kind() string { return KindOffboard }

// OffboardHook erases what a package holds for a customer being
// offboarded. It must be idempotent: the offboarding job retries until
// every hook succeeds.
type OffboardHook interface {
	Offboard(ctx context.Context, customer string) error
}

// OffboardFunc is a function as an OffboardHook.
type OffboardFunc func(ctx context.Context, customer string) error

// Offboard calls f.
func (f OffboardFunc) Offboard(ctx context.Context, customer string) error { return f(ctx, customer) }

// Forgetter is what offboarding uses of an *m365access.Manager (Access):
// revoke what can be revoked at Microsoft and delete the settings, every
// sealed secret and the refresh-token cache.
type Forgetter interface {
	Forget(ctx context.Context, customer string) error
}

// UserPurger deletes a customer's synced users; an *sqlsink.Sink (the
// Syncer's Sink) satisfies it.
type UserPurger interface {
	Purge(ctx context.Context, customer string) error
}

// Invitations is what offboarding uses of an *invite.Service, which
// satisfies it: every live invitation of the customer is revoked.
type Invitations interface {
	List(ctx context.Context, customer string) ([]invite.Invitation, error)
	Revoke(ctx context.Context, customer, id, revokedBy string) (invite.Invitation, error)
}

// revokeInvitations revokes the customer's live invitations (a used one
// cannot be revoked, and needs not be: its link no longer works) and
// returns how many it revoked.
func revokeInvitations(ctx context.Context, inv Invitations, customer string) (int, error) {
	list, err := inv.List(ctx, customer)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, i := range list {
		if !i.Status.Live() {
			continue
		}
		if _, err := inv.Revoke(ctx, customer, i.ID, "offboarding"); err != nil && !errors.Is(err, invite.ErrCompleted) && !errors.Is(err, invite.ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

// tombstone records an offboarded customer (not listed; it keeps replayed
// jobs from bringing back data).
type tombstone struct {
	At     time.Time       `json:"at"`
	Job    int64           `json:"job"`
	Report *OffboardReport `json:"report,omitempty"`
}

// offboardedJob returns the job that offboarded the customer, when its
// tombstone is there.
func (f *Fleet) offboardedJob(ctx context.Context, customer string) (Job, bool, error) {
	var ts tombstone
	_, ok, err := getJSON(ctx, f.cfg.Store, tombstoneKey(customer), &ts)
	if err != nil || !ok {
		return Job{}, false, err
	}
	return Job{ID: ts.Job, Kind: KindOffboard, Customer: customer, State: rivertype.JobStateCompleted, Duplicate: true}, true, nil
}

// Offboard starts offboarding the customer: it is marked offboarding at
// once (no new jobs start for it), and a job erases everything held for
// it. Offboarding an offboarded customer returns the job that did it;
// calling it again while the job runs returns that job. A customer the
// fleet never knew and that has no settings gives ErrNotEnrolled.
func (f *Fleet) Offboard(ctx context.Context, customer string) (Job, error) {
	if j, ok, err := f.offboardedJob(ctx, customer); err != nil || ok {
		return j, err
	}
	var e entry
	_, enrolled, err := getJSON(ctx, f.cfg.Store, registryKey(customer), &e)
	if err != nil {
		return Job{}, err
	}
	if !enrolled {
		// The job's last step writes the tombstone and then deletes the
		// registry entry: a job that ended between the two reads above
		// left a tombstone to find now.
		if j, ok, err := f.offboardedJob(ctx, customer); err != nil || ok {
			return j, err
		}
		if _, err := f.cfg.Access.GetSettings(ctx, customer); errors.Is(err, tokenstore.ErrNotFound) {
			return Job{}, ErrNotEnrolled
		} else if err != nil {
			return Job{}, err
		}
	}
	if err := (tokenstore.Key{Customer: customer, Kind: kindState, Name: "state"}).Validate(); err != nil || customer == registryCustomer {
		return Job{}, ErrInvalidCustomer
	}
	now := f.now()
	err = update(ctx, f.cfg.Store, registryKey(customer), func(e *entry, exists bool) error {
		if !exists {
			e.AddedAt = now
		}
		if e.OffboardingSince == nil {
			e.OffboardingSince = &now
		}
		return nil
	})
	if err != nil {
		return Job{}, fmt.Errorf("fleet: offboard %q: %w", customer, err)
	}
	res, err := f.client.Insert(ctx, OffboardArgs{Customer: customer}, &river.InsertOpts{
		MaxAttempts: 25, UniqueOpts: uniqueOpts()})
	if err != nil {
		return Job{}, fmt.Errorf("fleet: offboard %q: %w", customer, err)
	}
	j := Job{ID: res.Job.ID, Kind: KindOffboard, Customer: customer, State: res.Job.State, Duplicate: res.UniqueSkippedAsDuplicate}
	_ = update(ctx, f.cfg.Store, registryKey(customer), func(e *entry, exists bool) error {
		if !exists || e.OffboardJob == j.ID {
			return errSkip
		}
		e.OffboardJob = j.ID
		return nil
	})
	return j, nil
}

// workOffboard erases the customer by running offboardSteps in order.
// Each step is recorded in the offboarding report, which starts with what
// only the customer's admin can remove at Microsoft (read from the
// settings before they are erased). The registry entry is replaced by a
// tombstone holding the report last, so the customer stays "offboarding"
// until every step succeeded; the job retries from the first step, and
// every step is idempotent.
func (f *Fleet) workOffboard(ctx context.Context, job *river.Job[OffboardArgs]) error {
	customer := job.Args.Customer
	rep, err := f.startReport(ctx, customer, job.ID)
	if err != nil {
		return err
	}
	o := &offboarding{f: f, customer: customer, job: job.ID, rep: rep}
	for _, st := range offboardSteps {
		if err := st.run(ctx, o); err != nil {
			return fmt.Errorf("fleet: offboard %q: %s: %w", customer, st.name, err)
		}
	}
	f.cfg.Logger.InfoContext(ctx, "fleet: customer offboarded", "customer", customer, "job", job.ID)
	return nil
}

// offboardStep is one named step of offboarding. A step must be
// idempotent: a retried job runs every step again.
type offboardStep struct {
	name string
	run  func(ctx context.Context, o *offboarding) error
}

// offboarding is one run of the offboarding steps.
type offboarding struct {
	f        *Fleet
	customer string
	job      int64
	rep      *draftReport
}

// note records it in the report and saves the report.
func (o *offboarding) note(ctx context.Context, it OffboardItem) error {
	o.rep.set(it)
	if err := putReport(ctx, o.f.cfg.Store, reportKey(o.customer), o.rep); err != nil {
		return fmt.Errorf("record the report: %w", err)
	}
	return nil
}

// offboardSteps are the steps of offboarding, in order: the customer's
// running sync and every other running job of it are cancelled first
// (they could write back after the erase), then the hooks that report
// (OffboardReporter) run while the customer's credentials still exist
// (QoE deletes its subscription at Microsoft with its app's token), then
// the Manager forgets it (settings, secrets, token cache), its
// invitations are revoked, its synced users purged, the other hooks run,
// the fleet's own records go and the tombstone replaces the registry
// entry. A new step goes where its data must go: before "forget" when it
// needs the customer's credentials.
var offboardSteps = []offboardStep{
	{"stop the running sync", func(ctx context.Context, o *offboarding) error { return o.f.stopSync(ctx, o.customer) }},
	{"stop the running jobs", offboardStopJobs},
	{"reporting hooks", offboardReportingHooks},
	{"forget the connection", offboardForget},
	{"revoke invitations", offboardInvitations},
	{"erase invitations", offboardEraseInvitations},
	{"purge synced users", offboardSyncedUsers},
	{"hooks", offboardHooks},
	{"delete the fleet records", offboardFleetRecords},
	{"erase job rows", offboardJobRows},
	// Again, just before the fence: an invitation a request made while
	// offboarding began (it passed the offboarding check first) is
	// revoked and erased with its link index, which the fence (deleting
	// the customer's records only) would not reach.
	{"revoke late invitations", offboardInvitations},
	{"erase late invitations", offboardEraseInvitations},
	{"fence the store", offboardFenceStore},
	{"tombstone", offboardTombstone},
}

// offboardReportingHooks runs the hooks that say what they did.
func offboardReportingHooks(ctx context.Context, o *offboarding) error {
	for i, h := range o.f.cfg.Offboard {
		r, ok := h.(OffboardReporter)
		if !ok {
			continue
		}
		items, err := r.OffboardItems(ctx, o.customer)
		if err != nil {
			return fmt.Errorf("hook %d: %w", i, err)
		}
		for _, it := range items {
			o.rep.set(it)
		}
		if err := o.note(ctx, OffboardItem{}); err != nil {
			return err
		}
	}
	return nil
}

// offboardForget has the Manager revoke what it can at Microsoft and
// delete the settings, every sealed secret and the token cache.
func offboardForget(ctx context.Context, o *offboarding) error {
	fg, ok := o.f.cfg.Access.(Forgetter)
	if !ok {
		return nil
	}
	if err := fg.Forget(ctx, o.customer); err != nil {
		return err
	}
	return o.note(ctx, OffboardItem{Item: "secrets", Result: OffboardDeleted,
		Detail: "the settings, every sealed secret (client secret, certificate, password), the token connection and the refresh-token cache are deleted from tenantgate's store"})
}

// offboardInvitations revokes the customer's live invitations.
func offboardInvitations(ctx context.Context, o *offboarding) error {
	if o.f.cfg.Invitations == nil {
		return nil
	}
	n, err := revokeInvitations(ctx, o.f.cfg.Invitations, o.customer)
	if err != nil {
		return err
	}
	// Added up: a retry after an attempt revoked them revokes none, and
	// the late pass adds what was made meanwhile.
	n += o.rep.counts["invitations"]
	it := OffboardItem{Item: "invitations", Result: OffboardNothing, Detail: "no live invitation"}
	if n > 0 {
		it = OffboardItem{Item: "invitations", Result: OffboardRevoked, Detail: fmt.Sprintf("%d live invitation(s) revoked; their links no longer work", n)}
	}
	o.rep.counts["invitations"] = n
	return o.note(ctx, it)
}

// InvitationPurger deletes a customer's invitations that are no longer
// live, with their token index; an *invite.Service satisfies it.
type InvitationPurger interface {
	Purge(ctx context.Context, customer string, before time.Time) (int, error)
}

// offboardEraseInvitations deletes every invitation record (recipient,
// tenant, sender) and its token index once they are revoked, so that
// nothing comes back when the customer ID is used again.
func offboardEraseInvitations(ctx context.Context, o *offboarding) error {
	p, ok := o.f.cfg.Invitations.(InvitationPurger)
	if !ok || o.f.cfg.Invitations == nil {
		return nil
	}
	n, err := p.Purge(ctx, o.customer, o.f.now().Add(24*time.Hour))
	if err != nil {
		return err
	}
	n += o.rep.counts["invitationRecords"] // added up, as the revocations
	o.rep.counts["invitationRecords"] = n
	return o.note(ctx, OffboardItem{Item: "invitationRecords", Result: OffboardDeleted,
		Detail: fmt.Sprintf("%d invitation record(s) (recipient, tenant, sender) and their link index are deleted", n)})
}

// offboardJobRows cancels the customer's running jobs (a check, a
// keep-alive, a call fetch, a voice operation: their context is cancelled
// and they stop), waits until none runs, and deletes every job row that
// names the customer (queued, scheduled, retrying, finished): their
// arguments name the customer and, for call records, calls. Only the
// offboarding's own row and the webhook delivery of customer.offboarded
// stay; they go with River's retention (JobRetention) once they finish.
func offboardJobRows(ctx context.Context, o *offboarding) error {
	if err := offboardStopJobs(ctx, o); err != nil {
		return err
	}
	var n int64
	switch {
	case o.f.cfg.Postgres != nil:
		tag, err := o.f.cfg.Postgres.Exec(ctx, `DELETE FROM river_job WHERE args->>'customer' = $1 AND id <> $2 AND state <> 'running'
			AND coalesce(args->>'type', '') <> $3`, o.customer, o.job, string(events.CustomerOffboarded))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
	case o.f.sqlite != nil:
		res, err := o.f.sqlite.ExecContext(ctx, `DELETE FROM river_job WHERE json_extract(args, '$.customer') = ? AND id <> ? AND state <> 'running'
			AND coalesce(json_extract(args, '$.type'), '') <> ?`, o.customer, o.job, string(events.CustomerOffboarded))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
	}
	o.rep.counts["jobRows"] += int(n)
	return o.note(ctx, OffboardItem{Item: "jobRows", Result: OffboardDeleted,
		Detail: fmt.Sprintf("the customer's running jobs are cancelled and %d job row(s) naming the customer are deleted; the offboarding job's own row goes %s after it finishes", o.rep.counts["jobRows"], o.f.cfg.JobRetention)})
}

// customerJobs lists the IDs of the jobs whose arguments name customer,
// but job and the delivery of customer.offboarded (kept: it must reach
// the host); only the running ones when running.
func (f *Fleet) customerJobs(ctx context.Context, customer string, job int64, running bool) ([]int64, error) {
	state := ""
	if running {
		state = ` AND state = 'running'`
	}
	switch {
	case f.cfg.Postgres != nil:
		rows, err := f.cfg.Postgres.Query(ctx, `SELECT id FROM river_job WHERE args->>'customer' = $1 AND id <> $2
			AND coalesce(args->>'type', '') <> $3`+state, customer, job, string(events.CustomerOffboarded))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return scanIDs(rows)
	case f.sqlite != nil:
		rows, err := f.sqlite.QueryContext(ctx, `SELECT id FROM river_job WHERE json_extract(args, '$.customer') = ? AND id <> ?
			AND coalesce(json_extract(args, '$.type'), '') <> ?`+state, customer, job, string(events.CustomerOffboarded))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return scanIDs(rows)
	}
	return nil, nil
}

// offboardStopJobs cancels the customer's running jobs (a sync, a
// check, a keep-alive, a call fetch, a voice operation: their context is
// cancelled and they stop) and waits until none runs, so that none
// writes back after the erase. No new job starts for a customer being
// offboarded.
func offboardStopJobs(ctx context.Context, o *offboarding) error {
	running, err := o.f.customerJobs(ctx, o.customer, o.job, true)
	if err != nil {
		return err
	}
	for _, id := range running {
		if _, err := o.f.client.JobCancel(ctx, id); err != nil && !errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("cancel job %d: %w", id, err)
		}
	}
	if len(running) > 0 {
		o.f.cfg.Logger.InfoContext(ctx, "fleet: offboarding cancelled the customer's running jobs", "customer", o.customer, "jobs", len(running))
	}
	for len(running) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if running, err = o.f.customerJobs(ctx, o.customer, o.job, true); err != nil {
			return err
		}
	}
	return nil
}

// offboardSyncedUsers purges the customer's synced users when the
// Syncer's Sink can.
func offboardSyncedUsers(ctx context.Context, o *offboarding) error {
	if o.f.cfg.Syncer == nil {
		return nil
	}
	p, ok := o.f.cfg.Syncer.Sink.(UserPurger)
	if !ok {
		return nil
	}
	if err := p.Purge(ctx, o.customer); err != nil {
		return err
	}
	return o.note(ctx, OffboardItem{Item: "syncedUsers", Result: OffboardDeleted, Detail: "every synced user and the sync checkpoints are deleted"})
}

// offboardHooks runs the hooks that do not report.
func offboardHooks(ctx context.Context, o *offboarding) error {
	for i, h := range o.f.cfg.Offboard {
		if _, ok := h.(OffboardReporter); ok {
			continue
		}
		if err := h.Offboard(ctx, o.customer); err != nil {
			return fmt.Errorf("hook %d: %w", i, err)
		}
	}
	return nil
}

// offboardFleetRecords deletes the customer's checks, sync runs and
// schedule.
func offboardFleetRecords(ctx context.Context, o *offboarding) error {
	for _, k := range []tokenstore.Key{stateKey(o.customer), syncRunKey(o.customer)} {
		if err := deleteKey(ctx, o.f.cfg.Store, k); err != nil {
			return err
		}
	}
	o.rep.set(OffboardItem{Item: "fleetRecords", Result: OffboardDeleted, Detail: "the customer's checks, sync runs and schedule are deleted; its audit trail is kept"})
	return nil
}

// offboardFenceStore deletes whatever is left of the customer in the
// Store (a record a racing writer put after its owner's erase) and fences
// it there: later writes of its records fail with tokenstore.ErrErased
// until it is created again (Unfence). A backend that cannot fence is
// skipped.
func offboardFenceStore(ctx context.Context, o *offboarding) error {
	f, ok := o.f.cfg.Store.(tokenstore.Fencer)
	if !ok {
		return nil
	}
	if err := f.Fence(ctx, o.customer); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// offboardTombstone replaces the registry entry and the draft report by
// a tombstone holding the finished report.
func offboardTombstone(ctx context.Context, o *offboarding) error {
	now := o.f.now()
	o.rep.FinishedAt = &now
	data, err := json.Marshal(tombstone{At: now, Job: o.job, Report: &o.rep.OffboardReport})
	if err != nil {
		return err
	}
	if _, err := o.f.cfg.Store.Put(ctx, tokenstore.Record{Key: tombstoneKey(o.customer), Data: data}, 0); err != nil && !errors.Is(err, tokenstore.ErrConflict) {
		return err
	}
	for _, k := range []tokenstore.Key{registryKey(o.customer), reportKey(o.customer)} {
		if err := deleteKey(ctx, o.f.cfg.Store, k); err != nil {
			return err
		}
	}
	return nil
}

// draftReport is the report while offboarding runs.
type draftReport struct {
	OffboardReport
	// counts keeps what a retried step cannot count again (invitations
	// revoked by an earlier attempt).
	counts map[string]int
}

type draftJSON struct {
	OffboardReport
	Counts map[string]int `json:"counts,omitempty"`
}

// set replaces the item of the same name or appends it; an empty item is
// ignored.
func (d *draftReport) set(it OffboardItem) {
	if it.Item == "" {
		return
	}
	for i := range d.Items {
		if d.Items[i].Item == it.Item {
			d.Items[i] = it
			return
		}
	}
	d.Items = append(d.Items, it)
}

// startReport loads the report of an earlier attempt or starts one with
// the steps at Microsoft only the customer's admin can take, read from
// the settings before Forget erases them.
func (f *Fleet) startReport(ctx context.Context, customer string, job int64) (*draftReport, error) {
	var dj draftJSON
	_, ok, err := getJSON(ctx, f.cfg.Store, reportKey(customer), &dj)
	if err != nil {
		return nil, err
	}
	if ok {
		if dj.Counts == nil {
			dj.Counts = map[string]int{}
		}
		return &draftReport{OffboardReport: dj.OffboardReport, counts: dj.Counts}, nil
	}
	d := &draftReport{OffboardReport: OffboardReport{Customer: customer, Job: job, StartedAt: f.now(), Items: []OffboardItem{}}, counts: map[string]int{}}
	st, err := f.cfg.Access.GetSettings(ctx, customer)
	switch {
	case errors.Is(err, tokenstore.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("fleet: offboard %q: read the settings: %w", customer, err)
	default:
		for _, it := range microsoftSteps(st, f.cfg.ProviderAppID) {
			d.set(it)
		}
	}
	if err := putReport(ctx, f.cfg.Store, reportKey(customer), d); err != nil {
		return nil, fmt.Errorf("fleet: offboard %q: record the report: %w", customer, err)
	}
	return d, nil
}

func putReport(ctx context.Context, st tokenstore.Store, key tokenstore.Key, d *draftReport) error {
	data, err := json.Marshal(draftJSON{OffboardReport: d.OffboardReport, Counts: d.counts})
	if err != nil {
		return err
	}
	for range 10 {
		rec, err := st.Get(ctx, key)
		version := int64(0)
		if err == nil {
			version = rec.Version
		} else if !errors.Is(err, tokenstore.ErrNotFound) {
			return err
		}
		if _, err = st.Put(ctx, tokenstore.Record{Key: key, Data: data}, version); !errors.Is(err, tokenstore.ErrConflict) {
			return err
		}
	}
	return errors.New("fleet: the offboarding report kept conflicting")
}

// stopSync cancels the customer's sync job, if one is in flight, and waits
// until it no longer runs, so that nothing is written after the purge.
func (f *Fleet) stopSync(ctx context.Context, customer string) error {
	run, ok, err := f.LatestSync(ctx, customer)
	if err != nil || !ok || run.Job == 0 {
		return err
	}
	if _, err := f.client.JobCancel(ctx, run.Job); err != nil && !errors.Is(err, river.ErrNotFound) {
		return fmt.Errorf("fleet: offboard %q: cancel its sync: %w", customer, err)
	}
	for {
		row, err := f.client.JobGet(ctx, run.Job)
		if errors.Is(err, river.ErrNotFound) || (err == nil && row.State != rivertype.JobStateRunning) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// idRows is what scanIDs reads of pgx.Rows and *sql.Rows.
type idRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanIDs reads a column of job IDs.
func scanIDs(rows idRows) ([]int64, error) {
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
