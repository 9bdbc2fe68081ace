package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/m365access"
)

// FuzzDecodeJSON feeds arbitrary bodies to the settings decoder: it never
// panics, answers every failure with a 4xx problem of a stable code, and
// never echoes control characters.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"tenant":"contoso.com","authMode":"token"}`, `{"tenant":`, `{"x":1}`, `{"tenant":1}`, `{} {}`, ``, `null`,
		`{"clientSecretExpiresAt":"not a time"}`, "{\"tenant\":\"a\x00b\"}", `[1,2,3]`, `{"userFilter":"UsageLocation -eq 'IT'"}`,
	} {
		f.Add([]byte(seed))
	}
	codes := map[string]bool{"unsupported_media_type": true, "body_too_large": true, "malformed_json": true, "invalid_field": true, "empty_body": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("PUT", "/customers/a/m365", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		var dst settingsUpdateJSON
		p := decodeJSON(httptest.NewRecorder(), r, &dst)
		if p == nil {
			return
		}
		require.GreaterOrEqual(t, p.Status, 400, "problem %+v", p)
		require.LessOrEqual(t, p.Status, 499, "problem %+v", p)
		require.True(t, codes[p.Code], "problem %+v: unexpected code", p)
		for _, c := range p.Detail {
			require.False(t, c < 0x20 || c == 0x7f, "control character in detail %q", p.Detail)
		}
	})
}

// FuzzIfMatch: any header parses or is refused without panic, and every
// ETag this package writes reads back as its version.
func FuzzIfMatch(f *testing.F) {
	for _, seed := range []string{`"1"`, `W/"42"`, `*`, `""`, `"-1"`, `"99999999999999999999"`, ` "7" `} {
		f.Add(seed, int64(3))
	}
	f.Fuzz(func(t *testing.T, h string, v int64) {
		r := httptest.NewRequest("PUT", "/", nil)
		r.Header.Set("If-Match", h)
		if got, ok := ifMatch(r); ok {
			require.GreaterOrEqual(t, got, int64(0), "ifMatch(%q)", h)
		}
		if v > 0 {
			r.Header.Set("If-Match", etag(v))
			got, ok := ifMatch(r)
			require.True(t, ok, "etag(%d) does not read back", v)
			require.Equal(t, v, got, "etag(%d) reads back as", v)
		}
	})
}

// FuzzAuthCallback sends arbitrary query strings and binding cookies to
// the wizard's sign-in and consent callbacks: they never panic, never
// answer 2xx or 5xx (no such sign-in was started), never connect anything
// and never reflect what the query carried into the page.
func FuzzAuthCallback(f *testing.F) {
	for _, seed := range []string{
		"state=abc&code=def", "error=access_denied&error_description=AADSTS65004%3A+declined&state=x",
		"error=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "code=&state=", "state=" + strings.Repeat("A", 43) + "&code=0.AAA",
		"admin_consent=True&tenant=evil&state=s", "error=interaction_required&state=s&state=t", "%zz", ";;;&&&==",
	} {
		f.Add(seed, "")
		f.Add(seed, "cookie-value")
	}
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, rawQuery, cookie string) {
		for _, path := range []string{"/auth/callback", "/consent/callback"} {
			r := httptest.NewRequest("GET", testPublic+path, nil)
			r.URL.RawQuery = rawQuery
			if cookie != "" && !strings.ContainsFunc(cookie, func(c rune) bool { return c <= ' ' || c >= 0x7f || strings.ContainsRune("\";,\\", c) }) {
				r.AddCookie(&http.Cookie{Name: "__Secure-" + bindingCookie, Value: cookie})
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			require.GreaterOrEqual(t, w.Code, 400, "%s?%s: status", path, rawQuery)
			if w.Code >= 500 {
				require.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, w.Code, "%s?%s: status", path, rawQuery)
			}
			require.NotEmpty(t, w.Header().Get("Content-Security-Policy"), "%s: no CSP on the failure page", path)
			body := w.Body.String()
			q, _ := url.ParseQuery(rawQuery)
			for _, vs := range q {
				for _, v := range vs {
					if len(v) >= 12 {
						require.NotContains(t, body, v, "%s reflects %q", path, v)
					}
				}
			}
		}
	})
	if st, err := e.m.Status(f.Context(), "a"); err == nil {
		require.NotEqual(f, m365access.StateConnected, st.State, "a fuzzed callback connected a customer")
	}
}

// FuzzInviteStart posts arbitrary tokens and form bodies to the
// invitation start: only the real link redirects to Microsoft; everything
// else gets a 4xx page that does not echo the token.
func FuzzInviteStart(f *testing.F) {
	e := newEnv(f, nil)
	e.saveToken(f, "a", e.contoso)
	e.do(f, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{})
	link := e.linkFrom(f, e.contoso.AdminUPN())
	real := strings.TrimPrefix(link, testPublic+"/invite/")
	for _, seed := range []string{real, real + "x", "", "short", strings.Repeat("A", 43), "..", "%00", real[:20]} {
		f.Add(seed, "", "application/x-www-form-urlencoded")
		f.Add(seed, "a=b&token="+real, "application/x-www-form-urlencoded")
		f.Add(seed, "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--", "multipart/form-data; boundary=x")
	}
	f.Fuzz(func(t *testing.T, token, body, contentType string) {
		if token == "" || token == "." || token == ".." || strings.ContainsAny(token, "/?#") {
			return // another route (or the mux's path cleaning)
		}
		r := httptest.NewRequest("POST", testPublic+"/invite/"+url.PathEscape(token)+"/start", strings.NewReader(body))
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		switch {
		case token == real && (w.Code == http.StatusSeeOther || w.Code == http.StatusTooManyRequests):
			return
		case w.Code == http.StatusSeeOther:
			require.FailNow(t, "start with a wrong token redirected", "token %q, to %s", token, w.Header().Get("Location"))
		case w.Code < 400 || w.Code >= 500:
			require.FailNow(t, "start with a wrong token: not a 4xx", "token %q: status %d", token, w.Code)
		}
		if len(token) >= 12 {
			require.NotContains(t, w.Body.String(), token, "the page echoes the token %q", token)
		}
	})
}
