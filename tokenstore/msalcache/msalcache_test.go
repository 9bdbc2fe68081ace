package msalcache_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
			require.NoError(t, err)
			t.Cleanup(func() { b.Close() })
			prev = b
			return b
		}
	}},
}

func newProcess(t *testing.T, open func(t *testing.T) tokenstore.Backend) process {
	k, err := tokenstore.GenerateKey("k1")
	require.NoError(t, err)
	return process{open: open, keys: k.Encode()}
}

// start builds what a process builds at startup: backend, keyring from
// configuration, store, cache adapter and MSAL client.
func (p process) start(t *testing.T, fa *fakeAuthority) (confidential.Client, *tokenstore.SealedStore) {
	t.Helper()
	kr, err := tokenstore.ParseKeyring(p.keys)
	require.NoError(t, err)
	store := tokenstore.New(p.open(t), kr)
	c, err := msalcache.New(store, customer, msalcache.Options{})
	require.NoError(t, err)
	cred, err := confidential.NewCredFromSecret(clientSecret)
	require.NoError(t, err)
	client, err := confidential.New(fa.url()+"/organizations", clientID, cred,
		confidential.WithCache(c),
		confidential.WithHTTPClient(fa.srv.Client()),
		confidential.WithInstanceDiscovery(false),
	)
	require.NoError(t, err)
	return client, store
}

// rawContains reports whether any record in the backend holds s in clear.
func rawContains(t *testing.T, b tokenstore.Backend, s string) bool {
	t.Helper()
	recs, err := b.Scan(t.Context(), tokenstore.Key{}, 1000)
	require.NoError(t, err)
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
	require.NoError(t, err, "first acquisition")
	require.Equal(t, 1, fa.requests("client_credentials"), "token requests after the first acquisition")

	// Restart: new store, cache adapter and client on the same database
	// and keys.
	client2, store := p.start(t, fa)
	again, err := client2.AcquireTokenByCredential(ctx, []string{appScope}, confidential.WithTenantID(tenantA))
	require.NoError(t, err, "acquisition after restart")
	assert.Equal(t, 1, fa.requests("client_credentials"), "token requests after restart: want still 1 (served from the stored cache)")
	assert.Equal(t, first.AccessToken, again.AccessToken, "after restart: want the token from the cache")
	assert.Equal(t, confidential.TokenSourceCache, again.Metadata.TokenSource, "after restart: token source")
	assert.False(t, rawContains(t, store.Backend(), first.AccessToken), "the backend holds the access token in clear")
}

func TestPartitionsStaySeparate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fa := newFakeAuthority(t)
	p := newProcess(t, backends[0].new(t))
	client, store := p.start(t, fa)

	a, err := client.AcquireTokenByCredential(ctx, []string{appScope}, confidential.WithTenantID(tenantA))
	require.NoError(t, err)
	b, err := client.AcquireTokenByCredential(ctx, []string{appScope}, confidential.WithTenantID(tenantB))
	require.NoError(t, err)
	require.NotEqual(t, a.AccessToken, b.AccessToken, "tenants got the same token")
	require.Equal(t, 2, fa.requests("client_credentials"), "token requests for two tenants")

	// Each tenant's partition holds its own token and not the other's:
	// Replace must empty MSAL's in-memory cache on a miss.
	page, err := store.List(ctx, customer, msalcache.DefaultKind, tokenstore.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Records, 2, "partitions stored")
	for _, r := range page.Records {
		hasA := bytes.Contains(r.Data, []byte(a.AccessToken))
		hasB := bytes.Contains(r.Data, []byte(b.AccessToken))
		assert.NotEqual(t, hasA, hasB, "partition %s holds tenant A's token: %v, tenant B's: %v; want exactly one", r.Name, hasA, hasB)
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
	require.NoError(t, err, "code exchange")
	homeID := signIn.Account.HomeAccountID
	require.Equal(t, userOID+"."+tenantA, homeID, "home account ID")

	// Restart: the host kept only the home account ID.
	client2, _ := p.start(t, fa)
	acct, err := client2.Account(ctx, homeID)
	require.NoError(t, err, "Account(%q) after restart", homeID)
	require.Equal(t, homeID, acct.HomeAccountID, "Account(%q) after restart = %+v", homeID, acct)
	silent, err := client2.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(tenantA))
	require.NoError(t, err, "silent acquisition after restart")
	assert.Equal(t, signIn.AccessToken, silent.AccessToken, "after restart: want the cached token")
	assert.Zero(t, fa.requests("refresh_token"), "after restart: refreshes")

	// A scope without a cached access token makes MSAL redeem the stored
	// refresh token, which it never handed out: proof that it survived.
	other := []string{"https://graph.microsoft.com/Directory.Read.All"}
	refreshed, err := client2.AcquireTokenSilent(ctx, other, confidential.WithSilentAccount(acct), confidential.WithTenantID(tenantA))
	require.NoError(t, err, "refresh after restart")
	fa.mu.Lock()
	redeemed := append([]string(nil), fa.redeemed...)
	fa.mu.Unlock()
	require.Len(t, redeemed, 1, "refresh tokens redeemed: want the one from the sign-in")
	require.True(t, strings.HasPrefix(redeemed[0], "RT-"+tenantA), "refresh tokens redeemed: %q, want the one from the sign-in", redeemed)
	assert.NotEqual(t, signIn.AccessToken, refreshed.AccessToken, "refreshed token is the cached one")
	assert.Equal(t, confidential.TokenSourceIdentityProvider, refreshed.Metadata.TokenSource, "refreshed token's source")

	// Another restart: the rotated refresh token was exported too.
	client3, store3 := p.start(t, fa)
	acct3, err := client3.Account(ctx, homeID)
	require.NoError(t, err)
	third := []string{"https://graph.microsoft.com/Mail.Send"}
	_, err = client3.AcquireTokenSilent(ctx, third, confidential.WithSilentAccount(acct3), confidential.WithTenantID(tenantA))
	require.NoError(t, err, "second refresh after second restart")
	fa.mu.Lock()
	redeemed = append([]string(nil), fa.redeemed...)
	fa.mu.Unlock()
	if assert.Len(t, redeemed, 2, "refresh tokens redeemed: want the rotated one second") {
		assert.NotEqual(t, redeemed[0], redeemed[1], "refresh tokens redeemed: want the rotated one second")
	}
	for _, s := range append(redeemed, signIn.AccessToken, refreshed.AccessToken) {
		assert.False(t, rawContains(t, store3.Backend(), s), "the backend holds %q in clear", s)
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
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(k)
	require.NoError(t, err)
	b := memstore.New()
	return tokenstore.New(b, kr), b
}

func TestReplaceMissUnmarshalsEmptyCache(t *testing.T) {
	t.Parallel()
	store, _ := newSealed(t)
	c, err := msalcache.New(store, customer, msalcache.Options{})
	require.NoError(t, err)
	m := &fakeMSAL{data: []byte(`{"AccessToken":{"other-partition":{}}}`)}
	require.NoError(t, c.Replace(t.Context(), m, cache.ReplaceHints{PartitionKey: "p1"}))
	if assert.Len(t, m.unmarshaled, 1, "Unmarshal calls on a miss: want one with nil") {
		assert.Nil(t, m.unmarshaled[0], "Unmarshal calls on a miss: want one with nil")
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
	require.NoError(t, c1.Replace(ctx, m1, hints))
	require.NoError(t, c2.Replace(ctx, m2, hints))
	m2.data = []byte(`{"from":"replica 2"}`)
	require.NoError(t, c2.Export(ctx, m2, cache.ExportHints{PartitionKey: "p"}))
	// Replica 1 read before replica 2 wrote: its versioned write conflicts,
	// and it retries on the new version with its newer cache.
	m1.data = []byte(`{"from":"replica 1"}`)
	require.NoError(t, c1.Export(ctx, m1, cache.ExportHints{PartitionKey: "p"}), "Export after a concurrent write")
	m3 := &fakeMSAL{}
	c3, _ := msalcache.New(store, customer, msalcache.Options{})
	require.NoError(t, c3.Replace(ctx, m3, hints))
	assert.Equal(t, `{"from":"replica 1"}`, string(m3.data), "stored cache: want replica 1's")
	page, _ := store.List(ctx, customer, msalcache.DefaultKind, tokenstore.ListOptions{})
	if assert.Len(t, page.Records, 1, "records: want one sealed record at version 2") {
		assert.Equal(t, int64(2), page.Records[0].Version, "records %+v, want one sealed record at version 2", page.Records)
		assert.True(t, page.Records[0].Sealed, "records %+v, want one sealed record at version 2", page.Records)
	}
}

func TestReplaceUnreadableBlob(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, backend := newSealed(t)
	c, _ := msalcache.New(store, customer, msalcache.Options{})
	m := &fakeMSAL{data: []byte(`{"secret":"s"}`)}
	require.NoError(t, c.Export(ctx, m, cache.ExportHints{PartitionKey: "p"}))
	// Corrupt the stored blob.
	recs, _ := backend.Scan(ctx, tokenstore.Key{}, 10)
	require.Len(t, recs, 1, "records")
	rec := recs[0]
	rec.Data[len(rec.Data)-1] ^= 1
	_, err := backend.Put(ctx, rec, rec.Version)
	require.NoError(t, err)

	m2 := &fakeMSAL{data: []byte(`{"left":"over"}`)}
	err = c.Replace(ctx, m2, cache.ReplaceHints{PartitionKey: "p"})
	var oe *tokenstore.OpenError
	require.ErrorAs(t, err, &oe, "Replace of a tampered blob: want *tokenstore.OpenError (ErrTampered)")
	require.ErrorIs(t, err, tokenstore.ErrTampered, "Replace of a tampered blob")
	assert.Nil(t, m2.data, "in-memory cache after a failed Replace: want emptied")
	require.NoError(t, c.Delete(ctx, "p"))
	require.NoError(t, c.Replace(ctx, m2, cache.ReplaceHints{PartitionKey: "p"}), "Replace after Delete")
}

func TestNewRefusesUnsealedStores(t *testing.T) {
	t.Parallel()
	b := memstore.New()
	_, err := msalcache.New(b, customer, msalcache.Options{})
	assert.Error(t, err, "New accepted a raw backend")
	_, err = msalcache.New(tokenstore.New(b, nil), customer, msalcache.Options{})
	assert.ErrorIs(t, err, tokenstore.ErrNoKeyring, "New with a keyless store")
	store, _ := newSealed(t)
	_, err = msalcache.New(store, "", msalcache.Options{})
	assert.ErrorIs(t, err, tokenstore.ErrInvalid, "New with an empty customer")
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
	require.NoError(t, c.Replace(context.Background(), &fakeMSAL{}, cache.ReplaceHints{PartitionKey: "p"}))
	if assert.Len(t, ds.hadDeadline, 1, "Replace without a deadline: store calls") {
		assert.True(t, ds.hadDeadline[0], "Replace without a deadline reached the store without one")
	}
}

// A partition row written unsealed (plaintext tokens planted past the
// keyring) is refused, and the in-memory cache is emptied.
func TestReplaceUnsealedRowRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, backend := newSealed(t)
	c, _ := msalcache.New(store, customer, msalcache.Options{})
	require.NoError(t, c.Export(ctx, &fakeMSAL{data: []byte(`{"secret":"s"}`)}, cache.ExportHints{PartitionKey: "p"}))
	recs, _ := backend.Scan(ctx, tokenstore.Key{}, 10)
	require.Len(t, recs, 1, "records")
	rec := recs[0]
	rec.Sealed, rec.Data = false, []byte(`{"RefreshToken":{"planted":{}}}`)
	_, err := backend.Put(ctx, rec, rec.Version)
	require.NoError(t, err)
	m := &fakeMSAL{data: []byte(`{"left":"over"}`)}
	require.ErrorIs(t, c.Replace(ctx, m, cache.ReplaceHints{PartitionKey: "p"}), tokenstore.ErrNotSealed, "Replace of an unsealed row")
	assert.Nil(t, m.data, "in-memory cache after the refusal: want emptied")
}
