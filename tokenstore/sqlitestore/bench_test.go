package sqlitestore

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/backendbench"
	"github.com/tenantgate/tenantgate/tokenstore/storetest"
)

// BenchmarkBackend runs storetest.Benchmark (Get, Put, sealed Put+Get,
// List, 4 KiB records) and the SQL extras (parallel Put, Lock+Release) on
// a WAL database file in a temporary directory.
func BenchmarkBackend(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), Options{})
	require.NoError(b, err)
	defer s.Close()
	storetest.Benchmark(b, func(*testing.B) tokenstore.Backend { return s })
	backendbench.Run(b, s)
}
