// Package backendbench benchmarks a tokenstore.Backend the same way for
// every backend, so their figures compare: Get and Put of one record,
// directly and through a sealing tokenstore.Store, Put from parallel
// goroutines on distinct records, and Lock plus Release.
package backendbench

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// PayloadSize is the record size the benchmarks write: about one MSAL
// token cache partition.
const PayloadSize = 4 << 10

// Run runs the benchmarks as sub-benchmarks of b against backend.
func Run(b *testing.B, backend tokenstore.Backend) {
	key, err := tokenstore.GenerateKey("bench")
	if err != nil {
		b.Fatal(err)
	}
	kr, err := tokenstore.NewKeyring(key)
	if err != nil {
		b.Fatal(err)
	}
	sealed := tokenstore.New(backend, kr)
	payload := bytes.Repeat([]byte("t"), PayloadSize)

	b.Run("Get", func(b *testing.B) { benchGet(b, backend, payload, false) })
	b.Run("Put", func(b *testing.B) { benchPut(b, backend, payload, false) })
	b.Run("GetSealed", func(b *testing.B) { benchGet(b, sealed, payload, true) })
	b.Run("PutSealed", func(b *testing.B) { benchPut(b, sealed, payload, true) })
	b.Run("PutParallel", func(b *testing.B) { benchPutParallel(b, backend, payload) })
	b.Run("LockRelease", func(b *testing.B) { benchLock(b, backend) })
}

func benchGet(b *testing.B, s tokenstore.Store, payload []byte, seal bool) {
	ctx := b.Context()
	k := tokenstore.Key{Customer: "bench", Kind: "get", Name: fmt.Sprint(seal, "-", rand.Text())}
	if _, err := s.Put(ctx, tokenstore.Record{Key: k, Data: payload, Sealed: seal}, 0); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPut replaces one record's current version again and again.
func benchPut(b *testing.B, s tokenstore.Store, payload []byte, seal bool) {
	ctx := b.Context()
	k := tokenstore.Key{Customer: "bench", Kind: "put", Name: fmt.Sprint(seal, "-", rand.Text())}
	rec, err := s.Put(ctx, tokenstore.Record{Key: k, Data: payload, Sealed: seal}, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		rec, err = s.Put(ctx, tokenstore.Record{Key: k, Data: payload, Sealed: seal}, rec.Version)
		if err != nil {
			b.Fatal(err)
		}
	}
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
		rec, err := s.Put(ctx, tokenstore.Record{Key: k, Data: payload}, 0)
		if err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			rec, err = s.Put(ctx, tokenstore.Record{Key: k, Data: payload}, rec.Version)
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchLock(b *testing.B, l tokenstore.Locker) {
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		lease, err := l.Lock(ctx, "bench/lock", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := lease.Release(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
