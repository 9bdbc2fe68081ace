package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/usersync"
)

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  fleet.Config
		want string
	}{
		{"no database", fleet.Config{Access: newFakeAccess(), Store: newStore(t)}, "no database"},
		{"both databases", fleet.Config{SQLitePath: "x.db", Postgres: &pgxpool.Pool{}, Access: newFakeAccess(), Store: newStore(t)}, "choose one"},
		{"no access", fleet.Config{SQLitePath: "x.db", Store: newStore(t)}, "no Access"},
		{"typed nil events", fleet.Config{SQLitePath: "x.db", Access: newFakeAccess(), Store: newStore(t), Events: (*events.Bus)(nil)}, "events is a typed nil"},
		{"no store", fleet.Config{SQLitePath: "x.db", Access: newFakeAccess()}, "no Store"},
		{"nil worker registration", fleet.Config{SQLitePath: "x.db", Access: newFakeAccess(), Store: newStore(t), Workers: []fleet.RegisterFunc{nil}}, "Workers[0] is nil"},
		{"rescue inside timeout", fleet.Config{SQLitePath: "x.db", Access: newFakeAccess(), Store: newStore(t), JobTimeout: time.Minute, RescueAfter: time.Second}, "the RescueAfter field must exceed JobTimeout"},
		{"syncer without source", fleet.Config{SQLitePath: "x.db", Access: newFakeAccess(), Store: newStore(t), Syncer: &usersync.Syncer{}}, "Source and a Sink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fleet.New(context.Background(), tt.cfg)
			require.ErrorContains(t, err, tt.want, "New")
		})
	}
}

// TestRound: after enrolment, the planner gives every customer exactly one
// check, one sync and one keep-alive, on either driver.
func TestRound(t *testing.T) {
	t.Parallel()
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			customers := []string{"c1", "c2", "c3", "c4"}
			access := newFakeAccess(customers...)
			sink := &usersync.MemorySink{}
			plans := &planCounter{Store: newStore(t)}
			cfg := fleet.Config{Access: access, Store: plans, PlanInterval: 200 * time.Millisecond,
				Syncer: &usersync.Syncer{Source: &fakeSource{n: 25}, Sink: sink},
				// c1 syncs every two hours, the others daily (the default).
				SyncInterval: func(c string) time.Duration {
					if c == "c1" {
						return 2 * time.Hour
					}
					return 0
				}}
			db(&cfg)
			f, err := fleet.New(context.Background(), cfg)
			require.NoError(t, err)
			for _, c := range customers {
				require.NoError(t, f.Enroll(context.Background(), c, "Customer "+c))
			}
			startFleetNow(t, f)
			for _, c := range customers {
				eventually(t, "sync of "+c, func() bool {
					run, ok, err := f.LatestSync(context.Background(), c)
					return err == nil && ok && run.State == fleet.RunSucceeded
				})
				eventually(t, "check of "+c, func() bool { return access.count(access.validates, c) > 0 })
			}
			plans.waitPlans(t, 3) // further plans must not repeat the round
			for _, c := range customers {
				assert.Equal(t, 1, access.count(access.validates, c), "%s validated", c)
				assert.Equal(t, 1, access.count(access.keepalive, c), "%s kept alive", c)
				assert.Equal(t, 25, sink.Len(c), "%s synced users", c)
				run, _, _ := f.LatestSync(context.Background(), c)
				assert.Equal(t, 25, run.Added, "%s run added", c)
				assert.Equal(t, 100, run.Progress.Percent, "%s run percent", c)
				assert.Equal(t, "schedule", run.Trigger, "%s run trigger", c)
				got, err := f.Customer(context.Background(), c)
				require.NoError(t, err)
				interval := 24 * time.Hour
				if c == "c1" {
					interval = 2 * time.Hour
				}
				assert.Equal(t, "Customer "+c, got.Name, "%s name", c)
				assert.NotNil(t, got.NextCheckAt, "%s next check", c)
				if assert.NotNil(t, got.LastSyncAt, "%s last sync", c) && assert.NotNil(t, got.NextSyncAt, "%s next sync", c) {
					// The next sync comes the interval after the last, plus at most a tenth.
					assert.False(t, got.NextSyncAt.Before(got.LastSyncAt.Add(interval)), "%s: next sync %v before last %v + %v", c, got.NextSyncAt, got.LastSyncAt, interval)
					assert.False(t, got.NextSyncAt.After(got.LastSyncAt.Add(interval+interval/10)), "%s: next sync %v after last %v + %v + a tenth", c, got.NextSyncAt, got.LastSyncAt, interval)
				}
				assert.Equal(t, 1, got.Checks, "%s checks", c)
				assert.Equal(t, 1, got.Syncs, "%s syncs", c)
			}
		})
	}
}

// TestRoundWaitsForTheConnection: a token-mode customer whose admin has
// not connected yet is checked (the check says what to do) but neither
// synced nor kept alive, which could only fail for want of a token.
func TestRoundWaitsForTheConnection(t *testing.T) {
	t.Parallel()
	access := newFakeAccess("ready", "waiting")
	access.notConnected = map[string]bool{"waiting": true}
	sink := &usersync.MemorySink{}
	plans := &planCounter{Store: newStore(t)}
	cfg := fleet.Config{Access: access, Store: plans, PlanInterval: 200 * time.Millisecond,
		Syncer: &usersync.Syncer{Source: &fakeSource{n: 5}, Sink: sink}}
	backends(t)["sqlite"](&cfg)
	f, err := fleet.New(context.Background(), cfg)
	require.NoError(t, err)
	for _, c := range []string{"ready", "waiting"} {
		require.NoError(t, f.Enroll(context.Background(), c, "Customer "+c))
	}
	startFleetNow(t, f)
	eventually(t, "sync of ready", func() bool {
		run, ok, err := f.LatestSync(context.Background(), "ready")
		return err == nil && ok && run.State == fleet.RunSucceeded
	})
	eventually(t, "check of waiting", func() bool { return access.count(access.validates, "waiting") > 0 })
	plans.waitPlans(t, 3) // later plans must not sync it either
	_, ok, err := f.LatestSync(context.Background(), "waiting")
	assert.NoError(t, err, "the unconnected customer's sync run")
	assert.False(t, ok, "the unconnected customer has a sync run, want none")
	assert.Zero(t, access.count(access.keepalive, "waiting"), "the unconnected customer was kept alive")
	assert.Zero(t, sink.Len("waiting"), "the unconnected customer's synced users")
}

func startFleetNow(t *testing.T, f *fleet.Fleet) {
	t.Helper()
	require.NoError(t, f.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, f.Stop(ctx), "stop")
	})
}

// TestSyncNowUniqueAndCancel: one sync per customer in flight; a second
// request while it runs is refused; cancelling stops it and records it.
func TestSyncNowUniqueAndCancel(t *testing.T) {
	t.Parallel()
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			access := newFakeAccess("c1")
			var pages atomic.Int64
			src := &fakeSource{n: 1000, gate: func(ctx context.Context, _ string) error {
				pages.Add(1)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(50 * time.Millisecond):
					return nil
				}
			}}
			cfg := fleet.Config{Access: access, Store: newStore(t), PlanInterval: time.Hour, SyncHeartbeat: 20 * time.Millisecond,
				Syncer: &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}}}
			db(&cfg)
			f := startFleet(t, cfg)
			ctx := context.Background()
			run, err := f.SyncNow(ctx, "c1")
			require.NoError(t, err)
			require.Contains(t, []string{fleet.RunQueued, fleet.RunRunning}, run.State, "SyncNow state")
			eventually(t, "the sync to run", func() bool {
				r, _, _ := f.LatestSync(ctx, "c1")
				return r.State == fleet.RunRunning && r.Progress.Read > 0
			})
			_, err = f.SyncNow(ctx, "c1")
			require.ErrorIs(t, err, fleet.ErrRunning, "second SyncNow")
			_, err = f.CancelSync(ctx, "c1")
			require.NoError(t, err)
			eventually(t, "the sync to record its cancellation", func() bool {
				r, _, _ := f.LatestSync(ctx, "c1")
				return r.State == fleet.RunCancelled
			})
			require.Less(t, pages.Load(), int64(100), "pages read: the cancel did not stop the sync")
			// A new sync may start once River has finalized the cancelled
			// job (its completer is asynchronous).
			eventually(t, "a new sync after the cancelled one", func() bool {
				_, err := f.SyncNow(ctx, "c1")
				if !errors.Is(err, fleet.ErrRunning) {
					require.NoError(t, err, "SyncNow after cancel")
				}
				return err == nil
			})
		})
	}
}

// TestExtraWorkers: another package's job kind runs on the fleet's client,
// enqueued through Inserter.
func TestExtraWorkers(t *testing.T) {
	t.Parallel()
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			done := make(chan string, 1)
			cfg := fleet.Config{Access: newFakeAccess(), Store: newStore(t), PlanInterval: time.Hour,
				Workers: []fleet.RegisterFunc{func(w *river.Workers) error {
					return river.AddWorkerSafely(w, river.WorkFunc(func(ctx context.Context, j *river.Job[pingArgs]) error {
						done <- j.Args.Msg
						return nil
					}))
				}}}
			db(&cfg)
			f := startFleet(t, cfg)
			var ins interface {
				Insert(context.Context, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error)
			} = f.Inserter()
			_, err := ins.Insert(context.Background(), pingArgs{Msg: "hello"}, nil)
			require.NoError(t, err)
			select {
			case got := <-done:
				require.Equal(t, "hello", got)
			case <-time.After(20 * time.Second):
				require.FailNow(t, "the extra worker never ran")
			}
		})
	}
}

type pingArgs struct {
	Msg string `json:"msg"`
}

func (pingArgs) Kind() string { return "test.ping" }

// TestOffboard: offboarding erases through every step and hook, the
// customer leaves the listing, and offboarding again returns the same job.
func TestOffboard(t *testing.T) {
	t.Parallel()
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			access := newFakeAccess("c1", "c2")
			sink := &purgingSink{MemorySink: &usersync.MemorySink{}, purged: map[string]bool{}}
			var hooked atomic.Value
			cfg := fleet.Config{Access: access, Store: newStore(t), PlanInterval: time.Hour,
				Syncer: &usersync.Syncer{Source: &fakeSource{n: 5}, Sink: sink},
				Offboard: []fleet.OffboardHook{fleet.OffboardFunc(func(_ context.Context, c string) error {
					hooked.Store(c)
					return nil
				})}}
			db(&cfg)
			f := startFleet(t, cfg)
			ctx := context.Background()
			for _, c := range []string{"c1", "c2"} {
				require.NoError(t, f.Enroll(ctx, c, ""))
			}
			j, err := f.Offboard(ctx, "c1")
			require.NoError(t, err)
			eventually(t, "c1 to be gone", func() bool {
				_, err := f.Customer(ctx, "c1")
				return errors.Is(err, fleet.ErrNotEnrolled)
			})
			require.True(t, access.wasForgotten("c1"), "c1 forgotten")
			require.False(t, access.wasForgotten("c2"), "c2 forgotten")
			require.True(t, sink.wasPurged("c1"), "c1 purged")
			require.False(t, sink.wasPurged("c2"), "c2 purged")
			require.Equal(t, "c1", hooked.Load(), "hooked customer")
			page, err := f.Customers(ctx, fleet.ListOptions{})
			require.NoError(t, err)
			require.Len(t, page.Customers, 1, "customers after offboarding")
			require.Equal(t, "c2", page.Customers[0].Customer, "customers after offboarding")
			again, err := f.Offboard(ctx, "c1")
			require.NoError(t, err, "second Offboard")
			require.Equal(t, j.ID, again.ID, "second Offboard's job")
			_, err = f.SyncNow(ctx, "c1")
			require.Error(t, err, "SyncNow of an offboarded customer succeeded")
			_, err = f.Offboard(ctx, "never-seen")
			require.ErrorIs(t, err, fleet.ErrNotEnrolled, "Offboard of an unknown customer")
		})
	}
}

var _ = fmt.Sprint
