package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore/internal/backendbench"
)

// BenchmarkBackend measures Get, Put (4 KiB, plain and sealed), parallel
// Put and Lock+Release on a WAL database file in a temporary directory.
func BenchmarkBackend(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	backendbench.Run(b, s)
}
