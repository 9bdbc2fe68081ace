package m365access

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testTenant = "aaaaaaaa-0000-0000-0000-000000000001"

// verifierEnv is a Manager whose signing key cache already holds the
// tenant's key (no network), and that key.
type verifierEnv struct {
	m   *Manager
	ep  CloudEndpoints
	key *rsa.PrivateKey
	now time.Time
}

var testSigningKey, otherSigningKey = mustKey(), mustKey()

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func newVerifierEnv(t testing.TB) *verifierEnv {
	m, _, _ := newTestManager(t, nil)
	v := &verifierEnv{m: m, ep: DefaultClouds[CloudGlobal], key: testSigningKey, now: time.Unix(1_800_000_000, 0)}
	m.now = func() time.Time { return v.now }
	m.jwks.sets = map[string]*jwksSet{v.ep.AuthorityHost + "/" + testTenant + "/discovery/v2.0/keys": {
		keys: map[string]*rsa.PublicKey{"k1": &testSigningKey.PublicKey}, fetched: time.Now()}}
	return v
}

// sign makes an id_token with claims changed by mod.
func (v *verifierEnv) sign(t testing.TB, key *rsa.PrivateKey, method jwt.SigningMethod, mod func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{
		"iss": v.ep.AuthorityHost + "/" + testTenant + "/v2.0", "aud": testProviderID, "tid": testTenant,
		"oid": "11111111-0000-0000-0000-00000000000a", "nonce": "n1", "preferred_username": "admin@contoso.com",
		"iat": v.now.Unix(), "nbf": v.now.Unix(), "exp": v.now.Add(time.Hour).Unix(), "wids": []string{RoleGlobalAdministrator},
	}
	if mod != nil {
		mod(c)
	}
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = "k1"
	var signKey any = key
	if method == jwt.SigningMethodHS256 {
		signKey = []byte("secret")
	}
	if method == jwt.SigningMethodNone {
		signKey = jwt.UnsafeAllowNoneSignatureType
	}
	s, err := tok.SignedString(signKey)
	require.NoError(t, err)
	return s
}

func TestVerifyIDToken(t *testing.T) {
	t.Parallel()
	v := newVerifierEnv(t)
	set := func(k string, val any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = val } }
	del := func(k string) func(jwt.MapClaims) { return func(c jwt.MapClaims) { delete(c, k) } }
	tests := []struct {
		name   string
		key    *rsa.PrivateKey
		method jwt.SigningMethod
		mod    func(jwt.MapClaims)
		want   error
	}{
		{"valid", nil, nil, nil, nil},
		{"valid, 4 minutes of clock skew", nil, nil, set("iat", time.Unix(1_800_000_000, 0).Add(4*time.Minute).Unix()), nil},
		{"signed by another key", otherSigningKey, nil, nil, ErrIDTokenInvalid},
		{"alg none", nil, jwt.SigningMethodNone, nil, ErrIDTokenInvalid},
		{"alg HS256", nil, jwt.SigningMethodHS256, nil, ErrIDTokenInvalid},
		{"other issuer", nil, nil, set("iss", "https://login.evil.example/"+testTenant+"/v2.0"), ErrIDTokenInvalid},
		{"v1 issuer", nil, nil, set("iss", "https://sts.windows.net/"+testTenant+"/"), ErrIDTokenInvalid},
		{"other audience", nil, nil, set("aud", "99999999-0000-0000-0000-000000000000"), ErrIDTokenInvalid},
		{"expired", nil, nil, set("exp", time.Unix(1_800_000_000, 0).Add(-6*time.Minute).Unix()), ErrIDTokenInvalid},
		{"no exp", nil, nil, del("exp"), ErrIDTokenInvalid},
		{"issued in the future", nil, nil, set("iat", time.Unix(1_800_000_000, 0).Add(10*time.Minute).Unix()), ErrIDTokenInvalid},
		{"no iat", nil, nil, del("iat"), ErrIDTokenInvalid},
		{"not valid yet", nil, nil, set("nbf", time.Unix(1_800_000_000, 0).Add(10*time.Minute).Unix()), ErrIDTokenInvalid},
		{"other nonce", nil, nil, set("nonce", "n2"), ErrNonceMismatch},
		{"no nonce", nil, nil, del("nonce"), ErrNonceMismatch},
		{"other tenant", nil, nil, func(c jwt.MapClaims) {
			c["tid"] = "bbbbbbbb-0000-0000-0000-000000000001"
			c["iss"] = "https://login.microsoftonline.com/bbbbbbbb-0000-0000-0000-000000000001/v2.0"
		}, ErrTenantMismatch},
		{"no oid", nil, nil, del("oid"), ErrIDTokenInvalid},
	}
	for _, tc := range tests {
		key, method := tc.key, tc.method
		if key == nil {
			key = v.key
		}
		if method == nil {
			method = jwt.SigningMethodRS256
		}
		raw := v.sign(t, key, method, tc.mod)
		c, err := v.m.verifyIDToken(t.Context(), v.ep, raw, testTenant, "n1")
		if tc.want != nil {
			assert.ErrorIs(t, err, tc.want, tc.name)
			continue
		}
		if assert.NoError(t, err, tc.name) {
			assert.NotEmpty(t, c.ObjectID, tc.name)
			assert.Equal(t, testTenant, c.TenantID, tc.name)
			assert.True(t, c.HasRoles, tc.name)
			assert.Len(t, c.Roles, 1, tc.name)
		}
	}
	// A key id the tenant does not publish (the cache was just filled, so
	// no fetch happens) is refused.
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"aud": testProviderID, "exp": v.now.Add(time.Hour).Unix(), "iat": v.now.Unix()})
	tok.Header["kid"] = "unknown"
	raw, _ := tok.SignedString(v.key)
	_, err := v.m.verifyIDToken(t.Context(), v.ep, raw, testTenant, "n1")
	assert.ErrorIs(t, err, ErrIDTokenInvalid, "unknown kid")
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{`{}`, `{"keys":[]}`, `not json`, `{"keys":[{"kty":"EC","kid":"a"}]}`, `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`} {
		_, err := parseJWKS(strings.NewReader(doc))
		assert.Error(t, err, "parseJWKS(%s) accepted", doc)
	}
}

// Concurrent sign-ins share one fetch of the tenant's keys; an unknown
// kid re-reads them (Entra publishes new keys before signing with them).
func TestJWKSFetchedOnceAndOnKeyRollover(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	var mu sync.Mutex
	published := map[string]*rsa.PublicKey{"k1": &testSigningKey.PublicKey}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		var keys []map[string]string
		for kid, k := range published {
			keys = append(keys, map[string]string{"kty": "RSA", "use": "sig", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "e": "AQAB"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	defer srv.Close()
	v := newVerifierEnv(t)
	v.m.jwks.sets = nil
	v.ep = CloudEndpoints{AuthorityHost: srv.URL}
	raw := v.sign(t, v.key, jwt.SigningMethodRS256, func(c jwt.MapClaims) { c["iss"] = srv.URL + "/" + testTenant + "/v2.0" })
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := v.m.verifyIDToken(t.Context(), v.ep, raw, testTenant, "n1")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), fetches.Load(), "key fetches for 20 concurrent verifications")
	// Key rollover: a token signed with a newly published key.
	mu.Lock()
	published["k2"] = &otherSigningKey.PublicKey
	mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": srv.URL + "/" + testTenant + "/v2.0", "aud": testProviderID,
		"tid": testTenant, "oid": "o", "nonce": "n1", "iat": v.now.Unix(), "exp": v.now.Add(time.Hour).Unix()})
	tok.Header["kid"] = "k2"
	raw2, _ := tok.SignedString(otherSigningKey)
	// Within jwksMinRefetch of the last fetch the unknown kid is refused
	// without a fetch...
	_, err := v.m.verifyIDToken(t.Context(), v.ep, raw2, testTenant, "n1")
	require.ErrorIs(t, err, ErrIDTokenInvalid, "unknown kid right after a fetch")
	require.Equal(t, int32(1), fetches.Load(), "no fetch for an unknown kid right after a fetch")
	// ...and later it triggers one.
	v.m.jwks.mu.Lock()
	for _, s := range v.m.jwks.sets {
		s.fetched = s.fetched.Add(-jwksMinRefetch)
	}
	v.m.jwks.mu.Unlock()
	_, err = v.m.verifyIDToken(t.Context(), v.ep, raw2, testTenant, "n1")
	require.NoError(t, err, "rolled-over key")
	require.Equal(t, int32(2), fetches.Load(), "the rolled-over key is fetched")
}

// BenchmarkVerifyIDToken: one id_token check with the tenant's keys
// cached (parse, RS256 verify, claim checks): the cost the verification
// adds to every completed sign-in.
func BenchmarkVerifyIDToken(b *testing.B) {
	v := newVerifierEnv(b)
	raw := v.sign(b, v.key, jwt.SigningMethodRS256, nil)
	for b.Loop() {
		_, err := v.m.verifyIDToken(b.Context(), v.ep, raw, testTenant, "n1")
		require.NoError(b, err)
	}
}
