package usersync_test

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

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
	if _, err := srv.AddApp(m365test.AppOptions{
		ClientID: providerID, DisplayName: "Provider Portal",
		Secrets:      []m365test.Secret{{Value: providerSecret}},
		RedirectURIs: []string{redirectURI}, RequirePKCE: true,
		DelegatedPermissions:   m365access.DefaultScopes,
		ApplicationPermissions: m365access.DefaultAppPermissions,
	}); err != nil {
		t.Fatal(err)
	}
	key, err := tokenstore.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := tokenstore.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	c.m = m
}

// connect adds a tenant with n users for customer, saves token-mode
// settings with filter and completes the token connection as the
// tenant's Global Admin.
func (c *cloud) connect(t testing.TB, customer string, n int, filter string) *m365test.Tenant {
	t.Helper()
	ctx := t.Context()
	tn, err := c.srv.AddTenant(m365test.TenantOptions{Domains: []string{customer + ".onmicrosoft.com"}, DisplayName: customer, Users: n})
	if err != nil {
		t.Fatal(err)
	}
	mode, tenant, admin := m365access.ModeToken, tn.Domain(), tn.AdminUPN()
	if _, err := c.m.SaveSettings(ctx, customer, m365access.SettingsUpdate{Tenant: &tenant, Mode: &mode,
		ServiceAccount: &admin, UserFilter: &filter}); err != nil {
		t.Fatal(err)
	}
	res, err := c.m.Begin(ctx, customer, m365access.BeginOptions{BrowserBinding: browserBinding})
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI) {
		t.Fatalf("sign-in ended at %q (status %d), want the redirect URI", loc, resp.StatusCode)
	}
	if _, err := c.m.Complete(ctx, loc.Query().Get("state"), loc.Query().Get("code"), browserBinding); err != nil {
		t.Fatal(err)
	}
	return tn
}

// syncer is a Syncer reading production Graph (graph.microsoft.com,
// dialled to the fake) with the Manager's credentials and filters.
func (c *cloud) syncer(t testing.TB, sink usersync.Sink, maxRetries int) *usersync.Syncer {
	t.Helper()
	src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), MaxRetries: maxRetries})
	if err != nil {
		t.Fatal(err)
	}
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
		if r.Err != nil {
			t.Fatalf("first sync of %s: %v", r.Customer, r.Err)
		}
		if r.Added != want[r.Customer] || sink.Len(r.Customer) != want[r.Customer] {
			t.Errorf("first sync of %s: added %d, stored %d; want %d", r.Customer, r.Added, sink.Len(r.Customer), want[r.Customer])
		}
	}
	for _, u := range sink.Users("healthy") {
		if u.UsageLocation != "IT" && u.UsageLocation != "FR" {
			t.Fatalf("healthy: stored a user outside the filter: %+v", u)
		}
	}
	before := map[string][]usersync.User{}
	for _, cu := range customers {
		before[cu] = sink.Users(cu)
	}

	if err := c.srv.RevokeSignInSessions(revoked.ID, revoked.AdminUPN()); err != nil {
		t.Fatal(err)
	}
	// The Manager keeps access tokens in memory for half their life;
	// a new one has only the MSAL cache, whose one-minute tokens MSAL
	// renews, so the revoked refresh token is redeemed and refused.
	c.restart(t)
	remove := c.srv.InjectFault(m365test.Fault{Tenant: throttled.ID, Endpoint: m365test.EndpointUsers,
		Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	defer remove()

	results := c.syncer(t, sink, 1).Sync(t.Context(), customers...)
	if r := results[0]; r.Err != nil || r.Unchanged != 500 || r.Added+r.Changed+r.Removed != 0 {
		t.Errorf("healthy: %+v, err %v; want 500 unchanged", r.Counts, r.Err)
	}
	var me *m365access.Error
	if r := results[1]; !errors.As(r.Err, &me) || !me.HasCode(50173) || r.Action != m365access.ActionReInvite {
		t.Errorf("revoked: err %v, action %q; want AADSTS50173 with action %q", r.Err, r.Action, m365access.ActionReInvite)
	}
	if r := results[2]; !errors.As(r.Err, &me) || me.HTTPStatus != http.StatusTooManyRequests || r.Action != m365access.ActionWaitAndRetry {
		t.Errorf("throttled: err %v, action %q; want 429 with action %q", r.Err, r.Action, m365access.ActionWaitAndRetry)
	}
	for _, cu := range customers[1:] {
		if got := sink.Users(cu); !reflect.DeepEqual(got, before[cu]) {
			t.Errorf("%s: a failed sync changed the stored users (%d -> %d)", cu, len(before[cu]), len(got))
		}
	}
}
