package usersync_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/usersync"
)

const (
	providerID     = "0f0f0f0f-1111-2222-3333-555555555555"
	providerSecret = "provider-secret-for-usersync-tests"
	redirectURI    = "https://portal.example/m365/auth/callback"
	browserBinding = "cookie-hash"
)

// cloud is the fake Microsoft cloud with a Manager of token connections,
// reached through the real host names (the fake's transport dials them to
// the fake), as in production.
type cloud struct {
	srv   *m365test.Server
	store *tokenstore.SealedStore
	m     *m365access.Manager
}

func newCloud(t testing.TB) *cloud {
	t.Helper()
	// Access tokens live one minute: MSAL renews any token within five
	// minutes of expiry, so every GetToken redeems the refresh token and
	// a revocation shows at once.
	return newCloudLifetime(t, time.Minute)
}

// newCloudLifetime is newCloud with access tokens living lifetime.
func newCloudLifetime(t testing.TB, lifetime time.Duration) *cloud {
	t.Helper()
	return newCloudOptions(t, m365test.Options{AccessTokenLifetime: lifetime})
}

// newCloudOptions is newCloud on a fake started with opts.
func newCloudOptions(t testing.TB, opts m365test.Options) *cloud {
	t.Helper()
	srv := m365test.NewServer(&opts)
	t.Cleanup(srv.Close)
	_, err := srv.AddApp(m365test.AppOptions{
		ClientID: providerID, DisplayName: "Provider Portal",
		Secrets:      []m365test.Secret{{Value: providerSecret}},
		RedirectURIs: []string{redirectURI}, RequirePKCE: true,
		DelegatedPermissions:   m365access.DefaultScopes,
		ApplicationPermissions: m365access.DefaultAppPermissions,
	})
	require.NoError(t, err)
	key, err := tokenstore.GenerateKey("k1")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(key)
	require.NoError(t, err)
	c := &cloud{srv: srv, store: tokenstore.New(memstore.New(), kr)}
	c.restart(t)
	return c
}

// restart replaces the Manager by a new one on the same store, as after a
// process restart: nothing in memory, tokens only in the sealed MSAL cache.
func (c *cloud) restart(t testing.TB) {
	t.Helper()
	m, err := m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{ClientID: providerID, ClientSecret: providerSecret,
			PublicBaseURL: "https://portal.example/m365"},
		Store: c.store, Locker: c.store, HTTPClient: c.srv.Client(), Logger: discardLogger,
	})
	require.NoError(t, err)
	c.m = m
}

// connect adds a tenant with n users for customer, saves token-mode
// settings with filter and completes the token connection as the
// tenant's Global Admin.
func (c *cloud) connect(t testing.TB, customer string, n int, filter string) *m365test.Tenant {
	t.Helper()
	ctx := t.Context()
	tn, err := c.srv.AddTenant(m365test.TenantOptions{Domains: []string{customer + ".onmicrosoft.com"}, DisplayName: customer, Users: n})
	require.NoError(t, err)
	mode, tenant, admin := m365access.ModeToken, tn.Domain(), tn.AdminUPN()
	_, err = c.m.SaveSettings(ctx, customer, m365access.SettingsUpdate{Tenant: &tenant, Mode: &mode,
		ServiceAccount: &admin, UserFilter: &filter})
	require.NoError(t, err)
	res, err := c.m.Begin(ctx, customer, m365access.BeginOptions{BrowserBinding: browserBinding})
	require.NoError(t, err)
	c.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer c.srv.SetAuthorizeAnswer(nil)
	hc := c.srv.Client()
	hc.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := hc.Get(res.AuthorizeURL)
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err, "sign-in's redirect (status %d)", resp.StatusCode)
	require.True(t, strings.HasPrefix(loc.String(), redirectURI), "sign-in ended at %q (status %d), want the redirect URI", loc, resp.StatusCode)
	_, err = c.m.Complete(ctx, loc.Query().Get("state"), loc.Query().Get("code"), browserBinding)
	require.NoError(t, err)
	return tn
}

// syncer is a Syncer reading production Graph (graph.microsoft.com,
// dialled to the fake) with the Manager's credentials and filters.
func (c *cloud) syncer(t testing.TB, sink usersync.Sink, maxRetries int) *usersync.Syncer {
	t.Helper()
	src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), MaxRetries: maxRetries})
	require.NoError(t, err)
	return &usersync.Syncer{
		Source: src, Sink: sink, Concurrency: 3, Logger: discardLogger,
		Filters: c.m,
	}
}

// TestSyncM365 runs a sync of several customers against the fake cloud with real
// MSAL, m365access and msgraph-sdk-go's pipeline: three customers, one
// whose token was revoked and one throttled beyond the retries. The
// healthy one completes; the others are reported with their actions and
// keep every user of their previous sync.
func TestSyncM365(t *testing.T) {
	t.Parallel()
	c := newCloud(t)
	c.connect(t, "healthy", 2500, "UsageLocation -eq 'IT' -or UsageLocation -eq 'FR'")
	revoked := c.connect(t, "revoked", 1200, "")
	throttled := c.connect(t, "throttled", 2100, "Department -eq 'Sales'")
	customers := []string{"healthy", "revoked", "throttled"}
	want := map[string]int{"healthy": 500, "revoked": 1201, "throttled": 420} // the Global Admin is a user too

	sink := &usersync.MemorySink{}
	for _, r := range c.syncer(t, sink, 0).Sync(t.Context(), customers...) {
		require.NoError(t, r.Err, "first sync of %s", r.Customer)
		assert.Equal(t, want[r.Customer], r.Added, "first sync of %s: added", r.Customer)
		assert.Equal(t, want[r.Customer], sink.Len(r.Customer), "first sync of %s: stored", r.Customer)
	}
	for _, u := range sink.Users("healthy") {
		require.Contains(t, []string{"IT", "FR"}, u.UsageLocation, "healthy: stored a user outside the filter: %+v", u)
	}
	before := map[string][]usersync.User{}
	for _, cu := range customers {
		before[cu] = sink.Users(cu)
	}

	require.NoError(t, c.srv.RevokeSignInSessions(revoked.ID, revoked.AdminUPN()))
	// The Manager keeps access tokens in memory for half their life;
	// a new one has only the MSAL cache, whose one-minute tokens MSAL
	// renews, so the revoked refresh token is redeemed and refused.
	c.restart(t)
	remove := c.srv.InjectFault(m365test.Fault{Tenant: throttled.ID, Endpoint: m365test.EndpointUsers,
		Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	defer remove()

	results := c.syncer(t, sink, 1).Sync(t.Context(), customers...)
	r := results[0]
	assert.NoError(t, r.Err, "healthy")
	assert.Equal(t, 500, r.Unchanged, "healthy: unchanged")
	assert.Zero(t, r.Added+r.Changed+r.Removed, "healthy: added, changed and removed")
	var me *m365access.Error
	r = results[1]
	if assert.ErrorAs(t, r.Err, &me, "revoked") {
		assert.True(t, me.HasCode(50173), "revoked: err %v, want AADSTS50173", r.Err)
	}
	assert.Equal(t, m365access.ActionReInvite, r.Action, "revoked: action")
	r = results[2]
	if assert.ErrorAs(t, r.Err, &me, "throttled") {
		assert.Equal(t, http.StatusTooManyRequests, me.HTTPStatus, "throttled: HTTP status")
	}
	assert.Equal(t, m365access.ActionWaitAndRetry, r.Action, "throttled: action")
	for _, cu := range customers[1:] {
		assert.Equal(t, before[cu], sink.Users(cu), "%s: a failed sync changed the stored users", cu)
	}
}
