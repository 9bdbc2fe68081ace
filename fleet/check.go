package fleet

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// workCheck validates the customer's connection (token, tenant,
// permissions, secret and certificate expiry: m365access records the
// outcome in the customer's status) and records when it ran. A failing
// validation is a finished check, not a failed job: its outcome is the
// status. The job fails, and is retried with backoff, only when no report
// could be made.
func (f *Fleet) workCheck(ctx context.Context, job *river.Job[CheckArgs]) error {
	customer := job.Args.Customer
	if err := f.guard(ctx, customer); err != nil {
		return err
	}
	if done, err := f.done(ctx, customer, job.ID, KindCheck); err != nil || done {
		return err
	}
	ctx = WithCustomer(ctx, customer)
	rep, err := f.cfg.Access.Validate(ctx, customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("fleet: check %q: no settings: %w", customer, err))
	}
	if err != nil {
		return fmt.Errorf("fleet: check %q: %w", customer, err)
	}
	at := f.now()
	if f.cfg.Events != nil {
		// Each warning is emitted once per credential expiry and
		// threshold, whichever replica checks.
		if st, err := f.cfg.Access.Status(ctx, customer); err == nil {
			if err := f.cfg.Events.CheckExpiry(ctx, st, at); err != nil {
				f.cfg.Logger.WarnContext(ctx, "fleet: expiry events", "customer", customer, "err", err.Error())
			}
		}
	}
	return update(context.WithoutCancel(ctx), f.cfg.Store, stateKey(customer), func(st *state, _ bool) error {
		if st.CheckJob == job.ID {
			return errSkip
		}
		st.LastCheckAt, st.LastCheckOK, st.CheckJob = &at, rep.OK, job.ID
		st.Checks++
		return nil
	})
}

// workKeepAlive renews the customer's token connection when its last
// refresh is older than Config.KeepAliveAfter. Customers in other modes
// have nothing to keep alive.
func (f *Fleet) workKeepAlive(ctx context.Context, job *river.Job[KeepAliveArgs]) error {
	customer := job.Args.Customer
	if err := f.guard(ctx, customer); err != nil {
		return err
	}
	ctx = WithCustomer(ctx, customer)
	_, err := f.cfg.Access.KeepAlive(ctx, customer, f.cfg.KeepAliveAfter)
	if err != nil && !retryable(err) {
		// Recorded in the customer's status with the action a person
		// must take; retrying cannot help.
		return river.JobCancel(fmt.Errorf("fleet: keep-alive of %q: %w", customer, err))
	}
	if err != nil {
		return fmt.Errorf("fleet: keep-alive of %q: %w", customer, err)
	}
	at := f.now()
	if f.cfg.Events != nil {
		// Each warning is emitted once per credential expiry and
		// threshold, whichever replica checks.
		if st, err := f.cfg.Access.Status(ctx, customer); err == nil {
			if err := f.cfg.Events.CheckExpiry(ctx, st, at); err != nil {
				f.cfg.Logger.WarnContext(ctx, "fleet: expiry events", "customer", customer, "err", err.Error())
			}
		}
	}
	return update(context.WithoutCancel(ctx), f.cfg.Store, stateKey(customer), func(st *state, _ bool) error {
		st.LastKeepAliveAt = &at
		return nil
	})
}
