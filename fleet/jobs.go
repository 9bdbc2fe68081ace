package fleet

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/tenantgate/tenantgate/internal/fence"
)

// The fleet's job kinds.
const (
	KindCheck     = "fleet.check"
	KindSync      = "fleet.sync"
	KindKeepAlive = "fleet.keepalive"
	KindOffboard  = "fleet.offboard"
	KindPlan      = "fleet.plan"
	// KindTombstones deletes the tombstones older than
	// Config.TombstoneRetention, hourly.
	KindTombstones = "fleet.tombstones"
)

// CheckArgs is a health check of one customer (m365access Validate).
type CheckArgs struct {
	Customer string `json:"customer" river:"unique"`
}

// Kind is the job kind.
func (CheckArgs) Kind() string { return KindCheck }

// SyncArgs is a user sync of one customer.
type SyncArgs struct {
	Customer string `json:"customer" river:"unique"`
	// Trigger says who asked: "schedule" or "api".
	Trigger string `json:"trigger,omitempty"`
}

// Kind is the job kind.
func (SyncArgs) Kind() string { return KindSync }

// KeepAliveArgs renews one customer's token connection when due.
type KeepAliveArgs struct {
	Customer string `json:"customer" river:"unique"`
}

// Kind is the job kind.
func (KeepAliveArgs) Kind() string { return KindKeepAlive }

// PlanArgs is the periodic job that enqueues due checks, syncs and
// keep-alives.
type PlanArgs struct{}

// Kind is the job kind.
func (PlanArgs) Kind() string { return KindPlan }

// TombstonesArgs is the hourly job that deletes expired offboarding
// tombstones.
type TombstonesArgs struct{}

// Kind is the job kind.
func (TombstonesArgs) Kind() string { return KindTombstones }

// inFlight are the states in which a job holds its unique slot: one per
// customer and kind across replicas until it completes, is cancelled or is
// discarded.
var inFlight = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// uniqueOpts keeps one job per customer and kind in flight.
func uniqueOpts() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: inFlight}
}

// jitter returns a stable offset in [0, span) for customer, so that
// customers added together are spread over the interval.
func jitter(customer string, span time.Duration) time.Duration {
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(customer))
	return time.Duration(h.Sum64() % uint64(span))
}

// syncInterval is the customer's sync interval.
func (f *Fleet) syncInterval(customer string) time.Duration {
	if f.cfg.SyncInterval != nil {
		if d := f.cfg.SyncInterval(customer); d > 0 {
			return d
		}
	}
	return DefaultSyncInterval
}

// nextCheck and nextSync say when the customer's next scheduled check and
// sync fall due.
func (f *Fleet) nextCheck(customer string, st state, added time.Time) time.Time {
	if st.LastCheckAt == nil {
		return added.Add(jitter(customer+"/check", f.cfg.PlanInterval))
	}
	return st.LastCheckAt.Add(f.cfg.CheckInterval)
}

func (f *Fleet) nextSync(customer string, st state, added time.Time) time.Time {
	iv := f.syncInterval(customer)
	if st.LastSyncAt == nil {
		return added.Add(jitter(customer+"/sync", f.cfg.PlanInterval))
	}
	return st.LastSyncAt.Add(iv + jitter(customer, iv/10))
}

// register adds the fleet's workers.
func (f *Fleet) register(w *river.Workers) error {
	for _, err := range []error{
		// A customer erased while its job ran (a fenced store refused a
		// write): the job stops, once.
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(f.cfg.Logger, graphJob(f, f.workCheck)))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(f.cfg.Logger, graphJob(f, f.workSync)))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(f.cfg.Logger, f.workKeepAlive))),
		river.AddWorkerSafely(w, river.WorkFunc(f.workPlan)),
		river.AddWorkerSafely(w, river.WorkFunc(f.workOffboard)),
		river.AddWorkerSafely(w, river.WorkFunc(f.workTombstones)),
	} {
		if err != nil {
			return fmt.Errorf("fleet: register workers: %w", err)
		}
	}
	return nil
}

// graphJob counts work as a running Graph job while it runs: a replica
// with one is busy for the share of the app's Graph budget, even between
// its requests (while it writes users, say).
func graphJob[T river.JobArgs](f *Fleet, work func(context.Context, *river.Job[T]) error) func(context.Context, *river.Job[T]) error {
	return func(ctx context.Context, job *river.Job[T]) error {
		if f.graphJobs.Add(1) == 1 && f.idle.Load() && f.cfg.Postgres != nil && f.cfg.Budget != nil {
			// Idle until now, so the others spend this replica's share:
			// say it is busy, and hold its Graph requests until they
			// have seen so at their next beat.
			f.observeReplicas(ctx)
			f.cfg.Budget.holdApp(f.cfg.ReplicaHeartbeat)
		}
		defer f.graphJobs.Add(-1)
		return work(ctx, job)
	}
}

// periodicJobs are the fleet's own periodic jobs: the planner and the
// hourly tombstone cleanup.
func (f *Fleet) periodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(f.cfg.PlanInterval), func() (river.JobArgs, *river.InsertOpts) {
			return PlanArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: inFlight}}
		}, &river.PeriodicJobOpts{ID: KindPlan, RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
			return TombstonesArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: inFlight}}
		}, &river.PeriodicJobOpts{ID: KindTombstones, RunOnStart: true}),
	}
}

// Job is an enqueued job as the API shows it.
type Job struct {
	ID       int64              `json:"id"`
	Kind     string             `json:"kind"`
	Customer string             `json:"customer"`
	State    rivertype.JobState `json:"state"`
	// Duplicate is true when a job of this kind was already in flight for
	// the customer and no new one was inserted: ID is that job.
	Duplicate bool `json:"duplicate,omitempty"`
}

// enqueueNow inserts args to run now. When a job of the kind is already in
// flight for the customer, a waiting one (scheduled, retrying) is made
// available now, and a running one gives ErrRunning when busyErr is set.
func (f *Fleet) enqueueNow(ctx context.Context, customer string, args river.JobArgs, busyErr bool) (Job, error) {
	res, err := f.client.Insert(ctx, args, &river.InsertOpts{UniqueOpts: uniqueOpts()})
	if err != nil {
		return Job{}, fmt.Errorf("fleet: enqueue %s of %q: %w", args.Kind(), customer, err)
	}
	row := res.Job
	j := Job{ID: row.ID, Kind: row.Kind, Customer: customer, State: row.State, Duplicate: res.UniqueSkippedAsDuplicate}
	if !res.UniqueSkippedAsDuplicate {
		return j, nil
	}
	switch row.State {
	case rivertype.JobStateRunning:
		if busyErr {
			return j, ErrRunning
		}
	case rivertype.JobStateScheduled, rivertype.JobStateRetryable:
		if r, err := f.client.JobRetry(ctx, row.ID); err == nil {
			j.State = r.State
		} else {
			return j, fmt.Errorf("fleet: run %s of %q now: %w", args.Kind(), customer, err)
		}
	}
	return j, nil
}

// CheckNow enqueues a health check of the customer to run now.
func (f *Fleet) CheckNow(ctx context.Context, customer string) (Job, error) {
	if err := f.enrolledForJob(ctx, customer); err != nil {
		return Job{}, err
	}
	return f.enqueueNow(ctx, customer, CheckArgs{Customer: customer}, false)
}

// KeepAliveNow enqueues a keep-alive of the customer's token connection to
// run now.
func (f *Fleet) KeepAliveNow(ctx context.Context, customer string) (Job, error) {
	if err := f.enrolledForJob(ctx, customer); err != nil {
		return Job{}, err
	}
	return f.enqueueNow(ctx, customer, KeepAliveArgs{Customer: customer}, false)
}

// enrolledForJob refuses jobs for customers being offboarded and enrolls
// a customer that has settings but is not in the registry yet.
func (f *Fleet) enrolledForJob(ctx context.Context, customer string) error {
	var e entry
	_, ok, err := getJSON(ctx, f.cfg.Store, registryKey(customer), &e)
	if err != nil {
		return err
	}
	if ok && e.OffboardingSince != nil {
		return ErrOffboarding
	}
	if !ok {
		if _, err := f.cfg.Access.GetSettings(ctx, customer); err != nil {
			return fmt.Errorf("%w: %w", ErrNotEnrolled, err)
		}
		return f.Enroll(ctx, customer, "")
	}
	return nil
}

// guard ends a job whose customer was offboarded: it must not bring back
// data the offboarding erased.
func (f *Fleet) guard(ctx context.Context, customer string) error {
	gone, err := f.offboarded(ctx, customer)
	if err != nil {
		return err
	}
	if gone {
		return river.JobCancel(fmt.Errorf("%w: %q", ErrNotEnrolled, customer))
	}
	return nil
}

// now is the fleet clock in UTC.
func (f *Fleet) now() time.Time { return f.cfg.Now().UTC() }

// stopCancelGrace is how long Stop waits for cancelled jobs to return.
const stopCancelGrace = 10 * time.Second
