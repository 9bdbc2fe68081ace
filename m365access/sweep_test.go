package m365access

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// Used and expired transactions are deleted; live ones stay and still
// complete.
func TestSweepTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, backend := sealedStore(t)
	m, _, _ := newTestManager(t, func(c *Config) { c.Store, c.Locker = store, store })
	if _, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(testTenant)}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		page, err := backend.List(ctx, pendingCustomer, kindPending, tokenstore.ListOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Records)
	}
	begin := func() string {
		res, err := m.ConsentURL(ctx, "c1", binding)
		if err != nil {
			t.Fatal(err)
		}
		return res.AuthorizeURL
	}
	for range 5 {
		begin()
	}
	used := stateOf(t, begin())
	if _, err := m.takePending(ctx, flowConsent, used, binding); err != nil {
		t.Fatal(err)
	}
	// A row that is not a transaction (written past the keyring).
	if _, err := backend.Put(ctx, tokenstore.Record{Key: pendingKey("junk"), Data: []byte("{}")}, 0); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 7 {
		t.Fatalf("%d transactions stored, want 7", n)
	}
	n, err := m.SweepTransactions(ctx)
	if err != nil || n != 2 || count() != 5 {
		t.Fatalf("first sweep deleted %d (%v), %d left; want 2 deleted, 5 left", n, err, count())
	}
	live := stateOf(t, begin())
	m.now = func() time.Time { return time.Now().Add(DefaultTransactionTTL + time.Second) }
	n, err = m.SweepTransactions(ctx)
	if err != nil || n != 6 || count() != 0 {
		t.Fatalf("sweep after expiry deleted %d (%v), %d left; want 6, 0", n, err, count())
	}
	m.now = time.Now
	if _, err := m.takePending(ctx, flowConsent, live, binding); err == nil {
		t.Fatal("a swept transaction still completes")
	}
}

// stateOf reads the state parameter of a sign-in or consent URL.
func stateOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}
