package memstore_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/tokenstore/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) tokenstore.Backend {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceShared runs the suite on one store shared by every test,
// as the PostgreSQL backend's tests share a database.
func TestConformanceShared(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	storetest.Run(t, func(*testing.T) tokenstore.Backend { return s })
}

func BenchmarkMemstore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) tokenstore.Backend {
		s := memstore.New()
		b.Cleanup(func() { s.Close() })
		return s
	})
}

// TestLeaseLapseSynctest checks the lease ttl in fake time: the waiter
// gets the lease exactly when the crashed holder's ttl runs out.
func TestLeaseLapseSynctest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := memstore.New()
		defer s.Close()
		start := time.Now()
		crashed, err := s.Lock(ctx, "refresh/customer-1", time.Hour)
		require.NoError(t, err)
		next, err := s.Lock(ctx, "refresh/customer-1", time.Minute)
		require.NoError(t, err)
		assert.Equal(t, time.Hour, time.Since(start), "wait for the lapsed lease: want exactly the ttl (1h)")
		assert.ErrorIs(t, crashed.Release(ctx), tokenstore.ErrLeaseLost, "Release after lapse")
		// The new holder's own lease lapses too if it holds on too long.
		time.Sleep(time.Minute)
		assert.ErrorIs(t, next.Release(ctx), tokenstore.ErrLeaseLost, "Release after own ttl")
		// A release wakes a waiter at once.
		held, _ := s.Lock(ctx, "n", time.Hour)
		got := make(chan time.Duration)
		go func() {
			l, err := s.Lock(ctx, "n", time.Hour)
			if err == nil {
				l.Release(ctx)
			}
			got <- time.Since(start)
		}()
		synctest.Wait()
		time.Sleep(time.Second)
		at := time.Since(start)
		held.Release(ctx)
		assert.Equal(t, at, <-got, "waiter got the lease: want at the release")
	})
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	s.Close()
	ctx := t.Context()
	_, err := s.Get(ctx, tokenstore.Key{Customer: "c", Kind: "k", Name: "n"})
	assert.ErrorIs(t, err, tokenstore.ErrClosed, "Get after Close")
	_, err = s.Lock(ctx, "n", time.Second)
	assert.ErrorIs(t, err, tokenstore.ErrClosed, "Lock after Close")
	assert.NoError(t, s.Close(), "second Close")
}
