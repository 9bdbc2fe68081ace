package pgstore

import (
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore/internal/backendbench"
)

// BenchmarkBackend measures Get, Put (4 KiB, plain and sealed), parallel
// Put and Lock+Release on the database of TENANTGATE_TEST_POSTGRES, in a
// schema of its own.
func BenchmarkBackend(b *testing.B) {
	backendbench.Run(b, openTest(b, freshSchema(b)))
}
