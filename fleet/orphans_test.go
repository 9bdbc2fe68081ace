package fleet_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/usersync"
)

// deadFleet runs a sync of customer on a fleet whose process then "dies":
// its worker hangs (ignoring its context, as a SIGKILLed process's job
// never returns) and the fleet stops, so River can record nothing and the
// job row stays running, owned by a client that is gone. It returns the
// job's run record as the dead process left it.
func deadFleet(t *testing.T, cfg fleet.Config, customer string) fleet.SyncRun {
	t.Helper()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	src := &fakeSource{n: 100, gate: func(context.Context, string) error {
		<-hang
		return nil
	}}
	cfg.Syncer = &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}}
	cfg.SyncHeartbeat = 20 * time.Millisecond
	f, err := fleet.New(t.Context(), cfg)
	require.NoError(t, err)
	require.NoError(t, f.Start(t.Context()))
	_, err = f.SyncNow(t.Context(), customer)
	require.NoError(t, err)
	var run fleet.SyncRun
	eventually(t, "the sync to run", func() bool {
		run, _, _ = f.LatestSync(t.Context(), customer)
		return run.State == fleet.RunRunning
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_ = f.Stop(ctx) // the worker never returns: Stop gives up on it
	return run
}

// TestOrphanedSyncGivenBack: a sync whose process died held the
// customer for River's RescueAfter (35 minutes by default): the next
// sync was refused as running and a cancel did nothing. Now the orphan is
// recognised (on SQLite, any job running when the fleet starts; on
// PostgreSQL, one whose replica has no live heartbeat): a new sync is
// accepted at once, a cancel takes effect at once, and a restarted fleet
// runs the sync again to the end.
func TestOrphanedSyncGivenBack(t *testing.T) {
	t.Parallel()
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := fleet.Config{Access: newFakeAccess("c1", "c2"), Store: newStore(t), PlanInterval: time.Hour, ReplicaHeartbeat: 100 * time.Millisecond}
			db(&cfg)
			dead := deadFleet(t, cfg, "c1")
			require.Equal(t, fleet.RunRunning, dead.State)

			// The next process, not working yet: a cancel finds the
			// orphan, gives it back and cancels it.
			sink := &usersync.MemorySink{}
			cfg.Syncer = &usersync.Syncer{Source: &fakeSource{n: 100}, Sink: sink}
			cfg.SyncHeartbeat = 20 * time.Millisecond
			f, err := fleet.New(t.Context(), cfg)
			require.NoError(t, err)
			start := time.Now()
			run, err := f.CancelSync(t.Context(), "c1")
			require.NoError(t, err)
			assert.Equal(t, fleet.RunCancelled, run.State)
			run, err = f.SyncNow(t.Context(), "c1")
			require.NoError(t, err, "a new sync is accepted at once")
			assert.Equal(t, fleet.RunQueued, run.State)
			assert.NotEqual(t, dead.Job, run.Job)
			assert.Less(t, time.Since(start), 5*time.Second)

			// Another customer's orphan, given back by SyncNow itself.
			f2dead := deadFleet(t, cfg, "c2")
			run, err = f.SyncNow(t.Context(), "c2")
			require.NoError(t, err, "SyncNow gives back the orphan")
			assert.Equal(t, f2dead.Job, run.Job, "the orphaned job itself runs again")

			startFleetCleanup(t, f)
			for _, c := range []string{"c1", "c2"} {
				eventually(t, c+" synced", func() bool {
					r, _, _ := f.LatestSync(t.Context(), c)
					return r.State == fleet.RunSucceeded
				})
				assert.Equal(t, 100, sink.Len(c))
			}
			r, _, _ := f.LatestSync(t.Context(), "c2")
			assert.Equal(t, 2, r.Attempt, "c2's job ran its second attempt")
		})
	}
}

// TestOrphanGivenBackAtStart: on SQLite the process owning the file died
// mid-sync and starts again: Start gives the job back before any work, and
// the sync runs to the end without anyone asking.
func TestOrphanGivenBackAtStart(t *testing.T) {
	t.Parallel()
	cfg := fleet.Config{Access: newFakeAccess("c1"), Store: newStore(t), PlanInterval: time.Hour}
	backends(t)["sqlite"](&cfg)
	deadFleet(t, cfg, "c1")
	sink := &usersync.MemorySink{}
	cfg.Syncer = &usersync.Syncer{Source: &fakeSource{n: 100}, Sink: sink}
	start := time.Now()
	f := startFleet(t, cfg)
	eventually(t, "the sync to end", func() bool {
		r, _, _ := f.LatestSync(t.Context(), "c1")
		return r.State == fleet.RunSucceeded
	})
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, 100, sink.Len("c1"))
}

// startFleetCleanup starts f and stops it at cleanup.
func startFleetCleanup(t *testing.T, f *fleet.Fleet) {
	t.Helper()
	require.NoError(t, f.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, f.Stop(ctx))
	})
}

// fullSink refuses every pass as a full disk does.
type fullSink struct{ usersync.MemorySink }

func (*fullSink) Begin(context.Context, string) (usersync.Pass, error) {
	return nil, fmt.Errorf("sqlsink: begin: %w", syscall.ENOSPC)
}

// TestSyncStorageFull: a sync that cannot store anything says so
// (failed, storage_full), not "retrying" as if waiting could help.
func TestSyncStorageFull(t *testing.T) {
	t.Parallel()
	cfg := fleet.Config{Access: newFakeAccess("c1"), Store: newStore(t), PlanInterval: time.Hour,
		Syncer: &usersync.Syncer{Source: &fakeSource{n: 10}, Sink: &fullSink{}}}
	backends(t)["sqlite"](&cfg)
	f := startFleet(t, cfg)
	_, err := f.SyncNow(t.Context(), "c1")
	require.NoError(t, err)
	var run fleet.SyncRun
	eventually(t, "the sync to end", func() bool {
		run, _, _ = f.LatestSync(t.Context(), "c1")
		return run.FinishedAt != nil
	})
	assert.Equal(t, fleet.RunFailed, run.State)
	require.NotNil(t, run.Error)
	assert.Equal(t, "storage_full", run.Error.Code)
}
