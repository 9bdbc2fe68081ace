package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// Benchmark measures a backend's basic operations so that backends can be
// compared with the same workload: Get, versioned Put (replace), Put
// (create), sealed Put and Get through tokenstore.New (4 KiB payload, the
// size of a typical MSAL cache partition), and List of a 100-record page.
// Like Run, it writes under random customer IDs, so newBackend may return
// a shared backend.
func Benchmark(b *testing.B, newBackend func(b *testing.B) tokenstore.Backend) {
	payload := bytes.Repeat([]byte("x"), 4<<10)

	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		be := newBackend(b)
		key := tokenstore.Key{Customer: benchID(b), Kind: "bench", Name: "get"}
		_, err := be.Put(b.Context(), tokenstore.Record{Key: key, Data: payload}, 0)
		require.NoError(b, err)
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			_, err = be.Get(b.Context(), key)
			require.NoError(b, err)
		}
	})
	b.Run("PutReplace", func(b *testing.B) {
		b.ReportAllocs()
		be := newBackend(b)
		key := tokenstore.Key{Customer: benchID(b), Kind: "bench", Name: "put"}
		rec, err := be.Put(b.Context(), tokenstore.Record{Key: key, Data: payload}, 0)
		require.NoError(b, err)
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			rec, err = be.Put(b.Context(), tokenstore.Record{Key: key, Data: payload}, rec.Version)
			require.NoError(b, err)
		}
	})
	b.Run("PutCreate", func(b *testing.B) {
		b.ReportAllocs()
		be := newBackend(b)
		cust := benchID(b)
		b.SetBytes(int64(len(payload)))
		i := 0
		for b.Loop() {
			i++
			key := tokenstore.Key{Customer: cust, Kind: "bench", Name: fmt.Sprint(i)}
			_, err := be.Put(b.Context(), tokenstore.Record{Key: key, Data: payload}, 0)
			require.NoError(b, err)
		}
	})
	b.Run("SealedPutGet", func(b *testing.B) {
		b.ReportAllocs()
		k, err := tokenstore.GenerateKey("bench")
		require.NoError(b, err)
		kr, err := tokenstore.NewKeyring(k)
		require.NoError(b, err)
		s := tokenstore.New(newBackend(b), kr)
		key := tokenstore.Key{Customer: benchID(b), Kind: "bench", Name: "sealed"}
		rec, err := s.Put(b.Context(), tokenstore.Record{Key: key, Data: payload, Sealed: true}, 0)
		require.NoError(b, err)
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			rec, err = s.Put(b.Context(), tokenstore.Record{Key: key, Data: payload, Sealed: true}, rec.Version)
			require.NoError(b, err)
			_, err = s.Get(b.Context(), key)
			require.NoError(b, err)
		}
	})
	b.Run("List100", func(b *testing.B) {
		b.ReportAllocs()
		be := newBackend(b)
		cust := benchID(b)
		for i := range 100 {
			key := tokenstore.Key{Customer: cust, Kind: "bench", Name: fmt.Sprintf("%03d", i)}
			_, err := be.Put(b.Context(), tokenstore.Record{Key: key, Data: payload[:256]}, 0)
			require.NoError(b, err)
		}
		for b.Loop() {
			p, err := be.List(b.Context(), cust, "bench", tokenstore.ListOptions{Limit: 100})
			require.NoError(b, err, "List")
			require.Len(b, p.Records, 100, "List")
		}
	})
}

func benchID(b *testing.B) string {
	var buf [8]byte
	_, _ = randRead(buf[:])
	return fmt.Sprintf("storetest-bench/%s/%x", b.Name(), buf)
}
