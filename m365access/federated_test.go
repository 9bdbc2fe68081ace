package m365access

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// federatedManager is e's Manager with the provider app authenticating
// by assert instead of its secret.
func (e *env) federatedManager(t *testing.T, assert func(context.Context) (string, error)) *Manager {
	t.Helper()
	log, _ := newCapture()
	m, err := New(Config{
		Provider: ProviderConfig{ClientID: testProviderID, ClientAssertion: assert, PublicBaseURL: "https://portal.example/m365",
			AppPermissions: e.appPermissions},
		Store: e.store, Locker: e.store, HTTPClient: e.srv.Client(), Logger: log,
	})
	require.NoError(t, err)
	return m
}

// TestFederatedProviderCredential: the provider app authenticates with a
// federated identity credential (a managed identity's token from IMDS, a
// workload identity token file): the token connection completes; a
// token of another issuer, subject or audience, or an expired one, is
// refused with Entra's AADSTS code, and the error never shows the token.
func TestFederatedProviderCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	const issuerURL = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0"
	const subject = "6a1c0e2b-8f3d-4a5e-9b7c-0d1e2f3a4b5c" // the managed identity's object ID
	iss, err := e.srv.AddFederatedIssuer(issuerURL)
	require.NoError(t, err)
	other, err := e.srv.AddFederatedIssuer("https://token.actions.githubusercontent.com")
	require.NoError(t, err)
	require.NoError(t, e.srv.AddFederatedCredential(testProviderID, m365test.FederatedCredential{Name: "portal-mi", Issuer: issuerURL, Subject: subject}))
	imds := httptest.NewServer(iss.ManagedIdentityHandler(subject))
	t.Cleanup(imds.Close)

	fileWith := func(tok string) func(context.Context) (string, error) {
		p := filepath.Join(t.TempDir(), "token")
		require.NoError(t, os.WriteFile(p, []byte(tok+"\n"), 0o600))
		return TokenFileAssertion(p)
	}
	mint := func(fi *m365test.FederatedIssuer, sub, aud string, ttl time.Duration) string {
		tok, err := fi.Token(sub, aud, ttl)
		require.NoError(t, err)
		return tok
	}
	cases := []struct {
		name   string
		assert func(context.Context) (string, error)
		code   string // "" succeeds
	}{
		{"managed identity (IMDS)", ManagedIdentityAssertion(ManagedIdentityOptions{Endpoint: imds.URL + "/metadata/identity/oauth2/token"}), ""},
		{"workload identity token file", fileWith(mint(iss, subject, TokenExchangeAudience, time.Hour)), ""},
		{"another issuer", fileWith(mint(other, subject, TokenExchangeAudience, time.Hour)), "AADSTS700211"},
		{"another subject", fileWith(mint(iss, "system:serviceaccount:default:someone-else", TokenExchangeAudience, time.Hour)), "AADSTS700213"},
		{"another audience", fileWith(mint(iss, subject, "api://something-else", time.Hour)), "AADSTS700212"},
		{"expired", fileWith(mint(iss, subject, TokenExchangeAudience, -time.Hour)), "AADSTS700024"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := e.federatedManager(t, c.assert)
			ctx := context.Background()
			customer := "fed" + string(rune('a'+i))
			_, err := m.SaveSettings(ctx, customer, SettingsUpdate{Tenant: ptr("contoso.com"), Mode: ptr(ModeToken), ServiceAccount: ptr(e.contoso.AdminUPN())})
			require.NoError(t, err)
			q := e.signIn(t, m, customer, m365test.AuthorizeAnswer{AdminConsent: true}, nil)
			conn, err := m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
			if c.code == "" {
				require.NoError(t, err)
				assert.Equal(t, e.contoso.ID, conn.TenantID)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.code)
			assert.NotContains(t, err.Error(), "eyJ", "the error shows no token")
		})
	}
	assert.Positive(t, iss.Issued())
}

// TestProviderCredentialOneOf: a client assertion excludes a secret and a
// certificate.
func TestProviderCredentialOneOf(t *testing.T) {
	t.Parallel()
	p := ProviderConfig{ClientID: testProviderID, ClientSecret: testProviderSecret, PublicBaseURL: "https://portal.example/m365",
		ClientAssertion: TokenFileAssertion("/nonexistent")}
	err := p.Validate(DefaultClouds)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "one credential")
	p.ClientSecret = ""
	assert.NoError(t, p.Validate(DefaultClouds))
}

// TestProviderCredentialExpiry: the provider app's certificate expiry and
// its secret's (when configured) are known; a client assertion has none.
func TestProviderCredentialExpiry(t *testing.T) {
	t.Parallel()
	notAfter := time.Now().Add(20 * 24 * time.Hour).UTC().Truncate(time.Second)
	certPEM, _ := selfSignedPEM(t, notAfter)
	secretExp := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		p    ProviderConfig
		kind ProviderCredentialKind
		at   time.Time
		ok   bool
	}{
		{"certificate", ProviderConfig{CertificatePEM: []byte(certPEM)}, ProviderCertificate, notAfter, true},
		{"secret with expiry", ProviderConfig{ClientSecret: testProviderSecret, ClientSecretExpiresAt: secretExp}, ProviderClientSecret, secretExp, true},
		{"secret without expiry", ProviderConfig{ClientSecret: testProviderSecret}, ProviderClientSecret, time.Time{}, false},
		{"client assertion", ProviderConfig{ClientAssertion: TokenFileAssertion("x")}, ProviderClientAssertion, time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &Manager{provider: c.p}
			kind, at, ok := m.ProviderCredentialExpiry()
			assert.Equal(t, c.kind, kind)
			assert.Equal(t, c.ok, ok)
			assert.True(t, c.at.Equal(at), "expiry %v, want %v", at, c.at)
		})
	}
}
