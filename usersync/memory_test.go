package usersync_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync"
)

// heapSink counts users and samples the heap after every batch.
type heapSink struct {
	users int
	peak  uint64
}

func (s *heapSink) Begin(context.Context, string) (usersync.Pass, error) { return s, nil }

func (s *heapSink) Put(_ context.Context, users []usersync.User) (usersync.Counts, error) {
	s.users += len(users)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.peak = max(s.peak, ms.HeapInuse)
	return usersync.Counts{Added: len(users)}, nil
}

func (s *heapSink) Commit(context.Context) (usersync.Counts, error) { return usersync.Counts{}, nil }
func (s *heapSink) Abort(context.Context) error                     { return nil }

// TestMemoryStaysFlat syncs a 500,000-user tenant (about 250 MB of JSON,
// over 200 MB as Go values) and checks the heap never holds more than a
// few pages.
func TestMemoryStaysFlat(t *testing.T) {
	// Not parallel: it measures the process's heap.
	if testing.Short() {
		t.Skip("500,000 users take a few seconds")
	}
	const n = 500_000
	fg := newFakeGraph()
	defer fg.Close()
	fg.addTenant("big", n)
	src, err := fg.source(usersync.GraphOptions{}, nil)
	require.NoError(t, err)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	sink := &heapSink{}
	r := (&usersync.Syncer{Source: src, Sink: sink}).SyncCustomer(t.Context(), "big")
	require.NoError(t, r.Err)
	require.Equal(t, n, sink.users, "users synced")
	require.Equal(t, n, r.Added, "users added")
	require.Equal(t, (n+998)/999, r.Pages, "pages")
	const bound = 64 << 20
	t.Logf("heap in use: %d MiB before, peak %d MiB during the sync", base>>20, sink.peak>>20)
	assert.LessOrEqual(t, sink.peak, uint64(base+bound),
		"peak heap %d MiB over the %d MiB baseline, want under %d MiB more: users are being held", sink.peak>>20, base>>20, bound>>20)
}
