package usersync_test

import (
	"context"
	"runtime"
	"testing"

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
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	sink := &heapSink{}
	r := (&usersync.Syncer{Source: src, Sink: sink}).SyncCustomer(t.Context(), "big")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if sink.users != n || r.Added != n || r.Pages != (n+998)/999 {
		t.Fatalf("synced %d users in %d pages (result %+v), want %d", sink.users, r.Pages, r.Counts, n)
	}
	const bound = 64 << 20
	t.Logf("heap in use: %d MiB before, peak %d MiB during the sync", base>>20, sink.peak>>20)
	if sink.peak > base+bound {
		t.Errorf("peak heap %d MiB over the %d MiB baseline, want under %d MiB more: users are being held", sink.peak>>20, base>>20, bound>>20)
	}
}
