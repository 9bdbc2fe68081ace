package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
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

// Offboard starts offboarding the customer: it is marked offboarding at
// once (no new jobs start for it), and a job erases everything held for
// it. Offboarding an offboarded customer returns the job that did it;
// calling it again while the job runs returns that job. A customer the
// fleet never knew and that has no settings gives ErrNotEnrolled.
func (f *Fleet) Offboard(ctx context.Context, customer string) (Job, error) {
	var ts tombstone
	if _, ok, err := getJSON(ctx, f.cfg.Store, tombstoneKey(customer), &ts); err != nil {
		return Job{}, err
	} else if ok {
		return Job{ID: ts.Job, Kind: KindOffboard, Customer: customer, State: rivertype.JobStateCompleted, Duplicate: true}, nil
	}
	var e entry
	_, enrolled, err := getJSON(ctx, f.cfg.Store, registryKey(customer), &e)
	if err != nil {
		return Job{}, err
	}
	if !enrolled {
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

// workOffboard erases the customer: its running sync is cancelled first,
// then the hooks that report (OffboardReporter) run while the customer's
// credentials still exist (QoE deletes its subscription at Microsoft with
// its app's token), then the Manager forgets it (settings, secrets, token
// cache), its invitations are revoked, its synced users purged, the other
// hooks run and the fleet's own records go.
// Each step is recorded in the offboarding report, which starts with what
// only the customer's admin can remove at Microsoft (read from the
// settings before they are erased). The registry entry is replaced by a
// tombstone holding the report last, so the customer stays "offboarding"
// until everything succeeded.
func (f *Fleet) workOffboard(ctx context.Context, job *river.Job[OffboardArgs]) error {
	customer := job.Args.Customer
	rep, err := f.startReport(ctx, customer, job.ID)
	if err != nil {
		return err
	}
	note := func(it OffboardItem) error {
		rep.set(it)
		if err := putReport(ctx, f.cfg.Store, reportKey(customer), rep); err != nil {
			return fmt.Errorf("fleet: offboard %q: record the report: %w", customer, err)
		}
		return nil
	}
	if err := f.stopSync(ctx, customer); err != nil {
		return err
	}
	for i, h := range f.cfg.Offboard {
		if r, ok := h.(OffboardReporter); ok {
			items, err := r.OffboardItems(ctx, customer)
			if err != nil {
				return fmt.Errorf("fleet: offboard %q: hook %d: %w", customer, i, err)
			}
			for _, it := range items {
				rep.set(it)
			}
			if err := note(OffboardItem{}); err != nil {
				return err
			}
		}
	}
	if fg, ok := f.cfg.Access.(Forgetter); ok {
		if err := fg.Forget(ctx, customer); err != nil {
			return fmt.Errorf("fleet: offboard %q: forget the connection: %w", customer, err)
		}
		if err := note(OffboardItem{Item: "secrets", Result: OffboardDeleted,
			Detail: "the settings, every sealed secret (client secret, certificate, password), the token connection and the refresh-token cache are deleted from tenantgate's store"}); err != nil {
			return err
		}
	}
	if f.cfg.Invitations != nil {
		n, err := revokeInvitations(ctx, f.cfg.Invitations, customer)
		if err != nil {
			return fmt.Errorf("fleet: offboard %q: revoke invitations: %w", customer, err)
		}
		if n == 0 {
			n = rep.counts["invitations"] // a retry after an attempt revoked them
		}
		it := OffboardItem{Item: "invitations", Result: OffboardNothing, Detail: "no live invitation"}
		if n > 0 {
			it = OffboardItem{Item: "invitations", Result: OffboardRevoked, Detail: fmt.Sprintf("%d live invitation(s) revoked; their links no longer work", n)}
		}
		rep.counts["invitations"] = n
		if err := note(it); err != nil {
			return err
		}
	}
	if f.cfg.Syncer != nil {
		if p, ok := f.cfg.Syncer.Sink.(UserPurger); ok {
			if err := p.Purge(ctx, customer); err != nil {
				return fmt.Errorf("fleet: offboard %q: purge synced users: %w", customer, err)
			}
			if err := note(OffboardItem{Item: "syncedUsers", Result: OffboardDeleted, Detail: "every synced user and the sync checkpoints are deleted"}); err != nil {
				return err
			}
		}
	}
	for i, h := range f.cfg.Offboard {
		if _, ok := h.(OffboardReporter); ok {
			continue
		}
		if err := h.Offboard(ctx, customer); err != nil {
			return fmt.Errorf("fleet: offboard %q: hook %d: %w", customer, i, err)
		}
	}
	for _, k := range []tokenstore.Key{stateKey(customer), syncRunKey(customer)} {
		if err := deleteKey(ctx, f.cfg.Store, k); err != nil {
			return fmt.Errorf("fleet: offboard %q: %w", customer, err)
		}
	}
	now := f.now()
	rep.set(OffboardItem{Item: "fleetRecords", Result: OffboardDeleted, Detail: "the customer's checks, sync runs and schedule are deleted; its audit trail is kept"})
	rep.FinishedAt = &now
	data, err := json.Marshal(tombstone{At: now, Job: job.ID, Report: &rep.OffboardReport})
	if err != nil {
		return err
	}
	if _, err := f.cfg.Store.Put(ctx, tokenstore.Record{Key: tombstoneKey(customer), Data: data}, 0); err != nil && !errors.Is(err, tokenstore.ErrConflict) {
		return fmt.Errorf("fleet: offboard %q: %w", customer, err)
	}
	for _, k := range []tokenstore.Key{registryKey(customer), reportKey(customer)} {
		if err := deleteKey(ctx, f.cfg.Store, k); err != nil {
			return fmt.Errorf("fleet: offboard %q: %w", customer, err)
		}
	}
	f.cfg.Logger.InfoContext(ctx, "fleet: customer offboarded", "customer", customer, "job", job.ID)
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
