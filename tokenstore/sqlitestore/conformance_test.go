package sqlitestore

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/storetest"
)

// TestConformance runs the tokenstore conformance suite, each test on a
// fresh database file.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) tokenstore.Backend {
		s, _ := openTemp(t)
		return s
	})
}

// TestConformanceSharedFile runs the suite through two Stores on one file,
// alternating, as two processes sharing it would.
func TestConformanceSharedFile(t *testing.T) {
	t.Parallel()
	a, path := openTemp(t)
	b, err := Open(t.Context(), path, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	n := 0
	storetest.Run(t, func(t *testing.T) tokenstore.Backend {
		n++
		if n%2 == 0 {
			return b
		}
		return a
	})
}
