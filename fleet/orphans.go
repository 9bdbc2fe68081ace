package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// Orphaned jobs. River rescues a job left running by a dead process only
// after Config.RescueAfter (JobTimeout plus 5 minutes by default: 35
// minutes), and until then the job holds its unique slot: the customer's
// next sync is refused as running, a cancel does nothing (River flags a
// running job and waits for its worker), QoE fetches wait. The fleet
// recognises such a job from evidence instead, for every kind of River
// job (the fleet's own, qoe's, voice's, offboarding) without anything
// per kind:
//
//   - On PostgreSQL, the process that attempted the job (the last entry of
//     its attempted_by, a River client ID, which is the replica's ID in
//     tenantgate_fleet_replicas) has no heartbeat within replicaTTL
//     heartbeats (30 s by default), or no row: it died or was cut off.
//     Every replica looks at each heartbeat.
//   - On SQLite, one process owns the database file: a job running when
//     the Fleet starts belongs to a process that is gone (this one, before
//     a restart). Start gives every one back before working.
//
// An orphan is given back as River's rescuer would: available again at
// once (or discarded after its last attempt), with an AttemptError
// saying why, through River's own driver statement (JobRescueMany), so
// both dialects work the same. A sync's run record says RunInterrupted,
// when and how far it got. SyncNow and CancelSync look for orphans first,
// so a new sync is accepted and a cancel takes effect at once.

// RunInterrupted: the process running the sync stopped (crashed, was
// killed or lost the database) before the sync ended; the job was given
// back and runs again. The run's Error says when and how far it got.
const RunInterrupted = "interrupted"

// maxOrphanScan bounds the running jobs looked at in one pass.
const maxOrphanScan = 1000

// orphanStore is how the fleet reads running jobs and gives orphans back:
// River's driver executor.
type orphanStore interface {
	JobGetStuck(ctx context.Context, params *riverdriver.JobGetStuckParams) ([]*rivertype.JobRow, error)
	JobRescueMany(ctx context.Context, params *riverdriver.JobRescueManyParams) (*struct{}, error)
}

// orphan is a job given back because the process running it was gone.
type orphan struct {
	Job      int64
	Kind     string
	Customer string
	// Replica is the River client that was running it.
	Replica string
	// Discarded: it was on its last attempt, so it was discarded rather
	// than made available again.
	Discarded bool
}

// rescueOrphans gives back every job whose worker is gone (see the
// comment above) and returns them. starting is true in Start, before
// River runs anything here: a job attempted under this process's own
// client ID is then from before a restart. The Fleet calls it at Start,
// at each replica heartbeat, and when SyncNow or CancelSync find a sync
// running.
func (f *Fleet) rescueOrphans(ctx context.Context, starting bool) ([]orphan, error) {
	if f.orphans == nil {
		return nil, nil
	}
	f.rescueMu.Lock()
	defer f.rescueMu.Unlock()
	jobs, err := f.orphans.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{Max: maxOrphanScan, StuckHorizon: time.Now().Add(time.Hour)})
	if err != nil {
		return nil, fmt.Errorf("fleet: list running jobs: %w", err)
	}
	live, err := f.liveReplicas(ctx)
	if err != nil {
		return nil, err
	}
	var out []orphan
	params := &riverdriver.JobRescueManyParams{StuckHorizon: time.Now().Add(time.Hour)}
	now := time.Now().UTC()
	for _, j := range jobs {
		owner := ""
		if n := len(j.AttemptedBy); n > 0 {
			owner = j.AttemptedBy[n-1]
		}
		switch {
		case owner == f.client.ID():
			if !starting {
				continue // running here
			}
		case live != nil && owner != "" && slices.Contains(live, owner):
			continue
		}
		o := orphan{Job: j.ID, Kind: j.Kind, Customer: customerOf(j), Replica: owner, Discarded: j.Attempt >= j.MaxAttempts}
		why := fmt.Sprintf("orphaned: the process running the job (%s) is gone; given back by %s", owner, f.client.ID())
		e, _ := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(j.Attempt, 1), Error: why})
		state, fin := rivertype.JobStateAvailable, (*time.Time)(nil)
		if o.Discarded {
			state, fin = rivertype.JobStateDiscarded, &now
		}
		params.ID = append(params.ID, j.ID)
		params.Error = append(params.Error, e)
		params.FinalizedAt = append(params.FinalizedAt, fin)
		params.ScheduledAt = append(params.ScheduledAt, now)
		params.State = append(params.State, string(state))
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, nil
	}
	if _, err := f.orphans.JobRescueMany(ctx, params); err != nil {
		return nil, fmt.Errorf("fleet: give back orphaned jobs: %w", err)
	}
	for _, o := range out {
		f.cfg.Logger.WarnContext(ctx, "fleet: gave back an orphaned job", "job", o.Job, "kind", o.Kind, "customer", o.Customer, "replica", o.Replica, "discarded", o.Discarded)
		if o.Kind == KindSync && o.Customer != "" {
			if err := f.interruptRun(ctx, o); err != nil {
				f.cfg.Logger.WarnContext(ctx, "fleet: recording an interrupted sync failed", "customer", o.Customer, "job", o.Job, "err", err.Error())
			}
		}
	}
	return out, nil
}

// liveReplicas returns the IDs of the replicas with a recent heartbeat
// (PostgreSQL), nil on SQLite, where no other process is live.
func (f *Fleet) liveReplicas(ctx context.Context) ([]string, error) {
	if f.cfg.Postgres == nil {
		return nil, nil
	}
	ttl := replicaTTL * f.cfg.ReplicaHeartbeat
	rows, err := f.cfg.Postgres.Query(ctx, `SELECT id FROM tenantgate_fleet_replicas WHERE seen_at > now() - make_interval(secs => $1)`, ttl.Seconds())
	if err != nil {
		return nil, fmt.Errorf("fleet: read replica heartbeats: %w", err)
	}
	defer rows.Close()
	live := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		live = append(live, id)
	}
	return live, rows.Err()
}

// customerOf reads the customer of a job's arguments ({"customer": ...},
// the convention of every tenantgate job kind), "" when it has none.
func customerOf(j *rivertype.JobRow) string {
	var a struct {
		Customer string `json:"customer"`
	}
	_ = json.Unmarshal(j.EncodedArgs, &a)
	return a.Customer
}

// interruptRun records the customer's run of an orphaned sync job as
// interrupted: when its last heartbeat was and how far it got.
func (f *Fleet) interruptRun(ctx context.Context, o orphan) error {
	return update(ctx, f.cfg.Store, syncRunKey(o.Customer), func(r *SyncRun, _ bool) error {
		if r.Job != o.Job || r.FinishedAt != nil {
			return errSkip
		}
		now := f.now()
		r.State, r.FinishedAt = RunInterrupted, &now
		msg := fmt.Sprintf("the process running the sync stopped; last heard of at %s, after %d users read", r.Heartbeat.UTC().Format(time.RFC3339), r.Progress.Read)
		if r.Progress.Estimate > 0 {
			msg += fmt.Sprintf(" of %d", r.Progress.Estimate)
		}
		msg += "; nothing was removed"
		if o.Discarded {
			r.State = RunFailed
			msg += "; it was the last attempt"
		} else {
			msg += "; the sync runs again"
		}
		r.Error = &RunError{Code: "interrupted", Action: "waitAndRetry", Message: msg}
		return nil
	})
}

// rescueBeforeBusy gives back orphans, logging a failure: when a job of a
// customer is found running (SyncNow, CancelSync) it may be an orphan,
// and at each heartbeat.
func (f *Fleet) rescueBeforeBusy(ctx context.Context) {
	if _, err := f.rescueOrphans(ctx, false); err != nil && !errors.Is(err, context.Canceled) {
		f.cfg.Logger.WarnContext(ctx, "fleet: looking for orphaned jobs failed", "err", err.Error())
	}
}
