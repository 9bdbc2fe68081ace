package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/events"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/usersync"
)

func TestNewConfigErrors(t *testing.T) {
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
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestRound: after enrolment, the planner gives every customer exactly one
// check, one sync and one keep-alive, on either driver.
func TestRound(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
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
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range customers {
				if err := f.Enroll(context.Background(), c, "Customer "+c); err != nil {
					t.Fatal(err)
				}
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
				if n := access.count(access.validates, c); n != 1 {
					t.Errorf("%s validated %d times, want 1", c, n)
				}
				if n := access.count(access.keepalive, c); n != 1 {
					t.Errorf("%s kept alive %d times, want 1", c, n)
				}
				if n := sink.Len(c); n != 25 {
					t.Errorf("%s has %d synced users, want 25", c, n)
				}
				run, _, _ := f.LatestSync(context.Background(), c)
				if run.Added != 25 || run.Progress.Percent != 100 || run.Trigger != "schedule" {
					t.Errorf("%s run = %+v, want 25 added, 100%%, trigger schedule", c, run)
				}
				got, err := f.Customer(context.Background(), c)
				if err != nil {
					t.Fatal(err)
				}
				interval := 24 * time.Hour
				if c == "c1" {
					interval = 2 * time.Hour
				}
				if got.Name != "Customer "+c || got.LastSyncAt == nil || got.NextSyncAt == nil || got.NextCheckAt == nil ||
					got.NextSyncAt.Before(got.LastSyncAt.Add(interval)) || got.NextSyncAt.After(got.LastSyncAt.Add(interval+interval/10)) {
					t.Errorf("%s = %+v, want its name, a last sync and the next one interval (%v) plus at most a tenth later", c, got, interval)
				}
				if got.Checks != 1 || got.Syncs != 1 {
					t.Errorf("%s: %d checks, %d syncs", c, got.Checks, got.Syncs)
				}
			}
		})
	}
}

// TestRoundWaitsForTheConnection: a token-mode customer whose admin has
// not connected yet is checked (the check says what to do) but neither
// synced nor kept alive, which could only fail for want of a token.
func TestRoundWaitsForTheConnection(t *testing.T) {
	access := newFakeAccess("ready", "waiting")
	access.notConnected = map[string]bool{"waiting": true}
	sink := &usersync.MemorySink{}
	plans := &planCounter{Store: newStore(t)}
	cfg := fleet.Config{Access: access, Store: plans, PlanInterval: 200 * time.Millisecond,
		Syncer: &usersync.Syncer{Source: &fakeSource{n: 5}, Sink: sink}}
	backends(t)["sqlite"](&cfg)
	f, err := fleet.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"ready", "waiting"} {
		if err := f.Enroll(context.Background(), c, "Customer "+c); err != nil {
			t.Fatal(err)
		}
	}
	startFleetNow(t, f)
	eventually(t, "sync of ready", func() bool {
		run, ok, err := f.LatestSync(context.Background(), "ready")
		return err == nil && ok && run.State == fleet.RunSucceeded
	})
	eventually(t, "check of waiting", func() bool { return access.count(access.validates, "waiting") > 0 })
	plans.waitPlans(t, 3) // later plans must not sync it either
	if _, ok, err := f.LatestSync(context.Background(), "waiting"); err != nil || ok {
		t.Errorf("the unconnected customer has a sync run (%v, %v), want none", ok, err)
	}
	if n := access.count(access.keepalive, "waiting"); n != 0 {
		t.Errorf("the unconnected customer was kept alive %d times, want 0", n)
	}
	if n := sink.Len("waiting"); n != 0 {
		t.Errorf("the unconnected customer has %d synced users", n)
	}
}

func startFleetNow(t *testing.T, f *fleet.Fleet) {
	t.Helper()
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
}

// TestSyncNowUniqueAndCancel: one sync per customer in flight; a second
// request while it runs is refused; cancelling stops it and records it.
func TestSyncNowUniqueAndCancel(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
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
			if err != nil {
				t.Fatal(err)
			}
			if run.State != fleet.RunQueued && run.State != fleet.RunRunning {
				t.Fatalf("SyncNow state = %q", run.State)
			}
			eventually(t, "the sync to run", func() bool {
				r, _, _ := f.LatestSync(ctx, "c1")
				return r.State == fleet.RunRunning && r.Progress.Read > 0
			})
			if _, err := f.SyncNow(ctx, "c1"); !errors.Is(err, fleet.ErrRunning) {
				t.Fatalf("second SyncNow: err = %v, want ErrRunning", err)
			}
			if _, err := f.CancelSync(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the sync to record its cancellation", func() bool {
				r, _, _ := f.LatestSync(ctx, "c1")
				return r.State == fleet.RunCancelled
			})
			if n := pages.Load(); n >= 100 {
				t.Fatalf("read %d pages: the cancel did not stop the sync", n)
			}
			// A new sync may start once River has finalized the cancelled
			// job (its completer is asynchronous).
			eventually(t, "a new sync after the cancelled one", func() bool {
				_, err := f.SyncNow(ctx, "c1")
				if err != nil && !errors.Is(err, fleet.ErrRunning) {
					t.Fatalf("SyncNow after cancel: %v", err)
				}
				return err == nil
			})
		})
	}
}

// TestExtraWorkers: another package's job kind runs on the fleet's client,
// enqueued through Inserter.
func TestExtraWorkers(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
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
			if _, err := ins.Insert(context.Background(), pingArgs{Msg: "hello"}, nil); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-done:
				if got != "hello" {
					t.Fatalf("got %q", got)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the extra worker never ran")
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
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
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
				if err := f.Enroll(ctx, c, ""); err != nil {
					t.Fatal(err)
				}
			}
			j, err := f.Offboard(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "c1 to be gone", func() bool {
				_, err := f.Customer(ctx, "c1")
				return errors.Is(err, fleet.ErrNotEnrolled)
			})
			if !access.forgotten["c1"] || access.forgotten["c2"] || !sink.purged["c1"] || sink.purged["c2"] || hooked.Load() != "c1" {
				t.Fatalf("forgotten %v, purged %v, hook %v: want c1 only", access.forgotten, sink.purged, hooked.Load())
			}
			page, err := f.Customers(ctx, fleet.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Customers) != 1 || page.Customers[0].Customer != "c2" {
				t.Fatalf("customers after offboarding = %+v, want c2 only", page.Customers)
			}
			again, err := f.Offboard(ctx, "c1")
			if err != nil || again.ID != j.ID {
				t.Fatalf("second Offboard = %+v, %v; want job %d", again, err, j.ID)
			}
			if _, err := f.SyncNow(ctx, "c1"); err == nil {
				t.Fatal("SyncNow of an offboarded customer succeeded")
			}
			if _, err := f.Offboard(ctx, "never-seen"); !errors.Is(err, fleet.ErrNotEnrolled) {
				t.Fatalf("Offboard of an unknown customer: %v, want ErrNotEnrolled", err)
			}
		})
	}
}

var _ = fmt.Sprint
