// Package backendbench holds the SQL backends' benchmarks beyond
// storetest.Benchmark (which they run too): Put from parallel goroutines on
// distinct records, where writers contend for the database, and a lease's
// Lock plus Release.
package backendbench

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// PayloadSize is the record size PutParallel writes, as storetest.Benchmark
// does: about one MSAL token cache partition.
const PayloadSize = 4 << 10

// Run runs the benchmarks as sub-benchmarks of b against backend.
func Run(b *testing.B, backend tokenstore.Backend) {
	payload := bytes.Repeat([]byte("t"), PayloadSize)
	b.Run("PutParallel", func(b *testing.B) { benchPutParallel(b, backend, payload) })
	b.Run("LockRelease", func(b *testing.B) { benchLock(b, backend) })
}

// benchPutParallel has each goroutine replace its own record, so writers
// contend for the database, not for a version.
func benchPutParallel(b *testing.B, s tokenstore.Store, payload []byte) {
	ctx := b.Context()
	run := rand.Text() // b.Run (and -count) call this again: fresh keys
	var next atomic.Int64
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := tokenstore.Key{Customer: "bench", Kind: "parallel", Name: fmt.Sprint(run, "-", next.Add(1))}
		// Not the benchmark's goroutine: assert, never require.
		rec, err := s.Put(ctx, tokenstore.Record{Key: k, Data: payload}, 0)
		if !assert.NoError(b, err) {
			return
		}
		for pb.Next() {
			rec, err = s.Put(ctx, tokenstore.Record{Key: k, Data: payload}, rec.Version)
			if !assert.NoError(b, err) {
				return
			}
		}
	})
}

// benchLock takes and releases a free lease.
func benchLock(b *testing.B, l tokenstore.Locker) {
	ctx := b.Context()
	name := "bench/lock/" + rand.Text()
	b.ReportAllocs()
	for b.Loop() {
		lease, err := l.Lock(ctx, name, time.Minute)
		require.NoError(b, err)
		require.NoError(b, lease.Release(ctx))
	}
}
