package storetest_test

import (
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/tokenstore/storetest"
)

// A backend's test file runs the suite and the benchmarks. (The example
// is compiled, not run: Run needs the *testing.T of a real test.)
func Example() {
	_ = func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) tokenstore.Backend {
			b := memstore.New() // your backend here
			t.Cleanup(func() { b.Close() })
			return b
		})
	}
	_ = func(b *testing.B) {
		storetest.Benchmark(b, func(b *testing.B) tokenstore.Backend {
			be := memstore.New()
			b.Cleanup(func() { be.Close() })
			return be
		})
	}
}
