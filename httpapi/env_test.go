package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/filter"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
	"github.com/tenantgate/tenantgate/voice"
)

const (
	testPublic         = "https://portal.example/m365"
	testProviderID     = "0f0f0f0f-1111-2222-3333-444444444444"
	testProviderSecret = "provider-secret-VALUE-0123456789"
	// The admin tokens of the test authorizer.
	tokenA   = "admin-of-a"
	tokenB   = "admin-of-b"
	tokenAll = "admin-of-all"
)

// logBuffer collects log output for secret checks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// env is the whole stack on real packages: the m365test fake cloud with the
// tenant contoso (120 users) and fabrikam (10 users), an m365access
// Manager, an invite Service with an outbox, a SQLite user sink, a Syncer
// reading the fake's Graph through msgraph-sdk-go's pipeline, and the
// handlers mounted under /m365 of https://portal.example.
type env struct {
	handler  *Handler // the handler e.h serves
	srv      *m365test.Server
	contoso  *m365test.Tenant
	fabrikam *m365test.Tenant
	store    *tokenstore.SealedStore
	m        *m365access.Manager
	inv      *invite.Service
	outbox   *outbox.Outbox
	sink     *sqlsink.Sink
	fleet    *fleet.Fleet
	audit    *audit.Log
	bus      *events.Bus
	cfg      Config
	h        http.Handler
	logs     *logBuffer
	clock    *testClock
	qoe      *qoe.Service
	voice    *voice.Service
}

// testClock is the invitations' clock, moved by tests.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// testAuthorizer admits tokenAll everywhere, tokenA for customer "a",
// tokenB for customer "b" (and both for the OpenAPI document).
func testAuthorizer() Authorizer {
	return AuthorizerFunc(func(_ context.Context, r *http.Request, customer string, op Operation) error {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case !ok:
			return ErrUnauthenticated
		case tok == tokenAll:
			return nil
		case tok == tokenA && (customer == "a" || op == OpReadAPIDocs):
			return nil
		case tok == tokenB && (customer == "b" || op == OpReadAPIDocs):
			return nil
		case tok == tokenA || tok == tokenB:
			return errors.New("not this customer")
		}
		return ErrUnauthenticated
	})
}

// newTestFleet starts a fleet on SQLite for e, stopped at cleanup. Its
// planner waits an hour, so only requested jobs run.
func newTestFleet(t testing.TB, e *env, sy *usersync.Syncer, log *slog.Logger) *fleet.Fleet {
	t.Helper()
	f, err := fleet.New(context.Background(), fleet.Config{
		SQLitePath: filepath.Join(t.TempDir(), "river.db"), Access: e.m, Store: e.store,
		Syncer: sy, Users: e.sink, Invitations: e.inv, PlanInterval: time.Hour, SyncHeartbeat: 50 * time.Millisecond, Logger: log,
		Plugins: []fleet.Plugin{e.voice},
	})
	require.NoError(t, err)
	require.NoError(t, f.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.Stop(ctx)
	})
	return f
}

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	return newEnvAt(t, testPublic, mod)
}

// scopesWith is the default delegated scopes plus extra, or nil (the
// default) without extras.
func scopesWith(extra []string) []string {
	if len(extra) == 0 {
		return nil
	}
	return append(slices.Clone(m365access.DefaultScopes), extra...)
}

// newVoiceEnv is newEnv whose provider app also asks for (and is granted)
// the Teams Phone provisioning permissions.
func newVoiceEnv(t testing.TB) *env {
	t.Helper()
	return newEnvAt(t, testPublic, nil, append([]string{m365access.TeamsPermission}, voice.Permissions...)...)
}

// newEnvAt is newEnv with the public base URL public: the Manager's and
// the invite Service's.
func newEnvAt(t testing.TB, public string, mod func(*Config), extraPerms ...string) *env {
	t.Helper()
	srv := m365test.NewServer(nil)
	t.Cleanup(srv.Close)
	e := &env{srv: srv, logs: &logBuffer{}, clock: &testClock{}}
	var err error
	e.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd", Users: 120})
	require.NoError(t, err)
	e.fabrikam, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"fabrikam.onmicrosoft.com"}, DisplayName: "Fabrikam", Users: 10})
	require.NoError(t, err)
	_, err = srv.AddApp(m365test.AppOptions{
		ClientID: testProviderID, DisplayName: "Provider Portal",
		Secrets:      []m365test.Secret{{Value: testProviderSecret}},
		RedirectURIs: []string{strings.TrimSuffix(public, "/") + "/auth/callback", strings.TrimSuffix(public, "/") + "/consent/callback"}, RequirePKCE: true,
		DelegatedPermissions:   append([]string{"User.Read", "User.Read.All"}, extraPerms...),
		ApplicationPermissions: append([]string{"User.Read.All"}, extraPerms...),
	})
	require.NoError(t, err)
	key, err := tokenstore.GenerateKey("k1")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(key)
	require.NoError(t, err)
	e.store = tokenstore.New(memstore.New(), kr)
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := testdb.SQLite(t)
	e.audit, err = audit.New(context.Background(), audit.Options{DB: db.DB, Dialect: db.Dialect, Logger: log})
	require.NoError(t, err)
	e.bus, err = events.New(context.Background(), events.Options{DB: db.DB, Dialect: db.Dialect, Logger: log})
	require.NoError(t, err)
	e.m, err = m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{ClientID: testProviderID, ClientSecret: testProviderSecret,
			PublicBaseURL: public, AppPermissions: []string{"User.Read.All"}, Scopes: scopesWith(extraPerms)},
		Store: e.store, Locker: e.store, HTTPClient: srv.Client(), Logger: log,
		ValidateFilter: func(f string) error { _, err := filter.Compile(f); return err },
		ConsentWait:    200 * time.Millisecond,
		OnEvent:        e.bus.OnConnection,
	})
	require.NoError(t, err)
	e.outbox = outbox.New(outbox.Options{})
	e.inv, err = invite.New(invite.Options{Store: e.store, Mailer: e.outbox, PublicBaseURL: public, Now: e.clock.Now, Logger: log,
		RateLimits: invite.RateLimits{PerCustomer: invite.Limit{Count: -1}, PerRecipient: invite.Limit{Count: -1}}})
	require.NoError(t, err)
	e.sink, err = sqlsink.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "users.db"))
	require.NoError(t, err)
	t.Cleanup(func() { e.sink.Close() })
	src, err := usersync.NewGraphSource(e.m, usersync.GraphOptions{Transport: srv.Transport(), PageSize: 50})
	require.NoError(t, err)
	vstore, err := voice.NewStore(context.Background(), db.DB, db.Dialect)
	require.NoError(t, err)
	e.voice, err = voice.New(voice.Config{Access: e.m, Store: vstore, HTTPClient: srv.Client(), Audit: e.audit, Events: e.bus, Logger: log,
		PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	e.fleet = newTestFleet(t, e, &usersync.Syncer{Source: src, Sink: e.sink, Logger: log}, log)
	qstore, err := qoe.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "qoe.db"))
	require.NoError(t, err)
	t.Cleanup(func() { qstore.Close() })
	e.qoe, err = qoe.New(qoe.Config{Access: e.m, Store: qstore, HTTPClient: srv.Client(), NotificationURL: testPublic + "/qoe/notifications", Logger: log})
	require.NoError(t, err)
	e.cfg = Config{
		Authorizer: testAuthorizer(), Access: e.m, Invitations: e.inv, Store: e.store, QoE: e.qoe, Voice: e.voice,
		Fleet: e.fleet, Users: e.sink, Audit: e.audit, Events: e.bus,
		SignInOrigins: []string{srv.BrowserURL()},
		ProviderName:  "Example MSP", Logger: log,
	}
	if mod != nil {
		mod(&e.cfg)
	}
	h, err := New(e.cfg)
	require.NoError(t, err)
	e.handler = h
	e.h = http.StripPrefix("/m365", h)
	return e
}

// do sends an admin API request as the admin with token tok ("" for none).
func (e *env) do(t testing.TB, method, path, tok string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	r := httptest.NewRequest(method, testPublic+path, rd)
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// decode reads a JSON response into v, failing on the wrong status.
func decode[T any](t testing.TB, w *httptest.ResponseRecorder, status int) T {
	t.Helper()
	var v T
	require.Equal(t, status, w.Code, "status: %s", w.Body.String())
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), "decoding %s", w.Body.String())
	return v
}

// problemOf decodes a problem response, checking status and content type.
func problemOf(t testing.TB, w *httptest.ResponseRecorder, status int) Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"), "Content-Type (status %d: %s)", w.Code, w.Body.String())
	return decode[Problem](t, w, status)
}

// saveToken saves token-mode settings of customer for a tenant.
func (e *env) saveToken(t testing.TB, customer string, tenant *m365test.Tenant) {
	t.Helper()
	w := e.do(t, "PUT", "/customers/"+customer+"/m365", tokenAll, map[string]any{
		"tenant": tenant.Domain(), "authMode": "token", "serviceAccount": tenant.AdminUPN(),
	})
	decode[settingsJSON](t, w, http.StatusOK)
}

// browser is a minimal browser: a cookie jar and a loop that follows
// redirects, sending requests for the portal to the handler and the rest
// to the fake cloud.
type browser struct {
	e   *env
	jar *cookiejar.Jar
	// last is the final response; hops are the responses on the way.
	hops []*http.Response
}

func (e *env) newBrowser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{e: e, jar: jar}
}

// open navigates with method to u and follows redirects; it returns the
// final response with its body read.
func (b *browser) open(t testing.TB, method, u string) (*http.Response, string) {
	t.Helper()
	b.hops = nil
	for range 10 {
		req, err := http.NewRequest(method, u, nil)
		require.NoError(t, err)
		// A same-origin form POST or top-level navigation, as a browser
		// labels it.
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if method == "GET" {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		for _, c := range b.jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		var resp *http.Response
		if strings.HasPrefix(u, testPublic+"/") {
			w := httptest.NewRecorder()
			b.e.h.ServeHTTP(w, req)
			resp = w.Result()
		} else {
			c := b.e.srv.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err = c.Do(req)
			require.NoError(t, err)
		}
		b.jar.SetCookies(req.URL, resp.Cookies())
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.hops = append(b.hops, resp)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			return resp, string(body)
		}
		next, err := req.URL.Parse(loc)
		require.NoError(t, err)
		u, method = next.String(), "GET"
	}
	require.FailNow(t, "too many redirects")
	return nil, ""
}

// linkFrom returns the invitation link of the newest outbox message to
// addr.
func (e *env) linkFrom(t testing.TB, addr string) string {
	t.Helper()
	msgs := e.outbox.To(addr)
	require.NotEmpty(t, msgs, "no mail to %s", addr)
	i := strings.Index(msgs[0].Message.Text, testPublic+"/invite/")
	require.GreaterOrEqual(t, i, 0, "no link in mail: %s", msgs[0].Message.Text)
	link := msgs[0].Message.Text[i:]
	if j := strings.IndexAny(link, " \r\n>\""); j >= 0 {
		link = link[:j]
	}
	_, err := url.Parse(link)
	require.NoError(t, err)
	return link
}
