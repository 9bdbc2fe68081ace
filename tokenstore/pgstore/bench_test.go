package pgstore

import (
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/backendbench"
	"github.com/tenantgate/tenantgate/tokenstore/storetest"
)

// BenchmarkBackend runs storetest.Benchmark (Get, Put, sealed Put+Get,
// List, 4 KiB records) and the SQL extras (parallel Put, Lock+Release) on
// the database of TENANTGATE_TEST_POSTGRES, in a schema of its own.
func BenchmarkBackend(b *testing.B) {
	s := openTest(b, freshSchema(b))
	storetest.Benchmark(b, func(*testing.B) tokenstore.Backend { return s })
	backendbench.Run(b, s)
}
