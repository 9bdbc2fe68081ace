package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
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
		require.NoError(t, err)
		defer a.Close()
		b, err := Open(t.Context(), path, Options{})
		require.NoError(t, err)
		defer b.Close()

		const ttl = 10 * time.Second
		start := time.Now()
		crashed, err := a.Lock(t.Context(), "refresh/c1", ttl)
		require.NoError(t, err)
		// Just before the ttl, the lease is still held.
		ctx, cancel := context.WithTimeout(t.Context(), ttl-time.Second)
		_, err = b.Lock(ctx, "refresh/c1", ttl)
		require.ErrorIs(t, err, context.DeadlineExceeded, "Lock before the ttl")
		cancel()
		next, err := b.Lock(t.Context(), "refresh/c1", ttl)
		require.NoError(t, err)
		waited := time.Since(start)
		assert.GreaterOrEqual(t, waited, ttl, "second holder got the lease after %v, want just after the ttl %v", waited, ttl)
		assert.LessOrEqual(t, waited, ttl+sqlbackend.MaxPoll, "second holder got the lease after %v, want just after the ttl %v", waited, ttl)
		require.ErrorIs(t, crashed.Release(t.Context()), tokenstore.ErrLeaseLost, "Release of the lapsed lease")
		time.Sleep(ttl / 2)
		require.NoError(t, next.Release(t.Context()), "Release within the ttl")
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
			require.FailNow(t, "Lock returned while the lease is held", "Lock returned %v", err)
		default:
		}
		require.NoError(t, b.Close())
		require.ErrorIs(t, <-done, tokenstore.ErrClosed, "waiting Lock after Close")
		require.NoError(t, held.Release(t.Context()))
	})
}
