package memstore_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

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
		if err != nil {
			t.Fatal(err)
		}
		next, err := s.Lock(ctx, "refresh/customer-1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != time.Hour {
			t.Errorf("waited %v for the lapsed lease, want exactly the ttl (1h)", waited)
		}
		if err := crashed.Release(ctx); !errors.Is(err, tokenstore.ErrLeaseLost) {
			t.Errorf("Release after lapse: %v, want ErrLeaseLost", err)
		}
		// The new holder's own lease lapses too if it holds on too long.
		time.Sleep(time.Minute)
		if err := next.Release(ctx); !errors.Is(err, tokenstore.ErrLeaseLost) {
			t.Errorf("Release after own ttl: %v, want ErrLeaseLost", err)
		}
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
		if d := <-got; d != at {
			t.Errorf("waiter got the lease at %v, want at the release (%v)", d, at)
		}
	})
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	s.Close()
	ctx := t.Context()
	if _, err := s.Get(ctx, tokenstore.Key{Customer: "c", Kind: "k", Name: "n"}); !errors.Is(err, tokenstore.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := s.Lock(ctx, "n", time.Second); !errors.Is(err, tokenstore.ErrClosed) {
		t.Errorf("Lock after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
