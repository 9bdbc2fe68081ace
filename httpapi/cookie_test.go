package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365access"
)

// Cookies at the root of an https origin use the __Host- prefix, which
// browsers accept only with Secure, Path=/ and no Domain: a sibling
// subdomain cannot set or shadow them. Under a path only __Secure- fits.
func TestCookiePrefixes(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		public, name, path string
		secure             bool
	}{
		{"https://portal.example", "__Host-" + bindingCookie, "/", true},
		{"https://portal.example/", "__Host-" + bindingCookie, "/", true},
		{"https://portal.example/m365", "__Secure-" + bindingCookie, "/m365", true},
		{"http://127.0.0.1:8080", bindingCookie, "/", false},
	}
	for _, tc := range tests {
		cfg := e.cfg
		base := strings.TrimSuffix(tc.public, "/")
		d := depsOf(cfg)
		d.access = urlsAccess{d.access, m365access.PublicURLs{BaseURL: base, RedirectURI: base + "/auth/callback", ConsentRedirectURI: base + "/consent/callback"}}
		d.invitations = baseInvites{d.invitations, tc.public}
		c, err := cfg.checkWith(false, d)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		c.setBindingCookie(w, "v", time.Now().Add(time.Hour))
		c.clearCookie(w, bindingCookie)
		cookies := (&http.Response{Header: w.Header()}).Cookies()
		if len(cookies) != 2 {
			t.Fatalf("%s: %d cookies", tc.public, len(cookies))
		}
		for _, ck := range cookies {
			if ck.Name != tc.name || ck.Path != tc.path || ck.Secure != tc.secure || ck.Domain != "" || !ck.HttpOnly {
				t.Errorf("%s: cookie %s Path=%q Secure=%v Domain=%q, want %s Path=%q Secure=%v", tc.public, ck.Name, ck.Path, ck.Secure, ck.Domain, tc.name, tc.path, tc.secure)
			}
		}
		r := httptest.NewRequest("GET", "/auth/callback", nil)
		r.AddCookie(&http.Cookie{Name: tc.name, Value: "v"})
		if got := c.cookie(r, bindingCookie); got != "v" {
			t.Errorf("%s: reading the cookie back = %q", tc.public, got)
		}
	}
}

// A sibling subdomain is same-site but cross-origin: its pages cannot
// post to the wizard's start form or the admin API.
func TestSiblingSubdomainRefused(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct{ method, path string }{
		{"POST", testPublic + "/invite/" + strings.Repeat("A", 43) + "/start"},
		{"PUT", testPublic + "/customers/a/m365"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tokenA)
		r.Header.Set("Sec-Fetch-Site", "same-site")
		r.Header.Set("Origin", "https://evil.portal.example")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s %s from a sibling subdomain: %d, want 403", tc.method, tc.path, w.Code)
		}
	}
}
