package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// do sends a request and returns the response with its body read.
func do(t testing.TB, c *http.Client, method, u, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, rd)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func noRedirect() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestAdminAuthentication(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir(), "-demo-users", "10")
	c := noRedirect()
	settings := d.base + "/api/customers/contoso/m365"

	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}, {"Authorization": "Basic " + d.token}} {
		resp, _ := do(t, c, "GET", settings, "", h)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "GET settings with %v", h)
	}
	resp, body := do(t, c, "GET", d.base+"/dev/outbox", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "GET /dev/outbox without token: %s", body)
	assert.NotContains(t, body, "/invite/", "GET /dev/outbox without token")
	resp, body = do(t, c, "GET", settings, "", map[string]string{"Authorization": "Bearer " + d.token})
	assert.Equal(t, http.StatusOK, resp.StatusCode, "GET settings with token: %s", body)
	assert.Contains(t, body, `"serviceAccount":"admin@contoso.onmicrosoft.com"`, "GET settings with token")
	assert.Contains(t, body, `"authMode":"token"`, "GET settings with token")

	// The portal: login page, wrong token, right token, session cookie.
	resp, _ = do(t, c, "GET", d.base+"/", "", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "GET / without session")
	require.Equal(t, "/login", resp.Header.Get("Location"), "GET / without session")
	resp, body = do(t, c, "GET", d.base+"/login", "", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'self'", "login page CSP")
	assert.NotContains(t, csp, "unsafe", "login page CSP")
	assert.Contains(t, csp, "frame-ancestors 'none'", "login page CSP")
	assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"), "login page X-Frame-Options")
	assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"), "login page Referrer-Policy")
	assert.Contains(t, body, `name="token"`, "login page")
	form := "application/x-www-form-urlencoded"
	resp, body = do(t, c, "POST", d.base+"/login", "token=nope", map[string]string{"Content-Type": form})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "wrong token")
	assert.Contains(t, body, "not the admin token", "wrong token")
	assert.Empty(t, resp.Cookies(), "wrong token: cookies")
	resp, _ = do(t, c, "POST", d.base+"/login", "token="+url.QueryEscape(d.token)+"&next=https://evil.example/", map[string]string{"Content-Type": form})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "login")
	require.Equal(t, "/", resp.Header.Get("Location"), "login: never an outside next")
	ck := resp.Cookies()
	require.Len(t, ck, 1, "session cookie")
	require.True(t, ck[0].HttpOnly, "session cookie HttpOnly")
	require.Equal(t, http.SameSiteStrictMode, ck[0].SameSite, "session cookie SameSite")
	require.NotEqual(t, d.token, ck[0].Value, "session cookie value is not the token")
	require.Equal(t, "/", ck[0].Path, "session cookie path")
	resp, body = do(t, c, "GET", d.base+"/", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "GET / with session")
	assert.Contains(t, body, "Save Microsoft 365 settings", "GET / with session")
	resp, _ = do(t, c, "GET", settings, "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "API with session cookie")
	// A cross-site request carrying the cookie is refused.
	resp, _ = do(t, c, "POST", settings+"/validate", "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "cross-site POST with session")
	resp, _ = do(t, c, "POST", d.base+"/logout", "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "cross-site logout")
	// Static assets: the script and style sheet only.
	resp, _ = do(t, c, "GET", d.base+"/static/app.js", "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "app.js")
	assert.Contains(t, resp.Header.Get("Content-Type"), "javascript", "app.js")
	resp, _ = do(t, c, "GET", d.base+"/static/index.html", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "template served as a file")
	// Logout ends the session.
	resp, _ = do(t, c, "POST", d.base+"/logout", "", nil)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "logout")
	resp, _ = do(t, c, "GET", settings, "", map[string]string{"Cookie": ck[0].Name + "=" + ck[0].Value})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "API with an ended session")
}

// syncBuffer is an io.Writer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	portalLine = regexp.MustCompile(`Portal:\s+(http://\S+)/`)
	tokenLine  = regexp.MustCompile(`Admin API token:\s+(\S+)`)
)

// runDemo runs run() as main does, until stop is called; it returns the
// portal URL and admin token from the banner.
func runDemo(t *testing.T, dir string) (base, token string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", dir, "-demo-users", "100", "-log-level", "error"}, &out)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := portalLine.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			require.FailNow(t, "run ended early", "%v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			require.FailNow(t, "no banner after 30 s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := tokenLine.FindStringSubmatch(out.String())
	if m == nil {
		cancel()
		require.FailNow(t, "banner has no admin token", out.String())
	}
	if len(m[1]) < minAdminTokenLen {
		cancel()
		require.FailNow(t, "banner's admin token is too short", "%q\n%s", m[1], out.String())
	}
	return base, m[1], func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "run after Ctrl-C")
		case <-time.After(20 * time.Second):
			assert.Fail(t, "run did not stop within 20 s of cancellation")
		}
	}
}

// TestRunRestart starts the demo with run, changes a setting, stops it as
// Ctrl-C does and starts it again on the same data directory: it comes up,
// keeps the setting and the sealing key, and prints a new random token.
func TestRunRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base, token, stop := runDemo(t, dir)
	auth := map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
	c := noRedirect()
	resp, body := do(t, c, "PUT", base+"/api/customers/contoso/m365", `{"userFilter":"Department -eq 'Sales'"}`, auth)
	require.Equal(t, http.StatusOK, resp.StatusCode, "PUT settings: %s", body)
	keyFile := filepath.Join(dir, "sealing-keys")
	key1, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	fi, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "sealing key file mode")
	stop()
	// Every file of the data directory (databases, their WAL and shared
	// memory files, the job database) is readable by its owner only.
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, f := range files {
		if fi, err := f.Info(); err == nil && fi.Mode().IsRegular() {
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mode of %s", f.Name())
		}
	}

	base2, token2, stop2 := runDemo(t, dir)
	defer stop2()
	assert.NotEqual(t, token, token2, "the random admin token did not change on restart")
	auth["Authorization"] = "Bearer " + token2
	resp, body = do(t, c, "GET", base2+"/api/customers/contoso/m365", "", auth)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "settings after restart: %s", body)
	assert.Contains(t, body, `"userFilter":"Department -eq 'Sales'"`, "settings after restart")
	assert.Contains(t, body, `"version":2`, "settings after restart")
	key2, _ := os.ReadFile(keyFile)
	assert.Equal(t, string(key1), string(key2), "the sealing key changed on restart")
	// The old process is gone; the old token does not work on the new one.
	resp, _ = do(t, c, "GET", base2+"/api/customers/contoso/m365", "", map[string]string{"Authorization": "Bearer " + token})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "old token on the new process")
	// The database holds no plaintext secret: save one and look at the file.
	resp, body = do(t, c, "PUT", base2+"/api/customers/contoso/m365/qoe",
		`{"appId":"11111111-2222-3333-4444-555555555555","clientSecret":"qoe-secret-canary-0123456789"}`, auth)
	require.Equal(t, http.StatusOK, resp.StatusCode, "PUT qoe: %s", body)
	for _, name := range []string{"tenantgate.db", "tenantgate.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) && name != "tenantgate.db" {
			continue // the WAL was checkpointed away
		}
		require.NoError(t, err)
		assert.NotContains(t, string(b), "qoe-secret-canary", "%s holds the QoE secret in clear", name)
	}
}

// TestProductionModeOnPostgres starts production mode on PostgreSQL (in a
// schema of its own) with a real provider configuration: it serves the
// admin API, keeps secrets sealed in the database and has no demo routes.
func TestProductionModeOnPostgres(t *testing.T) {
	t.Parallel()
	a, db, schema := startOnPostgres(t)
	cfg := a.cfg
	base := "http://" + a.ln.Addr().String()
	c := noRedirect()
	auth := map[string]string{"Authorization": "Bearer " + cfg.AdminToken, "Content-Type": "application/json"}
	resp, body := do(t, c, "PUT", base+"/api/customers/fabrikam/m365",
		`{"tenant":"fabrikam.onmicrosoft.com","authMode":"appRegistration","serviceAccount":"admin@fabrikam.onmicrosoft.com",`+
			`"clientId":"22222222-3333-4444-5555-666666666666","clientSecret":"customer-secret-canary-0123456789"}`, auth)
	require.Equal(t, http.StatusOK, resp.StatusCode, "PUT settings: %s", body)
	require.Contains(t, body, `"clientSecretSet":true`, "PUT settings")
	require.NotContains(t, body, "canary", "PUT settings")
	var n int
	err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+schema+".tokenstore_records WHERE customer = 'fabrikam'").Scan(&n)
	require.NoError(t, err, "records of fabrikam in PostgreSQL")
	require.NotZero(t, n, "records of fabrikam in PostgreSQL")
	var leaks int
	err = db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+schema+".tokenstore_records WHERE position('canary' in encode(data, 'escape')) > 0").Scan(&leaks)
	require.NoError(t, err)
	assert.Zero(t, leaks, "records holding the client secret in clear")
	for _, path := range []string{"/outbox", "/dev/outbox"} {
		resp, _ := do(t, c, "GET", base+path, "", auth)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "GET %s in production", path)
	}
	// The wizard's cookies and the portal session are Secure: the public URL is https.
	resp, _ = do(t, c, "POST", base+"/login", "token="+url.QueryEscape(cfg.AdminToken), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if ck := resp.Cookies(); assert.Len(t, ck, 1, "production session cookie") {
		assert.True(t, ck[0].Secure, "production session cookie Secure")
		assert.Equal(t, "__Host-tenantgate_admin", ck[0].Name, "production session cookie name")
	}
}

// startOnPostgres starts production mode on PostgreSQL in a schema of its
// own (skipping without TENANTGATE_TEST_POSTGRES); it returns the app, a
// database handle whose search_path is that schema, and the schema.
func startOnPostgres(t *testing.T) (*app, *sql.DB, string) {
	t.Helper()
	dsn := os.Getenv("TENANTGATE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("set TENANTGATE_TEST_POSTGRES=postgres://... to run the production mode test")
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	schema := "tg_examples_server_" + strings.ToLower(randomToken(6))
	schema = strings.NewReplacer("-", "_").Replace(schema)
	_, err = db.ExecContext(t.Context(), "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	e := prodEnv()
	e["TENANTGATE_POSTGRES_DSN"] = u.String()
	e["TENANTGATE_SMTP_HOST"] = "127.0.0.1"
	e["TENANTGATE_SMTP_SECURITY"] = "insecure"
	e["TENANTGATE_ADDR"] = "127.0.0.1:0"
	cfg, err := parseConfig(nil, env(e), io.Discard)
	require.NoError(t, err)
	a, err := start(t.Context(), cfg, hooks{logger: discardLogger()})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, a.shutdown(ctx), "shutdown")
	})
	return a, db, schema
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// connectWithoutBrowser walks the wizard with a plain HTTP client: the
// fake answers the sign-in at once with Accept.
func connectWithoutBrowser(t testing.TB, d *demo) string {
	t.Helper()
	link := d.invite(t)
	jar, _ := cookiejar.New(nil)
	acceptInvitation(t, d, &http.Client{Jar: jar}, link)
	return link
}

// acceptInvitation opens the invitation link with c and signs in, the fake
// answering the sign-in at once with Accept: the customer is connected.
func acceptInvitation(t testing.TB, d *demo, c *http.Client, link string) {
	t.Helper()
	d.a.fake.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{})
	defer d.a.fake.SetAuthorizeAnswer(nil)
	resp, body := do(t, c, "GET", link, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the invitation's landing page")
	require.Contains(t, body, "Sign in with Microsoft", "the invitation's landing page")
	resp, body = do(t, c, "POST", link+"/start", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "sign-in: %s", body)
	require.Contains(t, body, "Connected", "sign-in")
}

// TestRestartConnected restarts a connected demo on the same data
// directory: the server comes up, the connection still validates (the
// fake's signing key is kept, the access token still verifies), and a new
// invitation connects again.
func TestRestartConnected(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDemo(t, dir, "-demo-users", "20")
	connectWithoutBrowser(t, d)
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Action string `json:"action"`
		} `json:"checks"`
	}
	d.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &rep)
	require.True(t, rep.OK, "validate before restart: %+v", rep)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, d.a.shutdown(ctx))

	d2 := startDemo(t, dir, "-demo-users", "20")
	d2.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &rep)
	require.True(t, rep.OK, "validate after restart: %+v", rep)
	connectWithoutBrowser(t, d2)
	d2.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &rep)
	assert.True(t, rep.OK, "validate after re-invitation: %+v", rep)
}
