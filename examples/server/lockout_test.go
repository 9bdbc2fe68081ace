package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Twelve junk invitation links from one address (more than the guess
// limit of ten), then the real link from the same address: it still
// opens and connects the tenant. The guess limit counts only links that
// belong to no invitation and never refuses one that does.
func TestJunkLinksDoNotLockOutTheCustomer(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir(), "-demo-users", "20")
	link := d.invite(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	var last int
	for i := range 12 {
		resp, _ := do(t, c, "GET", d.base+"/invite/junk-"+fmt.Sprint(i), "", nil)
		last = resp.StatusCode
		if i < 10 {
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "junk link %d", i)
		}
	}
	require.Equal(t, http.StatusTooManyRequests, last, "12th junk link (guesses are limited)")
	// The real link after junk, from the same client: it opens and connects.
	acceptInvitation(t, d, c, link)
	var st struct{ State string }
	d.api(t, "GET", "/api/customers/contoso/m365/status", "", http.StatusOK, &st)
	require.Equal(t, "connected", st.State, "status after the real link")
}

// Behind a trusted reverse proxy the rate limits key on the client the
// proxy names, not on the proxy: an attacker's wrong tokens lock out only
// the attacker. Without -trusted-proxies the header is ignored, so a
// client cannot pick its own key.
func TestLimitsBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir(), "-demo-users", "10", "-trusted-proxies", "10.0.0.0/8, ::1")
	h := d.a.srv.Handler
	send := func(method, path, body, xff string, header map[string]string) *httptest.ResponseRecorder {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, path, rd)
		r.RemoteAddr = "10.0.0.2:44321" // the proxy
		r.Header.Set("X-Forwarded-For", xff)
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const attacker, admin = "198.51.100.9", "203.0.113.5"
	for i := range loginMaxFailures {
		// The attacker also forges an entry on the left: it is skipped.
		w := send("POST", "/login", "token=guess-"+fmt.Sprint(i), "192.0.2.1, "+attacker, nil)
		require.Equal(t, http.StatusUnauthorized, w.Code, "guess %d", i)
	}
	assert.Equal(t, http.StatusTooManyRequests, send("POST", "/login", "token=guess-x", attacker, nil).Code, "attacker after 10 failures")
	assert.Equal(t, http.StatusUnauthorized, send("POST", "/login", "token=guess-y", admin, nil).Code, "another client behind the same proxy")
	assert.Equal(t, http.StatusUnauthorized, send("POST", "/login", "token=guess-z", "192.0.2.1", nil).Code, "the address the attacker forged")
	// Invitation guesses too: the attacker's junk does not count for the admin.
	for i := range 11 {
		send("GET", "/invite/junk-"+fmt.Sprint(i), "", attacker, nil)
	}
	assert.Equal(t, http.StatusTooManyRequests, send("GET", "/invite/junk-x", "", attacker, nil).Code, "attacker's 12th junk link")
	assert.Equal(t, http.StatusNotFound, send("GET", "/invite/junk-x", "", admin, nil).Code, "another client's junk link")
}

// Wrong bearer tokens on /api count in the login limiter: after ten, the
// address is refused on the API and on the login form, right token or
// not; other addresses are not affected.
func TestBearerFailuresShareTheLoginLimit(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir(), "-demo-users", "10")
	h := d.a.srv.Handler
	send := func(method, path, body, remote string, header map[string]string) *httptest.ResponseRecorder {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, path, rd)
		r.RemoteAddr = remote
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const attacker, admin = "198.51.100.9:40000", "[2001:db8:1:2::5]:40000"
	for i := range loginMaxFailures / 2 {
		w := send("GET", "/api/customers/contoso/m365/status", "", attacker, map[string]string{"Authorization": "Bearer guess-" + fmt.Sprint(i)})
		require.Equal(t, http.StatusUnauthorized, w.Code, "API guess %d", i)
		w = send("GET", "/dev/outbox", "", attacker, map[string]string{"Authorization": "Bearer guess-" + fmt.Sprint(i)})
		require.Equal(t, http.StatusUnauthorized, w.Code, "outbox guess %d", i)
	}
	w := send("GET", "/api/customers/contoso/m365/status", "", attacker, map[string]string{"Authorization": "Bearer guess-x"})
	assert.Equal(t, http.StatusTooManyRequests, w.Code, "API with a wrong token after 10 failures: %s", w.Body)
	assert.NotEmpty(t, w.Header().Get("Retry-After"), "API with a wrong token after 10 failures: Retry-After")
	assert.Contains(t, w.Body.String(), `"code":"rate_limited"`, "API with a wrong token after 10 failures")
	// The right token is checked before the limiter: whoever shares the
	// attacker's address is not locked out.
	w = send("GET", "/api/customers/contoso/m365/status", "", attacker, map[string]string{"Authorization": "Bearer " + d.token})
	assert.Equal(t, http.StatusOK, w.Code, "API with the right token after 10 failures: %s", w.Body)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	assert.Equal(t, http.StatusTooManyRequests, send("POST", "/login", "token=guess-y", attacker, form).Code, "login form with a wrong token after 10 API failures")
	assert.Equal(t, http.StatusSeeOther, send("POST", "/login", "token="+url.QueryEscape(d.token), attacker, form).Code, "login form with the right token after 10 API failures")
	// IPv6 clients are one key per /64: another address of the same /64
	// shares the budget, another /64 does not.
	for range loginMaxFailures {
		send("GET", "/api/customers/contoso/m365/status", "", admin, map[string]string{"Authorization": "Bearer wrong"})
	}
	w = send("GET", "/api/customers/contoso/m365/status", "", "[2001:db8:1:2::ffff]:1", map[string]string{"Authorization": "Bearer wrong-again"})
	assert.Equal(t, http.StatusTooManyRequests, w.Code, "same /64")
	w = send("GET", "/api/customers/contoso/m365/status", "", "[2001:db8:1:3::5]:1", map[string]string{"Authorization": "Bearer wrong-again"})
	assert.Equal(t, http.StatusUnauthorized, w.Code, "another /64")
	// Requests without a bearer token (the portal's pages) are untouched.
	assert.Equal(t, http.StatusOK, send("GET", "/login", "", attacker, nil).Code, "login page")
}
