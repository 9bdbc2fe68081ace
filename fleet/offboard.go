package fleet

import (
	"context"
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
// cannot be revoked, and needs not be: its link no longer works).
func revokeInvitations(ctx context.Context, inv Invitations, customer string) error {
	list, err := inv.List(ctx, customer)
	if err != nil {
		return err
	}
	for _, i := range list {
		if !i.Status.Live() {
			continue
		}
		if _, err := inv.Revoke(ctx, customer, i.ID, "offboarding"); err != nil && !errors.Is(err, invite.ErrCompleted) && !errors.Is(err, invite.ErrNotFound) {
			return err
		}
	}
	return nil
}

// tombstone records an offboarded customer (not listed; it keeps replayed
// jobs from bringing back data).
type tombstone struct {
	At  time.Time `json:"at"`
	Job int64     `json:"job"`
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
// then the Manager forgets it (Microsoft-side revocation where possible,
// settings, secrets, token cache), its invitations are revoked, its synced
// users purged, the hooks run, and the fleet's own records go. The
// registry entry is replaced by a tombstone last, so the customer stays
// "offboarding" until everything succeeded.
func (f *Fleet) workOffboard(ctx context.Context, job *river.Job[OffboardArgs]) error {
	customer := job.Args.Customer
	if err := f.stopSync(ctx, customer); err != nil {
		return err
	}
	if fg, ok := f.cfg.Access.(Forgetter); ok {
		if err := fg.Forget(ctx, customer); err != nil {
			return fmt.Errorf("fleet: offboard %q: forget the connection: %w", customer, err)
		}
	}
	if f.cfg.Invitations != nil {
		if err := revokeInvitations(ctx, f.cfg.Invitations, customer); err != nil {
			return fmt.Errorf("fleet: offboard %q: revoke invitations: %w", customer, err)
		}
	}
	if f.cfg.Syncer != nil {
		if p, ok := f.cfg.Syncer.Sink.(UserPurger); ok {
			if err := p.Purge(ctx, customer); err != nil {
				return fmt.Errorf("fleet: offboard %q: purge synced users: %w", customer, err)
			}
		}
	}
	for i, h := range f.cfg.Offboard {
		if err := h.Offboard(ctx, customer); err != nil {
			return fmt.Errorf("fleet: offboard %q: hook %d: %w", customer, i, err)
		}
	}
	for _, k := range []tokenstore.Key{stateKey(customer), syncRunKey(customer)} {
		if err := deleteKey(ctx, f.cfg.Store, k); err != nil {
			return fmt.Errorf("fleet: offboard %q: %w", customer, err)
		}
	}
	data := fmt.Appendf(nil, `{"at":%q,"job":%d}`, f.now().Format(time.RFC3339Nano), job.ID)
	if _, err := f.cfg.Store.Put(ctx, tokenstore.Record{Key: tombstoneKey(customer), Data: data}, 0); err != nil && !errors.Is(err, tokenstore.ErrConflict) {
		return fmt.Errorf("fleet: offboard %q: %w", customer, err)
	}
	if err := deleteKey(ctx, f.cfg.Store, registryKey(customer)); err != nil {
		return fmt.Errorf("fleet: offboard %q: %w", customer, err)
	}
	f.cfg.Logger.InfoContext(ctx, "fleet: customer offboarded", "customer", customer, "job", job.ID)
	return nil
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
