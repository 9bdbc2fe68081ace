package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/m365access"
)

// Cookies at the root of an https origin use the __Host- prefix, which
// browsers accept only with Secure, Path=/ and no Domain: a sibling
// subdomain cannot set or shadow them. Under a path only __Secure- fits.
func TestCookiePrefixes(t *testing.T) {
	t.Parallel()
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
		require.NoError(t, err)
		w := httptest.NewRecorder()
		c.setBindingCookie(w, "v", time.Now().Add(time.Hour))
		c.clearCookie(w, bindingCookie)
		cookies := (&http.Response{Header: w.Header()}).Cookies()
		require.Len(t, cookies, 2, "%s: cookies", tc.public)
		for _, ck := range cookies {
			assert.Equal(t, tc.name, ck.Name, "%s: cookie name", tc.public)
			assert.Equal(t, tc.path, ck.Path, "%s: cookie %s Path", tc.public, ck.Name)
			assert.Equal(t, tc.secure, ck.Secure, "%s: cookie %s Secure", tc.public, ck.Name)
			assert.Empty(t, ck.Domain, "%s: cookie %s Domain", tc.public, ck.Name)
			assert.True(t, ck.HttpOnly, "%s: cookie %s HttpOnly", tc.public, ck.Name)
		}
		r := httptest.NewRequest("GET", "/auth/callback", nil)
		r.AddCookie(&http.Cookie{Name: tc.name, Value: "v"})
		assert.Equal(t, "v", c.cookie(r, bindingCookie), "%s: reading the cookie back", tc.public)
	}
}

// A sibling subdomain is same-site but cross-origin: its pages cannot
// post to the wizard's start form or the admin API.
func TestSiblingSubdomainRefused(t *testing.T) {
	t.Parallel()
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
		assert.Equal(t, http.StatusForbidden, w.Code, "%s %s from a sibling subdomain", tc.method, tc.path)
	}
}
