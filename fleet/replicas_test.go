package fleet_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
)

// TestReplicasShareTheAppBudget: two Fleets on one PostgreSQL database
// see each other through their heartbeats and each spends half of the
// app's Graph budget; when one stops, the other takes all of it. On
// SQLite the one process has it all.
func TestReplicasShareTheAppBudget(t *testing.T) {
	dsn := os.Getenv("TENANTGATE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("set TENANTGATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	pool := testPool(t, dsn)
	store := newStore(t)
	access := newFakeAccess()
	mk := func(id string, b *fleet.Budget) *fleet.Fleet {
		f, err := fleet.New(context.Background(), fleet.Config{Postgres: pool, Access: access, Store: store, ID: id,
			Budget: b, ReplicaHeartbeat: 50 * time.Millisecond, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return f
	}
	stop := func(f *fleet.Fleet) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.Stop(ctx); err != nil {
			t.Error(err)
		}
	}
	ba, bb := &fleet.Budget{}, &fleet.Budget{}
	a := mk("replica-a", ba)
	if got := ba.Stats().Replicas; got != 1 {
		t.Fatalf("alone: replicas %d, want 1", got)
	}
	b := mk("replica-b", bb)
	defer stop(b)
	// b saw a at its first beat; a sees b at its next.
	if got := bb.Stats().Replicas; got != 2 {
		t.Errorf("second replica at start: replicas %d, want 2", got)
	}
	eventually(t, "both replicas counting two", func() bool {
		return ba.Stats().Replicas == 2 && a.Replicas() == 2 && b.Replicas() == 2
	})
	stop(a)
	eventually(t, "the remaining replica taking the whole budget", func() bool {
		return bb.Stats().Replicas == 1 && b.Replicas() == 1
	})
}

// TestSQLiteFleetHasTheWholeBudget: a SQLite fleet is one replica.
func TestSQLiteFleetHasTheWholeBudget(t *testing.T) {
	b := &fleet.Budget{}
	b.SetReplicas(3)
	cfg := fleet.Config{Access: newFakeAccess(), Store: newStore(t), Budget: b}
	backends(t)["sqlite"](&cfg)
	f := startFleet(t, cfg)
	if got := b.Stats().Replicas; got != 1 || f.Replicas() != 1 {
		t.Errorf("replicas: budget %d, fleet %d; want 1", got, f.Replicas())
	}
}
