package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// workPlan enqueues, for every enrolled customer, the checks, syncs and
// keep-alives that fall due before the next plan, each scheduled at its
// due time. Only the elected leader enqueues plans, and the jobs are unique
// per customer and kind, so replicas never duplicate work.
func (f *Fleet) workPlan(ctx context.Context, _ *river.Job[PlanArgs]) error {
	now := f.now()
	horizon := now.Add(f.cfg.PlanInterval)
	opts := tokenstore.ListOptions{Limit: 200}
	var errs []error
	for {
		page, err := f.cfg.Store.List(ctx, registryCustomer, kindCustomer, opts)
		if err != nil {
			return fmt.Errorf("fleet: plan: list customers: %w", err)
		}
		for _, rec := range page.Records {
			if err := f.planCustomer(ctx, rec, now, horizon); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				errs = append(errs, err)
			}
		}
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	if len(errs) > 0 {
		// One customer's trouble must not stop the others: log, and let
		// the next plan try again.
		f.cfg.Logger.WarnContext(ctx, "fleet: planning some customers failed", "customers", len(errs), "err", errors.Join(errs...).Error())
	}
	return nil
}

func (f *Fleet) planCustomer(ctx context.Context, rec tokenstore.Record, now, horizon time.Time) error {
	customer := rec.Name
	var e entry
	if _, ok, err := getJSON(ctx, f.cfg.Store, rec.Key, &e); err != nil || !ok || e.OffboardingSince != nil {
		return err
	}
	settings, err := f.cfg.Access.GetSettings(ctx, customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return nil // nothing to check until it is configured
	}
	if err != nil {
		return fmt.Errorf("customer %q: %w", customer, err)
	}
	var st state
	if _, _, err := getJSON(ctx, f.cfg.Store, stateKey(customer), &st); err != nil {
		return fmt.Errorf("customer %q: %w", customer, err)
	}
	type due struct {
		args river.JobArgs
		at   time.Time
	}
	var jobs []due
	if at := f.nextCheck(customer, st, e.AddedAt); at.Before(horizon) {
		jobs = append(jobs, due{CheckArgs{Customer: customer}, at})
	}
	// A token-mode customer whose admin has not connected yet has nothing
	// to sync or keep alive: its scheduled syncs would only fail with a
	// token error. The health check still runs and reports what to do.
	waiting := false
	if settings.Mode == m365access.ModeToken {
		status, err := f.cfg.Access.Status(ctx, customer)
		if err != nil {
			return fmt.Errorf("customer %q: %w", customer, err)
		}
		waiting = status.State == m365access.StateNotConnected
	}
	if f.cfg.Syncer != nil && !waiting {
		if at := f.nextSync(customer, st, e.AddedAt); at.Before(horizon) {
			jobs = append(jobs, due{SyncArgs{Customer: customer, Trigger: "schedule"}, at})
		}
	}
	if settings.Mode == m365access.ModeToken && !waiting {
		every := max(f.cfg.KeepAliveAfter/7, f.cfg.PlanInterval)
		if st.LastKeepAliveAt == nil || st.LastKeepAliveAt.Add(every).Before(horizon) {
			jobs = append(jobs, due{KeepAliveArgs{Customer: customer}, now})
		}
	}
	for _, j := range jobs {
		opts := &river.InsertOpts{UniqueOpts: uniqueOpts()}
		if j.at.After(now) {
			opts.ScheduledAt = j.at
		}
		if _, err := f.client.Insert(ctx, j.args, opts); err != nil {
			return fmt.Errorf("customer %q: enqueue %s: %w", customer, j.args.Kind(), err)
		}
	}
	return nil
}
