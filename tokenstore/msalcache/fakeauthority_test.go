package msalcache_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const (
	clientID     = "11111111-2222-3333-4444-555555555555"
	clientSecret = "provider-client-secret"
	userOID      = "aaaaaaaa-0000-0000-0000-000000000001"
)

// fakeAuthority is a minimal Entra ID on an httptest TLS server: tenant
// discovery and a token endpoint for the client credentials,
// authorization code and refresh token grants. It counts token requests.
type fakeAuthority struct {
	srv *httptest.Server

	mu       sync.Mutex
	grants   map[string]int  // grant_type -> requests
	issued   int             // tokens issued so far
	liveRTs  map[string]bool // refresh tokens it accepts
	redeemed []string        // refresh tokens presented, in order
}

func newFakeAuthority(t *testing.T) *fakeAuthority {
	f := &fakeAuthority{grants: map[string]int{}, liveRTs: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", f.token)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The server's goroutine, not the test's: assert only.
		assert.Fail(t, "fake authority: unexpected request", "%s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAuthority) url() string { return f.srv.URL }

func (f *fakeAuthority) requests(grant string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.grants[grant]
}

func (f *fakeAuthority) discovery(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	base := f.srv.URL + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"authorization_endpoint": base + "/oauth2/v2.0/authorize",
		"token_endpoint":         base + "/oauth2/v2.0/token",
		"issuer":                 base + "/v2.0",
	})
}

func (f *fakeAuthority) token(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	if r.PostForm.Get("client_id") != clientID || r.PostForm.Get("client_secret") != clientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_codes": []int{7000215}})
		return
	}
	grant := r.PostForm.Get("grant_type")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grants[grant]++
	f.issued++
	n := f.issued
	resp := map[string]any{
		"token_type":     "Bearer",
		"expires_in":     3600,
		"ext_expires_in": 3600,
		"scope":          r.PostForm.Get("scope"),
	}
	switch grant {
	case "client_credentials":
		resp["access_token"] = fmt.Sprintf("AT-app-%s-%d", tenant, n)
	case "authorization_code", "refresh_token":
		if grant == "authorization_code" && r.PostForm.Get("code") != "the-code" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant"})
			return
		}
		if grant == "refresh_token" {
			rt := r.PostForm.Get("refresh_token")
			f.redeemed = append(f.redeemed, rt)
			if !f.liveRTs[rt] {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_codes": []int{70008}})
				return
			}
		}
		rt := fmt.Sprintf("RT-%s-%d", tenant, n)
		f.liveRTs[rt] = true
		resp["access_token"] = fmt.Sprintf("AT-user-%s-%d", tenant, n)
		resp["refresh_token"] = rt
		resp["id_token"] = f.idToken(tenant)
		resp["client_info"] = b64json(map[string]any{"uid": userOID, "utid": tenant})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (f *fakeAuthority) idToken(tenant string) string {
	now := time.Now().Unix()
	claims := map[string]any{
		"aud": clientID, "iss": f.srv.URL + "/" + tenant + "/v2.0",
		"iat": now, "nbf": now, "exp": now + 3600,
		"oid": userOID, "sub": "subject-" + userOID, "tid": tenant,
		"preferred_username": "admin@contoso.onmicrosoft.com", "name": "Global Admin",
	}
	return b64json(map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64json(claims) + ".c2ln"
}

func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
