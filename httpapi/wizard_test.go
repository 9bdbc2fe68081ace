package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/m365test"
)

// checkPageHeaders asserts the security headers of a wizard page.
func checkPageHeaders(t testing.TB, resp *http.Response) {
	t.Helper()
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		assert.Contains(t, csp, want, "CSP")
	}
	assert.NotContains(t, csp, "script-src", "CSP allows scripts")
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"), "Referrer-Policy")
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"), "X-Frame-Options")
	assert.Equal(t, "no-store", h.Get("Cache-Control"), "Cache-Control")
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
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	inv := decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)
	require.NotEmpty(t, inv.ID, "invitation %+v", inv)
	require.Equal(t, "pending", inv.Status, "invitation %+v", inv)
	require.Equal(t, e.contoso.AdminUPN(), inv.To, "invitation %+v", inv)
	require.False(t, inv.ExpiresAt.Before(time.Now()), "invitation expired: %+v", inv)
	link := e.linkFrom(t, e.contoso.AdminUPN())
	token := strings.TrimPrefix(link, testPublic+"/invite/")

	b := e.newBrowser(t)
	resp, page := b.open(t, "GET", link)
	require.Equal(t, 200, resp.StatusCode, "landing: %s", page)
	checkPageHeaders(t, resp)
	for _, want := range []string{"Example MSP", "contoso.onmicrosoft.com", e.contoso.AdminUPN(), "User.Read.All",
		"Sign in with Microsoft", `method="post"`, `action="` + testPublic + "/invite/" + token + `/start"`, "until"} {
		assert.Contains(t, page, want, "landing page")
	}
	landingCSP := resp.Header.Get("Content-Security-Policy")

	// Sign in: POST start -> 303 to Microsoft -> fake signs in at once ->
	// redirect to the callback -> success page.
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page = b.open(t, "POST", testPublic+"/invite/"+token+"/start")
	start := b.hops[0]
	require.Equal(t, http.StatusSeeOther, start.StatusCode, "start: status")
	authz, _ := url.Parse(start.Header.Get("Location"))
	assert.NotEmpty(t, authz.Query().Get("state"), "authorize URL lacks state: %s", authz.Redacted())
	assert.Equal(t, "S256", authz.Query().Get("code_challenge_method"), "authorize URL lacks PKCE: %s", authz.Redacted())
	// The browser enforces form-action on this redirect: its origin must be
	// allowed by the landing page's CSP.
	authzOrigin := authz.Scheme + "://" + authz.Host
	assert.Contains(t, formActions(landingCSP), authzOrigin, "landing CSP form-action does not allow the sign-in origin")
	// Cookie flags.
	cookies := start.Cookies()
	require.Len(t, cookies, 2, "cookies set by start")
	for _, c := range cookies {
		assert.True(t, c.HttpOnly, "cookie %s: HttpOnly", c.Name)
		assert.True(t, c.Secure, "cookie %s: Secure", c.Name)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite, "cookie %s: SameSite", c.Name)
		assert.Equal(t, "/m365", c.Path, "cookie %s: Path", c.Name)
		assert.True(t, strings.HasPrefix(c.Name, "__Secure-"), "cookie %s: want the __Secure- prefix", c.Name)
		if c.Name == "__Secure-"+bindingCookie {
			assert.GreaterOrEqual(t, len(c.Value), 40, "binding cookie value too short")
		}
	}
	require.Equal(t, 200, resp.StatusCode, "callback: %s", page)
	require.Contains(t, page, "Connected", "callback")
	require.Contains(t, page, e.contoso.AdminUPN(), "callback")
	checkPageHeaders(t, resp)

	// The connection is up and the invitation completed.
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	assert.Equal(t, "connected", st.State, "status %+v", st)
	assert.Equal(t, e.contoso.AdminUPN(), st.Account, "status %+v", st)
	assert.Equal(t, e.contoso.ID, st.TenantID, "status %+v", st)
	got, err := e.inv.Get(context.Background(), "a", inv.ID)
	if assert.NoError(t, err, "invitation after sign-in") {
		assert.Equal(t, invite.StatusCompleted, got.Status, "invitation after sign-in")
	}
	rep := decode[reportJSON](t, e.do(t, "POST", "/customers/a/m365/validate", tokenA, nil), 200)
	assert.True(t, rep.OK, "validate: %+v", rep)
	assert.NotEmpty(t, rep.Checks, "validate: %+v", rep)

	// Neither the link's token nor the binding cookie is ever logged.
	for _, secret := range append([]string{token}, cookieValues(cookies)...) {
		assert.False(t, strings.Contains(e.logs.String(), secret), "a secret (%.6s...) appears in the logs", secret)
	}

	// The link is used: opening it again says so.
	resp, page = e.newBrowser(t).open(t, "GET", link)
	assert.Equal(t, http.StatusGone, resp.StatusCode, "reused link: %s", page)
	assert.Contains(t, page, "already used", "reused link")
	assert.Contains(t, page, "What to do", "reused link")
	// Reloading the callback (the state is single-use) shows a page that
	// says what to do, never a raw error.
	final := b.hops[len(b.hops)-2].Header.Get("Location")
	resp, page = b.open(t, "GET", final)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "replayed callback: %s", page)
	assert.Contains(t, page, "What to do", "replayed callback")
	assert.NotContains(t, page, "m365access", "replayed callback")
}

func TestWizardCancelAtMicrosoft(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)
	link := e.linkFrom(t, e.contoso.AdminUPN())
	b := e.newBrowser(t)
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{Decline: true})
	resp, page := b.open(t, "POST", link+"/start")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "cancel: %s", page)
	require.Contains(t, page, "You cancelled the sign-in", "cancel")
	// The page offers the retry: a form to start again.
	assert.Contains(t, page, `action="`+link+`/start"`, "cancel page has no retry form")
	assert.Contains(t, page, "Sign in with Microsoft", "cancel page has no retry form")
	checkPageHeaders(t, resp)
	// Retrying works and connects.
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page = b.open(t, "POST", link+"/start")
	require.Equal(t, 200, resp.StatusCode, "retry: %s", page)
	require.Contains(t, page, "Connected", "retry")
}

func TestWizardLinkStates(t *testing.T) {
	t.Parallel()
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
			assert.Equal(t, tc.status, resp.StatusCode, page)
			assert.Contains(t, page, tc.want)
			assert.Contains(t, page, "What to do")
			assert.NotContains(t, page, "<script", "page reflects markup")
			checkPageHeaders(t, resp)
		})
	}
	// Expired: move the invitations' clock past the TTL.
	e.clock.Advance(invite.DefaultTTL + time.Minute)
	resp, page := e.newBrowser(t).open(t, "GET", second)
	assert.Equal(t, http.StatusGone, resp.StatusCode, "expired: %s", page)
	assert.Contains(t, page, "expired", "expired")
	assert.Contains(t, page, "new invitation", "expired")
	resp, _ = e.newBrowser(t).open(t, "POST", second+"/start")
	assert.Equal(t, http.StatusGone, resp.StatusCode, "start of an expired link")
}

func TestWizardRateLimitsGuesses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var last *httptest.ResponseRecorder
	for i := range 12 {
		r := httptest.NewRequest("GET", testPublic+"/invite/guess"+strings.Repeat("x", i), nil)
		r.RemoteAddr = "198.51.100.7:5555"
		last = httptest.NewRecorder()
		e.h.ServeHTTP(last, r)
	}
	assert.Equal(t, http.StatusTooManyRequests, last.Code, "after 12 guesses")
	assert.Contains(t, last.Body.String(), "Too many attempts", "after 12 guesses")
	// Another client is not affected.
	r := httptest.NewRequest("GET", testPublic+"/invite/guess", nil)
	r.RemoteAddr = "203.0.113.9:5555"
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusNotFound, w.Code, "other client")
}

func TestWizardLinksUsePublicURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	w := e.do(t, "POST", "/customers/a/m365/refresh-token", tokenA, nil)
	wl := decode[wizardLinkJSON](t, w, http.StatusCreated)
	require.True(t, strings.HasPrefix(wl.Link, testPublic+"/invite/"), "refresh-token link %q", wl.Link)
	require.NotEmpty(t, wl.Invitation.ID, "refresh-token link's invitation")
	// A request arriving with a forged Host still gets links on the
	// public URL.
	r := httptest.NewRequest("GET", wl.Link, nil)
	r.Host = "evil.example"
	r.Header.Set("X-Forwarded-Host", "evil.example")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	assert.Equal(t, 200, rec.Code, "landing under forged host: %s", rec.Body.String())
	assert.NotContains(t, rec.Body.String(), "evil.example", "landing under forged host")
	assert.Contains(t, rec.Body.String(), `action="`+wl.Link+`/start"`, "landing under forged host")
}

func TestWizardCookiesOnPlainHTTP(t *testing.T) {
	t.Parallel()
	e := newEnvAt(t, "http://127.0.0.1:8080/", nil)
	e.saveToken(t, "a", e.contoso)
	w := e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil)
	link := decode[consentLinkJSON](t, w, 200)
	assert.Contains(t, link.URL, "adminconsent", "consent URL")
	cs := w.Result().Cookies()
	if assert.Len(t, cs, 1, "cookies on http") {
		assert.Equal(t, bindingCookie, cs[0].Name, "cookie on http: name")
		assert.False(t, cs[0].Secure, "cookie on http: Secure")
		assert.True(t, cs[0].HttpOnly, "cookie on http: HttpOnly")
		assert.Equal(t, "/", cs[0].Path, "cookie on http: Path")
		assert.Equal(t, http.SameSiteLaxMode, cs[0].SameSite, "cookie on http: SameSite")
	}
}

func TestConsentCallback(t *testing.T) {
	t.Parallel()
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
	assert.False(t, link.CustomerApp, "consent link %+v", link)
	assert.NotEmpty(t, link.ClientID, "consent link %+v", link)
	assert.NotEmpty(t, link.ShareURL, "consent link %+v", link)
	assert.NotEqual(t, link.URL, link.ShareURL, "consent link: share URL")
	assert.Contains(t, link.URL, "client_id="+link.ClientID, "consent link URL")
	assert.Contains(t, link.ShareURL, "client_id="+link.ClientID, "consent link share URL")

	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page := b.open(t, "GET", link.URL)
	// Entra ID replicates a new grant for a while (a minute in the fake):
	// the callback answers at once and the page follows the confirmation.
	require.Equal(t, 200, resp.StatusCode, "consent: %s", page)
	require.Contains(t, page, `data-progress="confirming"`, "consent")
	require.Contains(t, page, `http-equiv="refresh" content="3;url=progress?state=`, "consent")
	checkPageHeaders(t, resp)
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	assert.Equal(t, "consentPropagating", st.State, "status right after consent: %+v", st)
	assert.NotNil(t, st.ConsentReportedAt, "status right after consent: %+v", st)
	assert.Nil(t, st.ConsentGrantedAt, "status right after consent: %+v", st)
	state := consentState(t, link.URL)
	resp, page = b.open(t, "GET", testPublic+"/consent/progress?state="+url.QueryEscape(state))
	assert.Equal(t, 200, resp.StatusCode, "progress while propagating: %s", page)
	assert.Contains(t, page, `data-progress="confirming"`, "progress while propagating")
	// Once replicated, Validate finishes the confirmation. The callback's
	// background confirmation gives up first (after the Manager's
	// ConsentWait, the grant not yet replicated): had it retried after
	// the Advance, it would have confirmed the grant before Validate.
	e.handler.wz.bg.Wait()
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	rep := decode[reportJSON](t, e.do(t, "POST", "/customers/a/m365/validate", tokenA, nil), 200)
	if c := findCheck(rep, "consent"); assert.NotNil(t, c, "validate after replication: no consent check: %+v", rep) {
		assert.True(t, c.OK, "validate after replication: %+v", rep)
	}
	st = decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	assert.NotNil(t, st.ConsentGrantedAt, "status after consent: %+v", st)
	assert.NotEqual(t, "consentPropagating", st.State, "status after consent: %+v", st)
	resp, page = b.open(t, "GET", testPublic+"/consent/progress?state="+url.QueryEscape(state))
	assert.Equal(t, 200, resp.StatusCode, "progress once confirmed: %s", page)
	assert.Contains(t, page, `data-progress="confirmed"`, "progress once confirmed")
	assert.NotContains(t, page, "http-equiv", "progress once confirmed")
	resp, _ = b.open(t, "GET", testPublic+"/consent/progress?state=nosuchstate")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "progress of an unknown state")

	// Without the cookie (another browser) the callback explains it.
	w = e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil)
	link = decode[consentLinkJSON](t, w, 200)
	resp, page = e.newBrowser(t).open(t, "GET", link.URL)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "consent in another browser: %s", page)
	assert.Contains(t, page, "same browser", "consent in another browser")

	// Declined consent.
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{Decline: true})
	w = e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil)
	link = decode[consentLinkJSON](t, w, 200)
	b.jar.SetCookies(u, w.Result().Cookies())
	resp, page = b.open(t, "GET", link.URL)
	assert.NotEqual(t, 200, resp.StatusCode, "declined consent: %s", page)
	assert.Contains(t, page, "not granted", "declined consent")
}

func TestWizardPagesOverridable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.Pages = fstest.MapFS{"failure.html": {Data: []byte(`{{define "content"}}<h1 class="brand">Oops: {{.Heading}}</h1>{{end}}`)}}
	})
	resp, page := e.newBrowser(t).open(t, "GET", testPublic+"/invite/nonexistent")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "override: %s", page)
	assert.Contains(t, page, `<h1 class="brand">Oops: This link is not valid</h1>`, "override not used")
	// A broken override is refused at New.
	cfg := e.cfg
	cfg.Pages = fstest.MapFS{"landing.html": {Data: []byte(`{{define "content"}}{{.Nope`)}}
	_, err := New(cfg)
	assert.Error(t, err, "New accepted a broken page template")
}

func TestSwitchToToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	w := e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]any{"tenant": e.contoso.Domain(), "authMode": "password",
		"serviceAccount": e.contoso.AdminUPN(), "password": e.contoso.Password()})
	s := decode[settingsJSON](t, w, 200)
	require.Equal(t, "password", s.AuthMode, "settings %+v", s)
	require.True(t, s.PasswordSet, "settings %+v", s)
	// The admin asks to switch; the sign-in link is bound to the admin's
	// browser by the cookie set on this response.
	w = e.do(t, "POST", "/customers/a/m365/switch-to-token", tokenA, nil)
	link := decode[signInLinkJSON](t, w, 200)
	require.Contains(t, link.URL, "state=", "link %+v", link)
	require.False(t, link.ExpiresAt.Before(time.Now()), "link expired: %+v", link)
	b := e.newBrowser(t)
	u, _ := url.Parse(testPublic)
	b.jar.SetCookies(u, w.Result().Cookies())
	// Until the sign-in completes, nothing changes.
	require.Equal(t, "password", decode[settingsJSON](t, e.do(t, "GET", "/customers/a/m365", tokenA, nil), 200).AuthMode, "mode before sign-in")
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page := b.open(t, "GET", link.URL)
	require.Equal(t, 200, resp.StatusCode, "switch sign-in: %s", page)
	require.Contains(t, page, "Connected", "switch sign-in")
	assert.Equal(t, "token", decode[settingsJSON](t, e.do(t, "GET", "/customers/a/m365", tokenA, nil), 200).AuthMode, "mode after sign-in")
	st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
	assert.Equal(t, "connected", st.State, "status %+v", st)
}

func cookieValues(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Value)
	}
	return out
}

func TestCallbackErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
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
		assert.GreaterOrEqual(t, resp.StatusCode, 400, "%s: %s", tc.query, page)
		assert.Contains(t, page, tc.want, tc.query)
		assert.Contains(t, page, "What to do", tc.query)
		for _, reflected := range []string{"<script", "<b>", "AADSTS"} {
			assert.NotContains(t, page, reflected, "%s: page reflects the query", tc.query)
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
	t.Parallel()
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
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "page: %s", page)
			require.Contains(t, page, tc.heading, "page")
			require.NotContains(t, page, tc.notOnPge, "page")
			if tc.code != 0 {
				assert.Contains(t, page, "Microsoft error code "+strconv.Itoa(tc.code), "page does not name the code")
			}
			assert.Contains(t, page, `action="`+link+`/start"`, "page offers no retry")
			st := decode[statusJSON](t, e.do(t, "GET", "/customers/a/m365/status", tokenA, nil), 200)
			require.NotNil(t, st.LastError, "Status.LastError not recorded: %+v", st)
			if tc.code != 0 {
				assert.Contains(t, st.LastError.Codes, tc.code, "LastError %+v", st.LastError)
				assert.Equal(t, tc.action, st.LastError.Action, "LastError %+v", st.LastError)
				assert.Contains(t, st.LastError.Message, "AADSTS"+strconv.Itoa(tc.code), "LastError %+v", st.LastError)
			} else {
				assert.Contains(t, st.LastError.Message, "admin@contoso.onmicrosoft.com", "LastError does not name the account")
			}
		})
	}
}

// consentState is the state parameter of an admin consent link.
func consentState(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query().Get("state")
}

// TestConsentLinkNamesTheCustomersApp: an app registration customer is
// given the admin consent link of its own app, not the provider's.
func TestConsentLinkNamesTheCustomersApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const app = "11111111-2222-3333-4444-555555555555"
	e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]any{
		"tenant": e.contoso.Domain(), "authMode": "appRegistration", "clientId": app, "clientSecret": "Sup3r-Secret-Client-Value~0123456789"})
	link := decode[consentLinkJSON](t, e.do(t, "POST", "/customers/a/m365/consent", tokenA, nil), 200)
	assert.True(t, link.CustomerApp, "consent link of an app registration customer: %+v", link)
	assert.Equal(t, app, link.ClientID, "consent link of an app registration customer")
	assert.Contains(t, link.ShareURL, "client_id="+app, "consent link of an app registration customer")
	assert.Contains(t, link.URL, "client_id="+app, "consent link of an app registration customer")
	assert.Equal(t, testPublic+"/consent/callback", link.RedirectURI, "consent link of an app registration customer")
}
