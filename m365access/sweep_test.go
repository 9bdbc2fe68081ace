package m365access

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// Used and expired transactions are deleted; live ones stay and still
// complete.
func TestSweepTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, backend := sealedStore(t)
	m, _, _ := newTestManager(t, func(c *Config) { c.Store, c.Locker = store, store })
	_, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(testTenant)})
	require.NoError(t, err)
	count := func() int {
		page, err := backend.List(ctx, pendingCustomer, kindPending, tokenstore.ListOptions{Limit: 1000})
		require.NoError(t, err)
		return len(page.Records)
	}
	begin := func() string {
		res, err := m.ConsentURL(ctx, "c1", binding)
		require.NoError(t, err)
		return res.AuthorizeURL
	}
	for range 5 {
		begin()
	}
	used := stateOf(t, begin())
	_, err = m.takePending(ctx, flowConsent, used, binding)
	require.NoError(t, err)
	// A row that is not a transaction (written past the keyring).
	_, err = backend.Put(ctx, tokenstore.Record{Key: pendingKey("junk"), Data: []byte("{}")}, 0)
	require.NoError(t, err)
	require.Equal(t, 7, count(), "transactions stored")
	n, err := m.SweepTransactions(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n, "first sweep deleted")
	require.Equal(t, 5, count(), "left after the first sweep")
	live := stateOf(t, begin())
	m.now = func() time.Time { return time.Now().Add(DefaultTransactionTTL + time.Second) }
	n, err = m.SweepTransactions(ctx)
	require.NoError(t, err)
	require.Equal(t, 6, n, "sweep after expiry deleted")
	require.Equal(t, 0, count(), "left after expiry")
	m.now = time.Now
	_, err = m.takePending(ctx, flowConsent, live, binding)
	require.Error(t, err, "a swept transaction still completes")
}

// stateOf reads the state parameter of a sign-in or consent URL.
func stateOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Query().Get("state")
}
