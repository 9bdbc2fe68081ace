// Package leasetest checks that two tokenstore.Locker instances sharing one
// database (two Stores on one SQLite file or one PostgreSQL database, as two
// processes or replicas would have) exclude each other, that leases lapse
// after their ttl, and that releasing a lapsed lease reports
// tokenstore.ErrLeaseLost without disturbing the new holder.
//
// The backends measure lease expiry with a real clock (PostgreSQL's, for
// replicas with skewed clocks), so these tests use short real ttls rather
// than a fake clock.
package leasetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// Run runs the lease tests. open returns two Lockers on one shared
// database, freshly isolated from other tests.
func Run(t *testing.T, open func(t *testing.T) (a, b tokenstore.Locker)) {
	t.Run("MutualExclusion", func(t *testing.T) { testMutualExclusion(t, open) })
	t.Run("Contention", func(t *testing.T) { testContention(t, open) })
	t.Run("Lapse", func(t *testing.T) { testLapse(t, open) })
	t.Run("LapsedNotTaken", func(t *testing.T) { testLapsedNotTaken(t, open) })
	t.Run("NamesIndependent", func(t *testing.T) { testNamesIndependent(t, open) })
	t.Run("BadArguments", func(t *testing.T) { testBadArguments(t, open) })
}

func lock(t *testing.T, l tokenstore.Locker, name string, ttl time.Duration) tokenstore.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	lease, err := l.Lock(ctx, name, ttl)
	require.NoError(t, err, "Lock(%q, %v)", name, ttl)
	return lease
}

// mustWait checks that Lock(name) does not succeed within d.
func mustWait(t *testing.T, l tokenstore.Locker, name string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	lease, err := l.Lock(ctx, name, time.Minute)
	if err == nil {
		_ = lease.Release(t.Context())
	}
	require.Error(t, err, "Lock(%q) succeeded while another instance held the lease", name)
	require.ErrorIs(t, err, context.DeadlineExceeded, "Lock(%q) while held", name)
}

func testMutualExclusion(t *testing.T, open func(t *testing.T) (a, b tokenstore.Locker)) {
	a, b := open(t)
	held := lock(t, a, "refresh/c1", time.Minute)
	mustWait(t, b, "refresh/c1", 300*time.Millisecond)
	mustWait(t, a, "refresh/c1", 100*time.Millisecond) // also within one instance
	require.NoError(t, held.Release(t.Context()), "Release")
	next := lock(t, b, "refresh/c1", time.Minute)
	mustWait(t, a, "refresh/c1", 100*time.Millisecond)
	require.NoError(t, next.Release(t.Context()), "Release by the second instance")
	// Releasing again: no longer held.
	require.ErrorIs(t, next.Release(t.Context()), tokenstore.ErrLeaseLost, "second Release")
}

// testContention has goroutines on both instances take the lease in turn
// and checks that no two critical sections overlap.
func testContention(t *testing.T, open func(t *testing.T) (a, b tokenstore.Locker)) {
	a, b := open(t)
	const workers, rounds = 6, 5
	var inside, maxInside, total atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		l := a
		if w%2 == 1 {
			l = b
		}
		wg.Go(func() {
			for range rounds {
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				lease, err := l.Lock(ctx, "contended", time.Minute)
				cancel()
				if err != nil {
					errs <- fmt.Errorf("lock: %w", err)
					return
				}
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				total.Add(1)
				inside.Add(-1)
				if err := lease.Release(t.Context()); err != nil {
					errs <- fmt.Errorf("release: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int32(1), maxInside.Load(), "most holders at once")
	assert.Equal(t, int32(workers*rounds), total.Load(), "critical sections that ran")
}

func testLapse(t *testing.T, open func(t *testing.T) (a, b tokenstore.Locker)) {
	a, b := open(t)
	const ttl = 300 * time.Millisecond
	crashed := lock(t, a, "refresh/c2", ttl) // its holder "crashes": never released in time
	taken := time.Now()
	stolen := lock(t, b, "refresh/c2", time.Minute)
	// Generous bound: the clocks that measure the ttl (this process's or the
	// database server's) may differ a little from ours.
	waited := time.Since(taken)
	assert.GreaterOrEqual(t, waited, ttl/2, "second holder got the lease after %v, before the first one's ttl %v lapsed", waited, ttl)
	require.ErrorIs(t, crashed.Release(t.Context()), tokenstore.ErrLeaseLost, "Release of a lapsed and retaken lease")
	// The failed Release must have left the new holder's lease alone.
	mustWait(t, a, "refresh/c2", 300*time.Millisecond)
	require.NoError(t, stolen.Release(t.Context()), "Release by the new holder")
	final := lock(t, a, "refresh/c2", time.Minute)
	require.NoError(t, final.Release(t.Context()), "Release")
}

func testLapsedNotTaken(t *testing.T, open func(t *testing.T) (a, b tokenstore.Locker)) {
	a, b := open(t)
	held := lock(t, a, "refresh/c3", 50*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.ErrorIs(t, held.Release(t.Context()), tokenstore.ErrLeaseLost, "Release of a lapsed lease")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	next, err := b.Lock(ctx, "refresh/c3", time.Minute)
	require.NoError(t, err, "Lock after a lapsed release")
	require.NoError(t, next.Release(t.Context()), "Release")
}

func testNamesIndependent(t *testing.T, open func(t *testing.T) (a, b tokenstore.Locker)) {
	a, b := open(t)
	x := lock(t, a, "refresh/x", time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	y, err := b.Lock(ctx, "refresh/y", time.Minute)
	require.NoError(t, err, "Lock of another name while one is held")
	for _, l := range []tokenstore.Lease{x, y} {
		require.NoError(t, l.Release(t.Context()), "Release")
	}
}

func testBadArguments(t *testing.T, open func(t *testing.T) (a, b tokenstore.Locker)) {
	a, _ := open(t)
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{
		{"refresh/c4", 0},
		{"refresh/c4", -time.Second},
		{"", time.Minute},
	} {
		lease, err := a.Lock(t.Context(), tc.name, tc.ttl)
		if err == nil {
			_ = lease.Release(t.Context())
		}
		assert.Error(t, err, "Lock(%q, %v) succeeded, want an error", tc.name, tc.ttl)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	lease, err := a.Lock(ctx, "refresh/c4", time.Minute)
	if err == nil {
		_ = lease.Release(t.Context())
	}
	assert.ErrorIs(t, err, context.Canceled, "Lock with a cancelled context")
	// A held lease makes Lock wait until ctx ends, then report it.
	held := lock(t, a, "refresh/c4", time.Minute)
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = a.Lock(ctx, "refresh/c4", time.Minute)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "Lock past its deadline")
	require.NoError(t, held.Release(t.Context()), "Release")
}
