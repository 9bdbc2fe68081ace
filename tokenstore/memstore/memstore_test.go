package memstore_test

import (
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/tokenstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tokenstore.Backend {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceShared runs the suite on one store shared by every test,
// as the PostgreSQL backend's tests share a database.
func TestConformanceShared(t *testing.T) {
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	storetest.Run(t, func(*testing.T) tokenstore.Backend { return s })
}
