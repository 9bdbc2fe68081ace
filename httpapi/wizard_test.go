package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/m365test"
)

// checkPageHeaders asserts the security headers of a wizard page.
func checkPageHeaders(t testing.TB, resp *http.Response) {
	t.Helper()
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") {
		t.Errorf("CSP allows scripts: %q", csp)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q", got)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q", got)
	}
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
}

// formActions returns the sources of the CSP form-action directive.
func formActions(csp string) []string {
	for _, d := range strings.Split(csp, ";") {
		f := strings.Fields(d)
		if len(f) > 0 && f[0] == "form-action" {
			return f[1:]
		}
	}
	return nil
}

func TestWizardEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	inv := decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)
	if inv.ID == "" || inv.Status != "pending" || inv.To != e.contoso.AdminUPN() || inv.ExpiresAt.Before(time.Now()) {
		t.Fatalf("invitation %+v", inv)
	}
	link := e.linkFrom(t, e.contoso.AdminUPN())
	token := strings.TrimPrefix(link, testPublic+"/invite/")

	b := e.newBrowser(t)
	resp, page := b.open(t, "GET", link)
	if resp.StatusCode != 200 {
		t.Fatalf("landing: %d %s", resp.StatusCode, page)
	}
	checkPageHeaders(t, resp)
	for _, want := range []string{"Example MSP", "contoso.onmicrosoft.com", e.contoso.AdminUPN(), "User.Read.All",
		"Sign in with Microsoft", `method="post"`, `action="` + testPublic + "/invite/" + token + `/start"`, "until"} {
		if !strings.Contains(page, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	landingCSP := resp.Header.Get("Content-Security-Policy")

	// Sign in: POST start -> 303 to Microsoft -> fake signs in at once ->
	// redirect to the callback -> success page.
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page = b.open(t, "POST", testPublic+"/invite/"+token+"/start")
	start := b.hops[0]
	if start.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: status %d", start.StatusCode)
	}
	authz, _ := url.Parse(start.Header.Get("Location"))
	if authz.Query().Get("state") == "" || authz.Query().Get("code_challenge_method") != "S256" {
		t.Errorf("authorize URL lacks state or PKCE: %s", authz.Redacted())
	}
	// The browser enforces form-action on this redirect: its origin must be
	// allowed by the landing page's CSP.
	authzOrigin := authz.Scheme + "://" + authz.Host
	allowed := false
	for _, src := range formActions(landingCSP) {
		if src == authzOrigin {
			allowed = true
		}
	}
	if !allowed {
		t.Errorf("landing CSP form-action %v does not allow the sign-in origin %s", formActions(landingCSP), authzOrigin)
	}
	// Cookie flags.
	cookies := start.Cookies()
	if len(cookies) != 2 {
		t.Fatalf("start set %d cookies", len(cookies))
	}
	for _, c := range cookies {
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/m365" || !strings.HasPrefix(c.Name, "__Secure-") {
			t.Errorf("cookie %s: HttpOnly=%v Secure=%v SameSite=%v Path=%q", c.Name, c.HttpOnly, c.Secure, c.SameSite, c.Path)
		}
		if c.Name == "__Secure-"+bindingCookie && len(c.Value) < 40 {
			t.Errorf("binding cookie value too short: %d", len(c.Value))
		}
	}
	if resp.StatusCode != 200 || !strings.Contains(page, "Connected") || !strings.Contains(page, e.contoso.AdminUPN()) {
		t.Fatalf("callback: %d %s", resp.StatusCode, page)
	}
	checkPageHeaders(t, resp)

	// The connection is up and the invitation completed.
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	if st.State != "connected" || st.Account != e.contoso.AdminUPN() || st.TenantID != e.contoso.ID {
		t.Errorf("status %+v", st)
	}
	got, err := e.inv.Get(context.Background(), "a", inv.ID)
	if err != nil || got.Status != invite.StatusCompleted {
		t.Errorf("invitation after sign-in: %s %v", got.Status, err)
	}
	rep := decode[reportJSON](t, e.do(t, "POST", "/customers/a/m365/validate", tokenA, nil), 200)
	if !rep.OK || len(rep.Checks) == 0 {
		t.Errorf("validate: %+v", rep)
	}

	// Neither the link's token nor the binding cookie is ever logged.
	for _, secret := range append([]string{token}, cookieValues(cookies)...) {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("a secret (%.6s...) appears in the logs", secret)
		}
	}

	// The link is used: opening it again says so.
	resp, page = e.newBrowser(t).open(t, "GET", link)
	if resp.StatusCode != http.StatusGone || !strings.Contains(page, "already used") || !strings.Contains(page, "What to do") {
		t.Errorf("reused link: %d %s", resp.StatusCode, page)
	}
	// Reloading the callback (the state is single-use) shows a page that
	// says what to do, never a raw error.
	cb := b.hops[len(b.hops)-1].Request
	_ = cb
	final := b.hops[len(b.hops)-2].Header.Get("Location")
	resp, page = b.open(t, "GET", final)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "What to do") || strings.Contains(page, "m365access") {
		t.Errorf("replayed callback: %d %s", resp.StatusCode, page)
	}
}

func TestWizardCancelAtMicrosoft(t *testing.T) {
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)
	link := e.linkFrom(t, e.contoso.AdminUPN())
	b := e.newBrowser(t)
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{Decline: true})
	resp, page := b.open(t, "POST", link+"/start")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "You cancelled the sign-in") {
		t.Fatalf("cancel: %d %s", resp.StatusCode, page)
	}
	// The page offers the retry: a form to start again.
	if !strings.Contains(page, `action="`+link+`/start"`) || !strings.Contains(page, "Sign in with Microsoft") {
		t.Errorf("cancel page has no retry form: %s", page)
	}
	checkPageHeaders(t, resp)
	// Retrying works and connects.
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page = b.open(t, "POST", link+"/start")
	if resp.StatusCode != 200 || !strings.Contains(page, "Connected") {
		t.Fatalf("retry: %d %s", resp.StatusCode, page)
	}
}

func TestWizardLinkStates(t *testing.T) {
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	send := func() string {
		decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)
		return e.linkFrom(t, e.contoso.AdminUPN())
	}
	first := send()
	second := send() // supersedes the first
	for _, tc := range []struct {
		name, link string
		status     int
		want       string
	}{
		{"superseded", first, http.StatusGone, "no longer valid"},
		{"unknown", testPublic + "/invite/" + strings.Repeat("A", invite.TokenLen), http.StatusNotFound, "not valid"},
		{"malformed", testPublic + "/invite/%3Cscript%3E", http.StatusNotFound, "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, page := e.newBrowser(t).open(t, "GET", tc.link)
			if resp.StatusCode != tc.status || !strings.Contains(page, tc.want) || !strings.Contains(page, "What to do") {
				t.Errorf("%d %s", resp.StatusCode, page)
			}
			if strings.Contains(page, "<script") {
				t.Error("page reflects markup")
			}
			checkPageHeaders(t, resp)
		})
	}
	// Expired: move the invitations' clock past the TTL.
	e.clock.Advance(invite.DefaultTTL + time.Minute)
	resp, page := e.newBrowser(t).open(t, "GET", second)
	if resp.StatusCode != http.StatusGone || !strings.Contains(page, "expired") || !strings.Contains(page, "new invitation") {
		t.Errorf("expired: %d %s", resp.StatusCode, page)
	}
	resp, _ = e.newBrowser(t).open(t, "POST", second+"/start")
	if resp.StatusCode != http.StatusGone {
		t.Errorf("start of an expired link: %d", resp.StatusCode)
	}
}

func TestWizardRateLimitsGuesses(t *testing.T) {
	e := newEnv(t, nil)
	var last *httptest.ResponseRecorder
	for i := range 12 {
		r := httptest.NewRequest("GET", testPublic+"/invite/guess"+strings.Repeat("x", i), nil)
		r.RemoteAddr = "198.51.100.7:5555"
		last = httptest.NewRecorder()
		e.h.ServeHTTP(last, r)
	}
	if last.Code != http.StatusTooManyRequests || !strings.Contains(last.Body.String(), "Too many attempts") {
		t.Errorf("after 12 guesses: %d", last.Code)
	}
	// Another client is not affected.
	r := httptest.NewRequest("GET", testPublic+"/invite/guess", nil)
	r.RemoteAddr = "203.0.113.9:5555"
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound {
		t.Errorf("other client: %d", w.Code)
	}
}

func TestWizardLinksUsePublicURL(t *testing.T) {
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	w := e.do(t, "POST", "/customers/a/m365/refresh-token", tokenA, nil)
	wl := decode[wizardLinkJSON](t, w, http.StatusCreated)
	if !strings.HasPrefix(wl.Link, testPublic+"/invite/") || wl.Invitation.ID == "" {
		t.Fatalf("refresh-token link %q", wl.Link)
	}
	// A request arriving with a forged Host still gets links on the
	// public URL.
	r := httptest.NewRequest("GET", wl.Link, nil)
	r.Host = "evil.example"
	r.Header.Set("X-Forwarded-Host", "evil.example")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "evil.example") ||
		!strings.Contains(rec.Body.String(), `action="`+wl.Link+`/start"`) {
		t.Errorf("landing under forged host: %d %s", rec.Code, rec.Body.String())
	}
}

func TestWizardCookiesOnPlainHTTP(t *testing.T) {
	e := newEnvAt(t, "http://127.0.0.1:8080/", nil)
	e.saveToken(t, "a", e.contoso)
	w := e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil)
	link := decode[consentLinkJSON](t, w, 200)
	if !strings.Contains(link.URL, "adminconsent") {
		t.Errorf("consent URL %q", link.URL)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != bindingCookie || cs[0].Secure || !cs[0].HttpOnly || cs[0].Path != "/" || cs[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("cookies on http: %+v", cs)
	}
}

func TestConsentCallback(t *testing.T) {
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	b := e.newBrowser(t)
	// The admin asks for the consent link through the API (same browser:
	// the binding cookie lands in its jar).
	w := e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil)
	link := decode[consentLinkJSON](t, w, 200)
	u, _ := url.Parse(testPublic)
	b.jar.SetCookies(u, w.Result().Cookies())
	// A token customer consents the provider's app.
	if link.CustomerApp || link.ClientID == "" || link.ShareURL == "" || link.ShareURL == link.URL ||
		!strings.Contains(link.URL, "client_id="+link.ClientID) || !strings.Contains(link.ShareURL, "client_id="+link.ClientID) {
		t.Errorf("consent link %+v", link)
	}

	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page := b.open(t, "GET", link.URL)
	// Entra ID replicates a new grant for a while (a minute in the fake):
	// the callback answers at once and the page follows the confirmation.
	if resp.StatusCode != 200 || !strings.Contains(page, `data-progress="confirming"`) ||
		!strings.Contains(page, `http-equiv="refresh" content="3;url=progress?state=`) {
		t.Fatalf("consent: %d %s", resp.StatusCode, page)
	}
	checkPageHeaders(t, resp)
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	if st.State != "consentPropagating" || st.ConsentReportedAt == nil || st.ConsentGrantedAt != nil {
		t.Errorf("status right after consent: %+v", st)
	}
	state := consentState(t, link.URL)
	resp, page = b.open(t, "GET", testPublic+"/consent/progress?state="+url.QueryEscape(state))
	if resp.StatusCode != 200 || !strings.Contains(page, `data-progress="confirming"`) {
		t.Errorf("progress while propagating: %d %s", resp.StatusCode, page)
	}
	// Once replicated, Validate finishes the confirmation.
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	rep := decode[reportJSON](t, e.do(t, "POST", "/customers/a/m365/validate", tokenA, nil), 200)
	if c := findCheck(rep, "consent"); c == nil || !c.OK {
		t.Errorf("validate after replication: %+v", rep)
	}
	st = decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	if st.ConsentGrantedAt == nil || st.State == "consentPropagating" {
		t.Errorf("status after consent: %+v", st)
	}
	resp, page = b.open(t, "GET", testPublic+"/consent/progress?state="+url.QueryEscape(state))
	if resp.StatusCode != 200 || !strings.Contains(page, `data-progress="confirmed"`) || strings.Contains(page, "http-equiv") {
		t.Errorf("progress once confirmed: %d %s", resp.StatusCode, page)
	}
	resp, _ = b.open(t, "GET", testPublic+"/consent/progress?state=nosuchstate")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("progress of an unknown state: %d", resp.StatusCode)
	}

	// Without the cookie (another browser) the callback explains it.
	w = e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil)
	link = decode[consentLinkJSON](t, w, 200)
	resp, page = e.newBrowser(t).open(t, "GET", link.URL)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "same browser") {
		t.Errorf("consent in another browser: %d %s", resp.StatusCode, page)
	}

	// Declined consent.
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{Decline: true})
	w = e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil)
	link = decode[consentLinkJSON](t, w, 200)
	b.jar.SetCookies(u, w.Result().Cookies())
	resp, page = b.open(t, "GET", link.URL)
	if resp.StatusCode == 200 || !strings.Contains(page, "not granted") {
		t.Errorf("declined consent: %d %s", resp.StatusCode, page)
	}
}

func TestWizardPagesOverridable(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Pages = fstest.MapFS{"failure.html": {Data: []byte(`{{define "content"}}<h1 class="brand">Oops: {{.Heading}}</h1>{{end}}`)}}
	})
	resp, page := e.newBrowser(t).open(t, "GET", testPublic+"/invite/nonexistent")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(page, `<h1 class="brand">Oops: This link is not valid</h1>`) {
		t.Errorf("override not used: %s", page)
	}
	// A broken override is refused at New.
	cfg := e.cfg
	cfg.Pages = fstest.MapFS{"landing.html": {Data: []byte(`{{define "content"}}{{.Nope`)}}
	if _, err := New(cfg); err == nil {
		t.Error("New accepted a broken page template")
	}
}

func TestSwitchToToken(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]any{"tenant": e.contoso.Domain(), "authMode": "password",
		"serviceAccount": e.contoso.AdminUPN(), "password": e.contoso.Password()})
	if s := decode[settingsJSON](t, w, 200); s.AuthMode != "password" || !s.PasswordSet {
		t.Fatalf("settings %+v", s)
	}
	// The admin asks to switch; the sign-in link is bound to the admin's
	// browser by the cookie set on this response.
	w = e.do(t, "POST", "/customers/a/m365/switch-to-token", tokenA, nil)
	link := decode[signInLinkJSON](t, w, 200)
	if !strings.Contains(link.URL, "state=") || link.ExpiresAt.Before(time.Now()) {
		t.Fatalf("link %+v", link)
	}
	b := e.newBrowser(t)
	u, _ := url.Parse(testPublic)
	b.jar.SetCookies(u, w.Result().Cookies())
	// Until the sign-in completes, nothing changes.
	if s := decode[settingsJSON](t, e.do(t, "GET", "/customers/a/m365", tokenA, nil), 200); s.AuthMode != "password" {
		t.Fatalf("mode before sign-in: %s", s.AuthMode)
	}
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page := b.open(t, "GET", link.URL)
	if resp.StatusCode != 200 || !strings.Contains(page, "Connected") {
		t.Fatalf("switch sign-in: %d %s", resp.StatusCode, page)
	}
	if s := decode[settingsJSON](t, e.do(t, "GET", "/customers/a/m365", tokenA, nil), 200); s.AuthMode != "token" {
		t.Errorf("mode after sign-in: %s", s.AuthMode)
	}
	if st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200); st.State != "connected" {
		t.Errorf("status %+v", st)
	}
}

func cookieValues(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Value)
	}
	return out
}

func TestCallbackErrorsSayWhatToDo(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct{ query, want string }{
		{"error=access_denied&error_description=AADSTS65004", "You cancelled the sign-in"},
		{"error=consent_required", "Admin consent is needed"},
		{"error=interaction_required", "Additional verification"},
		{"error=temporarily_unavailable", "Microsoft is busy"},
		{"error=%3Cb%3Eweird%3C%2Fb%3E&error_description=%3Cscript%3E", "did not complete"},
		{"state=unknown-state&code=abc", "could not be completed"},
		{"", "could not be completed"},
	} {
		resp, page := e.newBrowser(t).open(t, "GET", testPublic+"/auth/callback?"+tc.query)
		if resp.StatusCode < 400 || !strings.Contains(page, tc.want) || !strings.Contains(page, "What to do") {
			t.Errorf("%s: %d %s", tc.query, resp.StatusCode, page)
		}
		if strings.Contains(page, "<script") || strings.Contains(page, "<b>") || strings.Contains(page, "AADSTS") {
			t.Errorf("%s: page reflects the query: %s", tc.query, page)
		}
		checkPageHeaders(t, resp)
	}
}

func findCheck(r reportJSON, name string) *checkJSON {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// TestWizardRefusalsSayWhatTheyAre signs in through the wizard and the
// fake cloud in each way Microsoft refuses: the page names the refusal
// and the customer's Status records it with its AADSTS code.
func TestWizardRefusalsSayWhatTheyAre(t *testing.T) {
	user := "user00007@contoso.onmicrosoft.com"
	for _, tc := range []struct {
		name     string
		ans      m365test.AuthorizeAnswer
		service  string // the service account, when not the Global Admin
		heading  string
		code     int
		action   string
		notOnPge string
	}{
		{"non-admin needs an admin", m365test.AuthorizeAnswer{User: user}, "", "Admin consent is needed", 90094, "grantConsent", "cancelled"},
		{"declined", m365test.AuthorizeAnswer{Decline: true}, "", "You cancelled the sign-in", 65004, "grantConsent", "Admin consent"},
		{"conditional access", m365test.AuthorizeAnswer{ErrorCode: 53003}, "", "Blocked by your organization&#39;s Conditional Access policy", 53003, "completeMFAOrSwitchToToken", "cancelled"},
		{"wrong account", m365test.AuthorizeAnswer{User: "admin@contoso.onmicrosoft.com", AdminConsent: true}, user, "A different account signed in", 0, "", "cancelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.saveToken(t, "a", e.contoso)
			to := e.contoso.AdminUPN()
			if tc.service != "" {
				to = tc.service
				decode[settingsJSON](t, e.do(t, "PUT", "/customers/a/m365", tokenAll, map[string]any{"serviceAccount": to}), http.StatusOK)
			}
			decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)
			link := e.linkFrom(t, to)
			e.srv.SetAuthorizeAnswer(&tc.ans)
			defer e.srv.SetAuthorizeAnswer(nil)
			resp, page := e.newBrowser(t).open(t, "POST", link+"/start")
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, tc.heading) || strings.Contains(page, tc.notOnPge) {
				t.Fatalf("page: %d, want %q without %q: %s", resp.StatusCode, tc.heading, tc.notOnPge, page)
			}
			if tc.code != 0 && !strings.Contains(page, "Microsoft error code "+strconv.Itoa(tc.code)) {
				t.Errorf("page does not name code %d: %s", tc.code, page)
			}
			if !strings.Contains(page, `action="`+link+`/start"`) {
				t.Errorf("page offers no retry: %s", page)
			}
			st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
			if st.LastError == nil {
				t.Fatalf("Status.LastError not recorded: %+v", st)
			}
			if tc.code != 0 && (!slices.Contains(st.LastError.Codes, tc.code) || st.LastError.Action != tc.action ||
				!strings.Contains(st.LastError.Message, "AADSTS"+strconv.Itoa(tc.code))) {
				t.Errorf("LastError %+v, want AADSTS%d and %s", st.LastError, tc.code, tc.action)
			}
			if tc.code == 0 && !strings.Contains(st.LastError.Message, "admin@contoso.onmicrosoft.com") {
				t.Errorf("LastError %+v does not name the account", st.LastError)
			}
		})
	}
}

// consentState is the state parameter of an admin consent link.
func consentState(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}

// TestConsentLinkNamesTheCustomersApp: an app registration customer is
// given the admin consent link of its own app, not the provider's.
func TestConsentLinkNamesTheCustomersApp(t *testing.T) {
	e := newEnv(t, nil)
	const app = "11111111-2222-3333-4444-555555555555"
	e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]any{
		"tenant": e.contoso.Domain(), "authMode": "appRegistration", "clientId": app, "clientSecret": "Sup3r-Secret-Client-Value~0123456789"})
	link := decode[consentLinkJSON](t, e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil), 200)
	if !link.CustomerApp || link.ClientID != app || !strings.Contains(link.ShareURL, "client_id="+app) ||
		!strings.Contains(link.URL, "client_id="+app) || link.RedirectURI != testPublic+"/consent/callback" {
		t.Errorf("consent link of an app registration customer: %+v", link)
	}
}
