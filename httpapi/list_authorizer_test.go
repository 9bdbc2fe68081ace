package httpapi

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListsAskAboutTheirCustomers: an admin of customer a only (tokenA,
// refused for "" = everything) gets the listings filtered to a; the
// delivery log of a customer asks about that customer.
func TestListsAskAboutTheirCustomers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	e.saveToken(t, "b", e.fabrikam)

	all := decode[customerPageJSON](t, e.do(t, "GET", "/customers", tokenAll, nil), http.StatusOK)
	require.Len(t, all.Customers, 2)
	mine := decode[customerPageJSON](t, e.do(t, "GET", "/customers", tokenA, nil), http.StatusOK)
	require.Len(t, mine.Customers, 1)
	assert.Equal(t, "a", mine.Customers[0].Customer)

	trail := decode[auditPageJSON](t, e.do(t, "GET", "/audit", tokenA, nil), http.StatusOK)
	require.NotEmpty(t, trail.Entries)
	for _, en := range trail.Entries {
		assert.Equal(t, "a", en.Customer)
	}
	assert.Len(t, decode[auditPageJSON](t, e.do(t, "GET", "/audit", tokenAll, nil), http.StatusOK).Entries, 2, "one change per customer (attempts hidden)")

	assert.Equal(t, http.StatusOK, e.do(t, "GET", "/webhooks/deliveries?customer=a", tokenA, nil).Code)
	assert.Equal(t, http.StatusForbidden, e.do(t, "GET", "/webhooks/deliveries?customer=b", tokenA, nil).Code)
	assert.Equal(t, http.StatusOK, e.do(t, "GET", "/webhooks/deliveries", tokenA, nil).Code, "filtered to a")
	// Anonymous requests are still refused.
	assert.Equal(t, http.StatusUnauthorized, e.do(t, "GET", "/customers", "", nil).Code)
}
