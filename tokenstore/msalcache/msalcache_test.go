package msalcache_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/tokenstore/msalcache"
	"github.com/tenantgate/tenantgate/tokenstore/sqlitestore"
)

const (
	tenantA  = "0a0a0a0a-0000-0000-0000-00000000000a"
	tenantB  = "0b0b0b0b-0000-0000-0000-00000000000b"
	customer = "customer-42"
	appScope = "https://graph.microsoft.com/.default"
)

// process is what survives a restart (the database and the key
// configuration) apart from what does not (store, cache and client).
type process struct {
	open func(t *testing.T) tokenstore.Backend // opens the database
	keys string
}

// backends are the databases a restart is tested on: memory (one backend
// object outliving the "processes") and a SQLite file, closed and opened
// again by every start.
var backends = []struct {
	name string
	new  func(t *testing.T) func(t *testing.T) tokenstore.Backend
}{
	{"memstore", func(t *testing.T) func(t *testing.T) tokenstore.Backend {
		b := memstore.New()
		t.Cleanup(func() { b.Close() })
		return func(*testing.T) tokenstore.Backend { return b }
	}},
	{"sqlite", func(t *testing.T) func(t *testing.T) tokenstore.Backend {
		path := filepath.Join(t.TempDir(), "tenantgate.db")
		var prev tokenstore.Backend
		return func(t *testing.T) tokenstore.Backend {
			if prev != nil {
				prev.Close() // the previous process is gone
			}
			b, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			prev = b
			return b
		}
	}},
}

func newProcess(t *testing.T, open func(t *testing.T) tokenstore.Backend) process {
	k, err := tokenstore.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	return process{open: open, keys: k.Encode()}
}

// start builds what a process builds at startup: backend, keyring from
// configuration, store, cache adapter and MSAL client.
func (p process) start(t *testing.T, fa *fakeAuthority) (confidential.Client, *tokenstore.SealedStore) {
	t.Helper()
	kr, err := tokenstore.ParseKeyring(p.keys)
	if err != nil {
		t.Fatal(err)
	}
	store := tokenstore.New(p.open(t), kr)
	c, err := msalcache.New(store, customer, msalcache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret(clientSecret)
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(fa.url()+"/organizations", clientID, cred,
		confidential.WithCache(c),
		confidential.WithHTTPClient(fa.srv.Client()),
		confidential.WithInstanceDiscovery(false),
	)
	if err != nil {
		t.Fatal(err)
	}
	return client, store
}

// rawContains reports whether any record in the backend holds s in clear.
func rawContains(t *testing.T, b tokenstore.Backend, s string) bool {
	t.Helper()
	recs, err := b.Scan(t.Context(), tokenstore.Key{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if bytes.Contains(r.Data, []byte(s)) {
			return true
		}
	}
	return false
}

func TestAppTokensSurviveRestart(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { testAppTokensSurviveRestart(t, newProcess(t, be.new(t))) })
	}
}

func testAppTokensSurviveRestart(t *testing.T, p process) {
	ctx := t.Context()
	fa := newFakeAuthority(t)

	client1, _ := p.start(t, fa)
	first, err := client1.AcquireTokenByCredential(ctx, []string{appScope}, confidential.WithTenantID(tenantA))
	if err != nil {
		t.Fatalf("first acquisition: %v", err)
	}
	if got := fa.requests("client_credentials"); got != 1 {
		t.Fatalf("token requests after the first acquisition: %d, want 1", got)
	}

	// Restart: new store, cache adapter and client on the same database
	// and keys.
	client2, store := p.start(t, fa)
	again, err := client2.AcquireTokenByCredential(ctx, []string{appScope}, confidential.WithTenantID(tenantA))
	if err != nil {
		t.Fatalf("acquisition after restart: %v", err)
	}
	if got := fa.requests("client_credentials"); got != 1 {
		t.Errorf("token requests after restart: %d, want still 1 (served from the stored cache)", got)
	}
	if again.AccessToken != first.AccessToken || again.Metadata.TokenSource != confidential.TokenSourceCache {
		t.Errorf("after restart got %q from source %v, want %q from the cache", again.AccessToken, again.Metadata.TokenSource, first.AccessToken)
	}
	if rawContains(t, store.Backend(), first.AccessToken) {
		t.Error("the backend holds the access token in clear")
	}
}

func TestPartitionsStaySeparate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fa := newFakeAuthority(t)
	p := newProcess(t, backends[0].new(t))
	client, store := p.start(t, fa)

	a, err := client.AcquireTokenByCredential(ctx, []string{appScope}, confidential.WithTenantID(tenantA))
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.AcquireTokenByCredential(ctx, []string{appScope}, confidential.WithTenantID(tenantB))
	if err != nil {
		t.Fatal(err)
	}
	if a.AccessToken == b.AccessToken || fa.requests("client_credentials") != 2 {
		t.Fatalf("tenants got tokens %q and %q with %d requests", a.AccessToken, b.AccessToken, fa.requests("client_credentials"))
	}

	// Each tenant's partition holds its own token and not the other's:
	// Replace must empty MSAL's in-memory cache on a miss.
	page, err := store.List(ctx, customer, msalcache.DefaultKind, tokenstore.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 2 {
		t.Fatalf("%d partitions stored, want 2", len(page.Records))
	}
	for _, r := range page.Records {
		hasA := bytes.Contains(r.Data, []byte(a.AccessToken))
		hasB := bytes.Contains(r.Data, []byte(b.AccessToken))
		if hasA == hasB {
			t.Errorf("partition %s holds tenant A's token: %v, tenant B's: %v; want exactly one", r.Name, hasA, hasB)
		}
	}
}

func TestUserTokensSurviveRestart(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { testUserTokensSurviveRestart(t, newProcess(t, be.new(t))) })
	}
}

func testUserTokensSurviveRestart(t *testing.T, p process) {
	ctx := t.Context()
	fa := newFakeAuthority(t)
	scopes := []string{"https://graph.microsoft.com/User.Read"}

	client1, _ := p.start(t, fa)
	signIn, err := client1.AcquireTokenByAuthCode(ctx, "the-code", "https://portal.example/auth/callback", scopes, confidential.WithTenantID(tenantA))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	homeID := signIn.Account.HomeAccountID
	if homeID != userOID+"."+tenantA {
		t.Fatalf("home account ID %q, want %q", homeID, userOID+"."+tenantA)
	}

	// Restart: the host kept only the home account ID.
	client2, _ := p.start(t, fa)
	acct, err := client2.Account(ctx, homeID)
	if err != nil || acct.HomeAccountID != homeID {
		t.Fatalf("Account(%q) after restart = %+v, %v", homeID, acct, err)
	}
	silent, err := client2.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(tenantA))
	if err != nil {
		t.Fatalf("silent acquisition after restart: %v", err)
	}
	if silent.AccessToken != signIn.AccessToken || fa.requests("refresh_token") != 0 {
		t.Errorf("after restart: token %q with %d refreshes, want the cached %q", silent.AccessToken, fa.requests("refresh_token"), signIn.AccessToken)
	}

	// A scope without a cached access token makes MSAL redeem the stored
	// refresh token, which it never handed out: proof that it survived.
	other := []string{"https://graph.microsoft.com/Directory.Read.All"}
	refreshed, err := client2.AcquireTokenSilent(ctx, other, confidential.WithSilentAccount(acct), confidential.WithTenantID(tenantA))
	if err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	fa.mu.Lock()
	redeemed := append([]string(nil), fa.redeemed...)
	fa.mu.Unlock()
	if len(redeemed) != 1 || !strings.HasPrefix(redeemed[0], "RT-"+tenantA) {
		t.Fatalf("refresh tokens redeemed: %q, want the one from the sign-in", redeemed)
	}
	if refreshed.AccessToken == signIn.AccessToken || refreshed.Metadata.TokenSource != confidential.TokenSourceIdentityProvider {
		t.Errorf("refreshed token %q from %v", refreshed.AccessToken, refreshed.Metadata.TokenSource)
	}

	// Another restart: the rotated refresh token was exported too.
	client3, store3 := p.start(t, fa)
	acct3, err := client3.Account(ctx, homeID)
	if err != nil {
		t.Fatal(err)
	}
	third := []string{"https://graph.microsoft.com/Mail.Send"}
	if _, err := client3.AcquireTokenSilent(ctx, third, confidential.WithSilentAccount(acct3), confidential.WithTenantID(tenantA)); err != nil {
		t.Fatalf("second refresh after second restart: %v", err)
	}
	fa.mu.Lock()
	redeemed = append([]string(nil), fa.redeemed...)
	fa.mu.Unlock()
	if len(redeemed) != 2 || redeemed[1] == redeemed[0] {
		t.Errorf("refresh tokens redeemed: %q, want the rotated one second", redeemed)
	}
	for _, s := range append(redeemed, signIn.AccessToken, refreshed.AccessToken) {
		if rawContains(t, store3.Backend(), s) {
			t.Errorf("the backend holds %q in clear", s)
		}
	}
}

// fakeMSAL stands in for MSAL's in-memory cache.
type fakeMSAL struct {
	data        []byte
	unmarshaled [][]byte
}

func (f *fakeMSAL) Unmarshal(b []byte) error {
	f.unmarshaled = append(f.unmarshaled, b)
	f.data = b
	return nil
}
func (f *fakeMSAL) Marshal() ([]byte, error) { return f.data, nil }

func newSealed(t *testing.T) (*tokenstore.SealedStore, *memstore.Store) {
	k, err := tokenstore.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := tokenstore.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	b := memstore.New()
	return tokenstore.New(b, kr), b
}

func TestReplaceMissUnmarshalsEmptyCache(t *testing.T) {
	t.Parallel()
	store, _ := newSealed(t)
	c, err := msalcache.New(store, customer, msalcache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMSAL{data: []byte(`{"AccessToken":{"other-partition":{}}}`)}
	if err := c.Replace(t.Context(), m, cache.ReplaceHints{PartitionKey: "p1"}); err != nil {
		t.Fatal(err)
	}
	if len(m.unmarshaled) != 1 || m.unmarshaled[0] != nil {
		t.Errorf("Unmarshal calls on a miss: %q, want one with nil", m.unmarshaled)
	}
}

func TestExportConflictKeepsNewest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, _ := newSealed(t)
	hints := cache.ReplaceHints{PartitionKey: "p"}
	c1, _ := msalcache.New(store, customer, msalcache.Options{})
	c2, _ := msalcache.New(store, customer, msalcache.Options{})
	m1, m2 := &fakeMSAL{}, &fakeMSAL{}
	if err := c1.Replace(ctx, m1, hints); err != nil {
		t.Fatal(err)
	}
	if err := c2.Replace(ctx, m2, hints); err != nil {
		t.Fatal(err)
	}
	m2.data = []byte(`{"from":"replica 2"}`)
	if err := c2.Export(ctx, m2, cache.ExportHints{PartitionKey: "p"}); err != nil {
		t.Fatal(err)
	}
	// Replica 1 read before replica 2 wrote: its versioned write conflicts,
	// and it retries on the new version with its newer cache.
	m1.data = []byte(`{"from":"replica 1"}`)
	if err := c1.Export(ctx, m1, cache.ExportHints{PartitionKey: "p"}); err != nil {
		t.Fatalf("Export after a concurrent write: %v", err)
	}
	m3 := &fakeMSAL{}
	c3, _ := msalcache.New(store, customer, msalcache.Options{})
	if err := c3.Replace(ctx, m3, hints); err != nil {
		t.Fatal(err)
	}
	if string(m3.data) != `{"from":"replica 1"}` {
		t.Errorf("stored cache %q, want replica 1's", m3.data)
	}
	page, _ := store.List(ctx, customer, msalcache.DefaultKind, tokenstore.ListOptions{})
	if len(page.Records) != 1 || page.Records[0].Version != 2 || !page.Records[0].Sealed {
		t.Errorf("records %+v, want one sealed record at version 2", page.Records)
	}
}

func TestReplaceUnreadableBlob(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, backend := newSealed(t)
	c, _ := msalcache.New(store, customer, msalcache.Options{})
	m := &fakeMSAL{data: []byte(`{"secret":"s"}`)}
	if err := c.Export(ctx, m, cache.ExportHints{PartitionKey: "p"}); err != nil {
		t.Fatal(err)
	}
	// Corrupt the stored blob.
	recs, _ := backend.Scan(ctx, tokenstore.Key{}, 10)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	rec := recs[0]
	rec.Data[len(rec.Data)-1] ^= 1
	if _, err := backend.Put(ctx, rec, rec.Version); err != nil {
		t.Fatal(err)
	}

	m2 := &fakeMSAL{data: []byte(`{"left":"over"}`)}
	err := c.Replace(ctx, m2, cache.ReplaceHints{PartitionKey: "p"})
	var oe *tokenstore.OpenError
	if !errors.As(err, &oe) || !errors.Is(err, tokenstore.ErrTampered) {
		t.Fatalf("Replace of a tampered blob: %v, want *tokenstore.OpenError (ErrTampered)", err)
	}
	if m2.data != nil {
		t.Errorf("in-memory cache after a failed Replace: %q, want emptied", m2.data)
	}
	if err := c.Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if err := c.Replace(ctx, m2, cache.ReplaceHints{PartitionKey: "p"}); err != nil {
		t.Fatalf("Replace after Delete: %v", err)
	}
}

func TestNewRefusesUnsealedStores(t *testing.T) {
	t.Parallel()
	b := memstore.New()
	if _, err := msalcache.New(b, customer, msalcache.Options{}); err == nil {
		t.Error("New accepted a raw backend")
	}
	if _, err := msalcache.New(tokenstore.New(b, nil), customer, msalcache.Options{}); !errors.Is(err, tokenstore.ErrNoKeyring) {
		t.Errorf("New with a keyless store: %v, want ErrNoKeyring", err)
	}
	store, _ := newSealed(t)
	if _, err := msalcache.New(store, "", msalcache.Options{}); !errors.Is(err, tokenstore.ErrInvalid) {
		t.Errorf("New with an empty customer: %v, want ErrInvalid", err)
	}
}

// deadlineStore records whether calls carried a deadline.
type deadlineStore struct {
	tokenstore.Store
	hadDeadline []bool
}

func (d *deadlineStore) Get(ctx context.Context, k tokenstore.Key) (tokenstore.Record, error) {
	_, ok := ctx.Deadline()
	d.hadDeadline = append(d.hadDeadline, ok)
	return d.Store.Get(ctx, k)
}

func TestDefaultTimeout(t *testing.T) {
	t.Parallel()
	store, _ := newSealed(t)
	ds := &deadlineStore{Store: store}
	c, _ := msalcache.New(ds, customer, msalcache.Options{})
	if err := c.Replace(context.Background(), &fakeMSAL{}, cache.ReplaceHints{PartitionKey: "p"}); err != nil {
		t.Fatal(err)
	}
	if len(ds.hadDeadline) != 1 || !ds.hadDeadline[0] {
		t.Errorf("Replace without a deadline reached the store with deadline %v, want one", ds.hadDeadline)
	}
}

// A partition row written unsealed (plaintext tokens planted past the
// keyring) is refused, and the in-memory cache is emptied.
func TestReplaceUnsealedRowRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, backend := newSealed(t)
	c, _ := msalcache.New(store, customer, msalcache.Options{})
	if err := c.Export(ctx, &fakeMSAL{data: []byte(`{"secret":"s"}`)}, cache.ExportHints{PartitionKey: "p"}); err != nil {
		t.Fatal(err)
	}
	recs, _ := backend.Scan(ctx, tokenstore.Key{}, 10)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	rec := recs[0]
	rec.Sealed, rec.Data = false, []byte(`{"RefreshToken":{"planted":{}}}`)
	if _, err := backend.Put(ctx, rec, rec.Version); err != nil {
		t.Fatal(err)
	}
	m := &fakeMSAL{data: []byte(`{"left":"over"}`)}
	if err := c.Replace(ctx, m, cache.ReplaceHints{PartitionKey: "p"}); !errors.Is(err, tokenstore.ErrNotSealed) {
		t.Fatalf("Replace of an unsealed row: %v, want ErrNotSealed", err)
	}
	if m.data != nil {
		t.Errorf("in-memory cache after the refusal: %q, want emptied", m.data)
	}
}
