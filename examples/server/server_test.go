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
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func noRedirect() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestAdminAuthentication(t *testing.T) {
	d := startDemo(t, t.TempDir(), "-demo-users", "10")
	c := noRedirect()
	settings := d.base + "/api/customers/contoso/m365"

	for _, h := range []map[string]string{nil, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}, {"Authorization": "Basic " + d.token}} {
		if resp, _ := do(t, c, "GET", settings, "", h); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET settings with %v: %d, want 401", h, resp.StatusCode)
		}
	}
	if resp, body := do(t, c, "GET", d.base+"/dev/outbox", "", nil); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "/invite/") {
		t.Errorf("GET /dev/outbox without token: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, c, "GET", settings, "", map[string]string{"Authorization": "Bearer " + d.token}); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `"serviceAccount":"admin@contoso.onmicrosoft.com"`) || !strings.Contains(body, `"authMode":"token"`) {
		t.Errorf("GET settings with token: %d %s", resp.StatusCode, body)
	}

	// The portal: login page, wrong token, right token, session cookie.
	resp, _ := do(t, c, "GET", d.base+"/", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("GET / without session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := do(t, c, "GET", d.base+"/login", "", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(body, `name="token"`) {
		t.Errorf("login page headers %v", resp.Header)
	}
	form := "application/x-www-form-urlencoded"
	resp, body = do(t, c, "POST", d.base+"/login", "token=nope", map[string]string{"Content-Type": form})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not the admin token") || len(resp.Cookies()) != 0 {
		t.Errorf("wrong token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp, _ = do(t, c, "POST", d.base+"/login", "token="+url.QueryEscape(d.token)+"&next=https://evil.example/", map[string]string{"Content-Type": form})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to / (never an outside next)", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Value == d.token || ck[0].Path != "/" {
		t.Fatalf("session cookie = %+v", ck)
	}
	if resp, body := do(t, c, "GET", d.base+"/", "", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Save Microsoft 365 settings") {
		t.Errorf("GET / with session: %d", resp.StatusCode)
	}
	if resp, _ := do(t, c, "GET", settings, "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("API with session cookie: %d", resp.StatusCode)
	}
	// A cross-site request carrying the cookie is refused.
	if resp, _ := do(t, c, "POST", settings+"/validate", "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST with session: %d, want 403", resp.StatusCode)
	}
	if resp, _ := do(t, c, "POST", d.base+"/logout", "", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout: %d, want 403", resp.StatusCode)
	}
	// Static assets: the script and style sheet only.
	if resp, _ := do(t, c, "GET", d.base+"/static/app.js", "", nil); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("app.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := do(t, c, "GET", d.base+"/static/index.html", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("template served as a file: %d", resp.StatusCode)
	}
	// Logout ends the session.
	if resp, _ := do(t, c, "POST", d.base+"/logout", "", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ := do(t, c, "GET", settings, "", map[string]string{"Cookie": ck[0].Name + "=" + ck[0].Value}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with an ended session: %d, want 401", resp.StatusCode)
	}
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
			t.Fatalf("run ended early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no banner after 30 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := tokenLine.FindStringSubmatch(out.String())
	if m == nil || len(m[1]) < minAdminTokenLen {
		cancel()
		t.Fatalf("banner has no admin token:\n%s", out.String())
	}
	return base, m[1], func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run after Ctrl-C: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("run did not stop within 20 s of cancellation")
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
	if resp, body := do(t, c, "PUT", base+"/api/customers/contoso/m365", `{"userFilter":"Department -eq 'Sales'"}`, auth); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT settings: %d %s", resp.StatusCode, body)
	}
	keyFile := filepath.Join(dir, "sealing-keys")
	key1, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("sealing key file mode %v, want 0600", fi.Mode().Perm())
	}
	stop()
	// Every file of the data directory (databases, their WAL and shared
	// memory files, the job database) is readable by its owner only.
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if fi, err := f.Info(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f.Name(), fi.Mode().Perm())
		}
	}

	base2, token2, stop2 := runDemo(t, dir)
	defer stop2()
	if token2 == token {
		t.Error("the random admin token did not change on restart")
	}
	auth["Authorization"] = "Bearer " + token2
	resp, body := do(t, c, "GET", base2+"/api/customers/contoso/m365", "", auth)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"userFilter":"Department -eq 'Sales'"`) || !strings.Contains(body, `"version":2`) {
		t.Errorf("settings after restart: %d %s", resp.StatusCode, body)
	}
	if key2, _ := os.ReadFile(keyFile); string(key2) != string(key1) {
		t.Error("the sealing key changed on restart")
	}
	// The old process is gone; the old token does not work on the new one.
	if resp, _ := do(t, c, "GET", base2+"/api/customers/contoso/m365", "", map[string]string{"Authorization": "Bearer " + token}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old token on the new process: %d", resp.StatusCode)
	}
	// The database holds no plaintext secret: save one and look at the file.
	if resp, body := do(t, c, "PUT", base2+"/api/customers/contoso/m365/qoe",
		`{"appId":"11111111-2222-3333-4444-555555555555","clientSecret":"qoe-secret-canary-0123456789"}`, auth); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT qoe: %d %s", resp.StatusCode, body)
	}
	for _, name := range []string{"tenantgate.db", "tenantgate.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) && name != "tenantgate.db" {
			continue // the WAL was checkpointed away
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "qoe-secret-canary") {
			t.Errorf("%s holds the QoE secret in clear", name)
		}
	}
}

// TestProductionModeOnPostgres starts production mode on PostgreSQL (in a
// schema of its own) with a real provider configuration: it serves the
// admin API, keeps secrets sealed in the database and has no demo routes.
func TestProductionModeOnPostgres(t *testing.T) {
	a, db, schema := startOnPostgres(t)
	cfg := a.cfg
	base := "http://" + a.ln.Addr().String()
	c := noRedirect()
	auth := map[string]string{"Authorization": "Bearer " + cfg.AdminToken, "Content-Type": "application/json"}
	resp, body := do(t, c, "PUT", base+"/api/customers/fabrikam/m365",
		`{"tenant":"fabrikam.onmicrosoft.com","authMode":"appRegistration","serviceAccount":"admin@fabrikam.onmicrosoft.com",`+
			`"clientId":"22222222-3333-4444-5555-666666666666","clientSecret":"customer-secret-canary-0123456789"}`, auth)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"clientSecretSet":true`) || strings.Contains(body, "canary") {
		t.Fatalf("PUT settings: %d %s", resp.StatusCode, body)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+schema+".tokenstore_records WHERE customer = 'fabrikam'").Scan(&n); err != nil || n == 0 {
		t.Fatalf("records of fabrikam in PostgreSQL: %d, %v", n, err)
	}
	var leaks int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+schema+".tokenstore_records WHERE position('canary' in encode(data, 'escape')) > 0").Scan(&leaks); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Errorf("%d records hold the client secret in clear", leaks)
	}
	for _, path := range []string{"/outbox", "/dev/outbox"} {
		if resp, _ := do(t, c, "GET", base+path, "", auth); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s in production: %d, want 404", path, resp.StatusCode)
		}
	}
	// The wizard's cookies and the portal session are Secure: the public URL is https.
	resp, _ = do(t, c, "POST", base+"/login", "token="+url.QueryEscape(cfg.AdminToken), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if ck := resp.Cookies(); len(ck) != 1 || !ck[0].Secure || ck[0].Name != "__Host-tenantgate_admin" {
		t.Errorf("production session cookie = %+v", ck)
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
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema := "tg_examples_server_" + strings.ToLower(randomToken(6))
	schema = strings.NewReplacer("-", "_").Replace(schema)
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	e := prodEnv()
	e["TENANTGATE_POSTGRES_DSN"] = u.String()
	e["TENANTGATE_SMTP_HOST"] = "127.0.0.1"
	e["TENANTGATE_SMTP_SECURITY"] = "insecure"
	e["TENANTGATE_ADDR"] = "127.0.0.1:0"
	cfg, err := parseConfig(nil, env(e), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := start(t.Context(), cfg, hooks{logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return a, db, schema
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// connectWithoutBrowser walks the wizard with a plain HTTP client: the
// fake answers the sign-in at once with Accept.
func connectWithoutBrowser(t testing.TB, d *demo) string {
	t.Helper()
	link := d.invite(t)
	d.a.fake.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{})
	defer d.a.fake.SetAuthorizeAnswer(nil)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if resp, body := do(t, c, "GET", link, "", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign in with Microsoft") {
		t.Fatalf("landing: %d", resp.StatusCode)
	}
	resp, body := do(t, c, "POST", link+"/start", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Connected") {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return link
}

// TestRestartConnected restarts a connected demo on the same data
// directory: the server comes up, the connection still validates (the
// fake's signing key is kept, the access token still verifies), and a new
// invitation connects again.
func TestRestartConnected(t *testing.T) {
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
	if !rep.OK {
		t.Fatalf("validate before restart: %+v", rep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.a.shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	d2 := startDemo(t, dir, "-demo-users", "20")
	d2.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &rep)
	if !rep.OK {
		t.Fatalf("validate after restart: %+v", rep)
	}
	connectWithoutBrowser(t, d2)
	d2.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &rep)
	if !rep.OK {
		t.Errorf("validate after re-invitation: %+v", rep)
	}
}
