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

	"github.com/tenantgate/tenantgate/m365test"
)

// Twelve junk invitation links from one address (more than the guess
// limit of ten), then the real link from the same address: it still
// opens and connects the tenant. The guess limit counts only links that
// belong to no invitation and never refuses one that does.
func TestJunkLinksDoNotLockOutTheCustomer(t *testing.T) {
	d := startDemo(t, t.TempDir(), "-demo-users", "20")
	link := d.invite(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	var last int
	for i := range 12 {
		resp, _ := do(t, c, "GET", d.base+"/invite/junk-"+fmt.Sprint(i), "", nil)
		last = resp.StatusCode
		if i < 10 && resp.StatusCode != http.StatusNotFound {
			t.Fatalf("junk link %d: %d, want 404", i, resp.StatusCode)
		}
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("12th junk link: %d, want 429 (guesses are limited)", last)
	}
	d.a.fake.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{})
	defer d.a.fake.SetAuthorizeAnswer(nil)
	if resp, body := do(t, c, "GET", link, "", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign in with Microsoft") {
		t.Fatalf("the real link after junk: %d", resp.StatusCode)
	}
	resp, body := do(t, c, "POST", link+"/start", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Connected") {
		t.Fatalf("sign-in after junk: %d %s", resp.StatusCode, body)
	}
	var st struct{ State string }
	d.api(t, "GET", "/api/customers/contoso/m365/status", "", http.StatusOK, &st)
	if st.State != "connected" {
		t.Fatalf("status after the real link: %q", st.State)
	}
}

// Behind a trusted reverse proxy the rate limits key on the client the
// proxy names, not on the proxy: an attacker's wrong tokens lock out only
// the attacker. Without -trusted-proxies the header is ignored, so a
// client cannot pick its own key.
func TestLimitsBehindTrustedProxy(t *testing.T) {
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
		if w := send("POST", "/login", "token=guess-"+fmt.Sprint(i), "192.0.2.1, "+attacker, nil); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	if w := send("POST", "/login", "token=guess-x", attacker, nil); w.Code != http.StatusTooManyRequests {
		t.Errorf("attacker after 10 failures: %d, want 429", w.Code)
	}
	if w := send("POST", "/login", "token=guess-y", admin, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("another client behind the same proxy: %d, want 401", w.Code)
	}
	if w := send("POST", "/login", "token=guess-z", "192.0.2.1", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("the address the attacker forged: %d, want 401", w.Code)
	}
	// Invitation guesses too: the attacker's junk does not count for the admin.
	for i := range 11 {
		send("GET", "/invite/junk-"+fmt.Sprint(i), "", attacker, nil)
	}
	if w := send("GET", "/invite/junk-x", "", attacker, nil); w.Code != http.StatusTooManyRequests {
		t.Errorf("attacker's 12th junk link: %d, want 429", w.Code)
	}
	if w := send("GET", "/invite/junk-x", "", admin, nil); w.Code != http.StatusNotFound {
		t.Errorf("another client's junk link: %d, want 404", w.Code)
	}
}

// Wrong bearer tokens on /api count in the login limiter: after ten, the
// address is refused on the API and on the login form, right token or
// not; other addresses are not affected.
func TestBearerFailuresShareTheLoginLimit(t *testing.T) {
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
		if w := send("GET", "/api/customers/contoso/m365/status", "", attacker, map[string]string{"Authorization": "Bearer guess-" + fmt.Sprint(i)}); w.Code != http.StatusUnauthorized {
			t.Fatalf("API guess %d: %d", i, w.Code)
		}
		if w := send("GET", "/dev/outbox", "", attacker, map[string]string{"Authorization": "Bearer guess-" + fmt.Sprint(i)}); w.Code != http.StatusUnauthorized {
			t.Fatalf("outbox guess %d: %d", i, w.Code)
		}
	}
	w := send("GET", "/api/customers/contoso/m365/status", "", attacker, map[string]string{"Authorization": "Bearer guess-x"})
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), `"code":"rate_limited"`) {
		t.Errorf("API with a wrong token after 10 failures: %d %s", w.Code, w.Body)
	}
	// The right token is checked before the limiter: whoever shares the
	// attacker's address is not locked out.
	if w := send("GET", "/api/customers/contoso/m365/status", "", attacker, map[string]string{"Authorization": "Bearer " + d.token}); w.Code != http.StatusOK {
		t.Errorf("API with the right token after 10 failures: %d %s", w.Code, w.Body)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if w := send("POST", "/login", "token=guess-y", attacker, form); w.Code != http.StatusTooManyRequests {
		t.Errorf("login form with a wrong token after 10 API failures: %d, want 429", w.Code)
	}
	if w := send("POST", "/login", "token="+url.QueryEscape(d.token), attacker, form); w.Code != http.StatusSeeOther {
		t.Errorf("login form with the right token after 10 API failures: %d, want 303", w.Code)
	}
	// IPv6 clients are one key per /64: another address of the same /64
	// shares the budget, another /64 does not.
	for range loginMaxFailures {
		send("GET", "/api/customers/contoso/m365/status", "", admin, map[string]string{"Authorization": "Bearer wrong"})
	}
	if w := send("GET", "/api/customers/contoso/m365/status", "", "[2001:db8:1:2::ffff]:1", map[string]string{"Authorization": "Bearer wrong-again"}); w.Code != http.StatusTooManyRequests {
		t.Errorf("same /64: %d, want 429", w.Code)
	}
	if w := send("GET", "/api/customers/contoso/m365/status", "", "[2001:db8:1:3::5]:1", map[string]string{"Authorization": "Bearer wrong-again"}); w.Code != http.StatusUnauthorized {
		t.Errorf("another /64: %d, want 401", w.Code)
	}
	// Requests without a bearer token (the portal's pages) are untouched.
	if w := send("GET", "/login", "", attacker, nil); w.Code != http.StatusOK {
		t.Errorf("login page: %d", w.Code)
	}
}
