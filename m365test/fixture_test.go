package m365test_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

const (
	providerSecret = "provider-secret-value"
	redirectURI    = "https://portal.example/auth/callback"
	consentURI     = "https://portal.example/consent/callback"
)

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// sharedKey is one RSA key for every test server and certificate of this
// package's tests: generating 2048-bit keys dominates setup otherwise.
func sharedKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

type fixture struct {
	srv      *m365test.Server
	contoso  *m365test.Tenant
	fabrikam *m365test.Tenant
	provider *m365test.App
	native   *m365test.App
	cert     *x509.Certificate
	certKey  *rsa.PrivateKey
}

func selfSignedCert(t testing.TB, key *rsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

// newFixture starts a server with two tenants, a multi-tenant provider app
// (secret + certificate, PKCE required) and a native public client app.
// Access tokens live 4 minutes, so MSAL refreshes on every silent call.
func newFixture(t testing.TB, users int) *fixture {
	t.Helper()
	srv := m365test.NewServer(&m365test.Options{AccessTokenLifetime: 4 * time.Minute, SigningKey: sharedKey(t)})
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, certKey: sharedKey(t)}
	var err error
	f.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com", "contoso.com"}, DisplayName: "Contoso Ltd", Users: users, MFAUsers: []string{"user00001@contoso.onmicrosoft.com"}})
	require.NoError(t, err)
	f.fabrikam, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"fabrikam.onmicrosoft.com"}, DisplayName: "Fabrikam", Users: 10})
	require.NoError(t, err)
	f.cert = selfSignedCert(t, f.certKey, "provider")
	f.provider, err = srv.AddApp(m365test.AppOptions{
		ClientID: "11111111-2222-3333-4444-555555555555", DisplayName: "Provider Portal",
		Secrets:      []m365test.Secret{{Value: providerSecret, Expires: time.Now().Add(365 * 24 * time.Hour)}},
		Certificates: []*x509.Certificate{f.cert}, RedirectURIs: []string{redirectURI, consentURI}, RequirePKCE: true,
		DelegatedPermissions:   []string{"User.Read", "User.Read.All"},
		ApplicationPermissions: []string{"User.Read.All", "CallRecords.Read.All", "Mail.Send", "Organization.Read.All"},
	})
	require.NoError(t, err)
	f.native, err = srv.AddApp(m365test.AppOptions{
		ClientID: "99999999-8888-7777-6666-555555555555", DisplayName: "Native Tool", PublicClient: true,
		RedirectURIs: []string{"http://localhost"}, DelegatedPermissions: []string{"User.Read"},
	})
	require.NoError(t, err)
	return f
}

// aadsts returns the error_codes of an MSAL CallErr, failing the test when
// err is not one.
func aadsts(t testing.TB, err error) []int {
	t.Helper()
	var ce msalerrors.CallErr
	require.ErrorAs(t, err, &ce, "not an MSAL CallErr")
	var body struct {
		Error     string `json:"error"`
		Desc      string `json:"error_description"`
		Codes     []int  `json:"error_codes"`
		TraceID   string `json:"trace_id"`
		CorrID    string `json:"correlation_id"`
		Timestamp string `json:"timestamp"`
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(ce.Resp.Body)
	require.NoError(t, json.Unmarshal(buf.Bytes(), &body), "CallErr body %q", buf.String())
	assert.NotEmpty(t, body.Error, "error body lacks Entra's error: %s", buf.String())
	assert.NotEmpty(t, body.TraceID, "error body lacks Entra's trace_id: %s", buf.String())
	assert.NotEmpty(t, body.CorrID, "error body lacks Entra's correlation_id: %s", buf.String())
	assert.NotEmpty(t, body.Timestamp, "error body lacks Entra's timestamp: %s", buf.String())
	assert.Len(t, body.Codes, 1, "error_codes: %s", buf.String())
	assert.True(t, strings.HasPrefix(body.Desc, "AADSTS"), "error_description %q does not start with AADSTS", body.Desc)
	return body.Codes
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// follow GETs u with the server's client, following redirects until one
// points at prefix, and returns that redirect's URL.
func follow(t testing.TB, srv *m365test.Server, u, prefix string) *url.URL {
	t.Helper()
	c := srv.Client()
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), prefix) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		require.Equal(t, http.StatusFound, resp.StatusCode, "GET %s: want a redirect to %s; body %s", u, prefix, b.String())
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

// jwtClaims decodes a JWT's claims without verifying it.
func jwtClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3, "not a JWT: %q", tok)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}
