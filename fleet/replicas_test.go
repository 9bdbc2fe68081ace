package fleet_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
)

// TestReplicasShareTheAppBudget: two Fleets on one PostgreSQL database
// see each other through their heartbeats and, while both send Graph
// requests, each spends half of the app's Graph budget; when one goes
// idle or stops, the other takes all of it.
func TestReplicasShareTheAppBudget(t *testing.T) {
	t.Parallel()
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
		require.NoError(t, err)
		require.NoError(t, f.Start(context.Background()))
		return f
	}
	stop := func(f *fleet.Fleet) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, f.Stop(ctx), "stop")
	}
	ba, bb := &fleet.Budget{}, &fleet.Budget{}
	// Graph traffic through a budget until its channel closes.
	traffic := func(b *fleet.Budget) chan struct{} {
		done := make(chan struct{})
		rt := b.Transport(rtFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
		}))
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(5 * time.Millisecond):
					get(t, rt, "c")
				}
			}
		}()
		return done
	}
	aBusy, bBusy := traffic(ba), traffic(bb)
	defer close(bBusy)
	a := mk("replica-a", ba)
	require.Equal(t, 1, ba.Stats().Replicas, "alone: replicas")
	b := mk("replica-b", bb)
	defer stop(b)
	// b saw a at its first beat; a sees b at its next.
	assert.Equal(t, 2, bb.Stats().Replicas, "second replica at start: replicas")
	eventually(t, "both replicas counting two", func() bool {
		return ba.Stats().Replicas == 2 && a.Replicas() == 2 && b.Replicas() == 2
	})
	close(aBusy)
	eventually(t, "the busy replica taking the whole budget from the idle one", func() bool {
		return bb.Stats().Replicas == 1 && b.Replicas() == 2
	})
	aBusy = traffic(ba)
	eventually(t, "sharing again once both are busy", func() bool { return bb.Stats().Replicas == 2 })
	stop(a)
	close(aBusy)
	eventually(t, "the remaining replica taking the whole budget", func() bool {
		return bb.Stats().Replicas == 1 && b.Replicas() == 1
	})
}

// TestSQLiteFleetHasTheWholeBudget: a SQLite fleet is one replica.
func TestSQLiteFleetHasTheWholeBudget(t *testing.T) {
	t.Parallel()
	b := &fleet.Budget{}
	b.SetReplicas(3)
	cfg := fleet.Config{Access: newFakeAccess(), Store: newStore(t), Budget: b}
	backends(t)["sqlite"](&cfg)
	f := startFleet(t, cfg)
	assert.Equal(t, 1, b.Stats().Replicas, "replicas: budget")
	assert.Equal(t, 1, f.Replicas(), "replicas: fleet")
}
