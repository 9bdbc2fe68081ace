package m365access

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

const (
	testRedirect = "https://portal.example/m365/auth/callback"
	testConsent  = "https://portal.example/m365/consent/callback"
	binding      = "cookie-hash-of-browser-1"
)

// env is a fake cloud with two tenants and the provider app, and a
// Manager pointed at it through the real cloud table (the fake's
// transport dials the real hosts to it).
type env struct {
	srv      *m365test.Server
	contoso  *m365test.Tenant
	fabrikam *m365test.Tenant
	store    *tokenstore.SealedStore
	backend  *memstore.Store
	m        *Manager
	logs     func() string
	events   *eventLog
	// consentWait is every manager's Config.ConsentWait.
	consentWait time.Duration
	// appPermissions is every manager's ProviderConfig.AppPermissions.
	appPermissions []string
}

type eventLog struct {
	mu sync.Mutex
	ev []Event
}

func (l *eventLog) add(e Event) { l.mu.Lock(); l.ev = append(l.ev, e); l.mu.Unlock() }
func (l *eventLog) last() (Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ev) == 0 {
		return Event{}, false
	}
	return l.ev[len(l.ev)-1], true
}

type envOptions struct {
	atLifetime time.Duration
	// replication is the fake's consent replication delay (zero: its
	// realistic default).
	replication time.Duration
	// consentWait is the Manager's Config.ConsentWait (zero: 300 ms, so
	// tests that meet a replicating grant stay quick).
	consentWait time.Duration
	// opaque makes the fake issue opaque (non-JWT) access tokens.
	opaque bool
	// appPermissions are the Managers' ProviderConfig.AppPermissions
	// (nil: User.Read.All and Organization.Read.All).
	appPermissions []string
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	srv := m365test.NewServer(&m365test.Options{AccessTokenLifetime: o.atLifetime, ConsentReplicationDelay: o.replication,
		OpaqueAccessTokens: o.opaque})
	t.Cleanup(srv.Close)
	e := &env{srv: srv, events: &eventLog{}, consentWait: o.consentWait, appPermissions: o.appPermissions}
	if e.appPermissions == nil {
		e.appPermissions = []string{"User.Read.All", "Organization.Read.All"}
	}
	if e.consentWait == 0 {
		e.consentWait = 300 * time.Millisecond
	}
	e.store, e.backend = sealedStore(t)
	var err error
	e.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com", "contoso.com"},
		DisplayName: "Contoso Ltd", Users: 20, MFAUsers: []string{"user00001@contoso.onmicrosoft.com"}})
	require.NoError(t, err)
	e.fabrikam, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"fabrikam.onmicrosoft.com"}, DisplayName: "Fabrikam", Users: 5})
	require.NoError(t, err)
	_, err = srv.AddApp(m365test.AppOptions{
		ClientID: testProviderID, DisplayName: "Provider Portal",
		Secrets:      []m365test.Secret{{Value: testProviderSecret}},
		RedirectURIs: []string{testRedirect, testConsent}, RequirePKCE: true, PublicClient: true,
		DelegatedPermissions:   []string{"User.Read", "User.Read.All", "TeamsUserConfiguration.Read.All"},
		ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", "TeamsUserConfiguration.Read.All"},
	})
	require.NoError(t, err)
	e.m, e.logs = e.manager(t)
	return e
}

// manager returns a new Manager on the env's store: another replica, or
// this one after a restart (nothing in memory).
func (e *env) manager(t testing.TB) (*Manager, func() string) {
	t.Helper()
	log, logs := newCapture()
	m, err := New(Config{
		Provider: ProviderConfig{ClientID: testProviderID, ClientSecret: testProviderSecret, PublicBaseURL: "https://portal.example/m365",
			AppPermissions: e.appPermissions},
		Store: e.store, Locker: e.store, HTTPClient: e.srv.Client(), Logger: log, OnEvent: e.events.add,
		ConsentWait: e.consentWait,
	})
	require.NoError(t, err)
	return m, logs
}

// follow GETs u with the fake's client, following redirects until one
// points at prefix, and returns that redirect's URL.
func (e *env) follow(t testing.TB, u, prefix string) *url.URL {
	t.Helper()
	c := e.srv.Client()
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), prefix) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "GET authorize: want a redirect")
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

// signIn runs Begin and the fake's sign-in, returning the callback query.
func (e *env) signIn(t testing.TB, m *Manager, customer string, ans m365test.AuthorizeAnswer, tamper func(string) string) url.Values {
	t.Helper()
	res, err := m.Begin(context.Background(), customer, BeginOptions{BrowserBinding: binding})
	require.NoError(t, err)
	u := res.AuthorizeURL
	if tamper != nil {
		u = tamper(u)
	}
	e.srv.SetAuthorizeAnswer(&ans)
	defer e.srv.SetAuthorizeAnswer(nil)
	return e.follow(t, u, testRedirect).Query()
}

// connect saves token-mode settings for customer and completes a token
// connection as the tenant's Global Admin.
func (e *env) connect(t testing.TB, customer string) *Connection {
	t.Helper()
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, customer, SettingsUpdate{Tenant: ptr("contoso.com"), Mode: ptr(ModeToken),
		ServiceAccount: ptr(e.contoso.AdminUPN())})
	require.NoError(t, err)
	q := e.signIn(t, e.m, customer, m365test.AuthorizeAnswer{AdminConsent: true}, nil)
	conn, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.NoError(t, err)
	return conn
}

// saveAppRegistration registers a customer app in contoso and saves
// app registration settings for it.
func (e *env) saveAppRegistration(t testing.TB, customer, clientID string, secret string, certPEM string, roles []string) {
	t.Helper()
	opts := m365test.AppOptions{ClientID: clientID, DisplayName: "Customer app", HomeTenant: e.contoso.ID, SingleTenant: true,
		ApplicationPermissions: roles}
	if secret != "" {
		opts.Secrets = []m365test.Secret{{Value: secret}}
	}
	if certPEM != "" {
		block, _ := pem.Decode([]byte(certPEM))
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		opts.Certificates = []*x509.Certificate{cert}
	}
	_, err := e.srv.AddApp(opts)
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, clientID))
	u := SettingsUpdate{Tenant: ptr(e.contoso.ID), Mode: ptr(ModeAppRegistration), AppClientID: ptr(clientID),
		ServiceAccount: ptr(e.contoso.AdminUPN())}
	if secret != "" {
		u.AppClientSecret = ptr(secret)
	}
	if certPEM != "" {
		u.AppCertificatePEM = ptr(certPEM)
	}
	_, err = e.m.SaveSettings(context.Background(), customer, u)
	require.NoError(t, err)
}

func graphScope() policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}
}

// graphStatus GETs a Graph path (relative to /v1.0) with tok and returns
// the status: what a token may do is Graph's answer, never its claims.
func (e *env) graphStatus(t testing.TB, tok, path string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://graph.microsoft.com/v1.0"+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}
