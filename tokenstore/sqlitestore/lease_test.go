package sqlitestore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/sqlbackend"
)

// TestLeaseLapseFakeClock checks lease expiry on a fake clock: SQLite
// leases are measured with the local clock, which synctest controls, so
// the test asserts exact times and waits for nothing real. (Waiters poll
// the database every 200 ms at most, so the ttl stays modest.)
func TestLeaseLapseFakeClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(dir, "tokens.db")
		a, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()

		const ttl = 10 * time.Second
		start := time.Now()
		crashed, err := a.Lock(t.Context(), "refresh/c1", ttl)
		if err != nil {
			t.Fatal(err)
		}
		// Just before the ttl, the lease is still held.
		ctx, cancel := context.WithTimeout(t.Context(), ttl-time.Second)
		if _, err := b.Lock(ctx, "refresh/c1", ttl); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock before the ttl: got %v, want DeadlineExceeded", err)
		}
		cancel()
		next, err := b.Lock(t.Context(), "refresh/c1", ttl)
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < ttl || waited > ttl+sqlbackend.MaxPoll {
			t.Errorf("second holder got the lease after %v, want just after the ttl %v", waited, ttl)
		}
		if err := crashed.Release(t.Context()); !errors.Is(err, tokenstore.ErrLeaseLost) {
			t.Fatalf("Release of the lapsed lease: got %v, want ErrLeaseLost", err)
		}
		time.Sleep(ttl / 2)
		if err := next.Release(t.Context()); err != nil {
			t.Fatalf("Release within the ttl: %v", err)
		}
	})
}

// TestLockWaiterSeesClose checks that a Lock waiting for a held lease
// gives up with ErrClosed when its Store is closed. In a synctest bubble,
// synctest.Wait returns once the waiting Lock sleeps between polls.
func TestLockWaiterSeesClose(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a, path := openTemp(t)
		b, err := Open(t.Context(), path, Options{})
		require.NoError(t, err)
		held, err := a.Lock(t.Context(), "refresh/c1", time.Minute)
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			_, err := b.Lock(t.Context(), "refresh/c1", time.Minute)
			done <- err
		}()
		synctest.Wait() // b's Lock found the lease held and waits to poll again
		select {
		case err := <-done:
			t.Fatalf("Lock returned %v while the lease is held", err)
		default:
		}
		require.NoError(t, b.Close())
		require.ErrorIs(t, <-done, tokenstore.ErrClosed, "waiting Lock after Close")
		require.NoError(t, held.Release(t.Context()))
	})
}
