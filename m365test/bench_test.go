package m365test_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// BenchmarkUsersPage999 measures one GET /users page of 999 users with a
// $select of 6 properties over TLS, from a 50,000-user tenant.
func BenchmarkUsersPage999(b *testing.B) {
	fx := newFixture(b, 50_000)
	require.NoError(b, fx.srv.GrantAdminConsent(fx.contoso.ID, fx.provider.ClientID))
	tok := appToken(b, fx, fx.contoso.ID)
	u := fx.srv.GraphURL() + "/users?" + url.Values{"$top": {"999"}, "$select": {"id,displayName,userPrincipalName,usageLocation,department,accountEnabled"}}.Encode()
	c := fx.srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(b, 200, resp.StatusCode)
	}
}

// BenchmarkClientCredentialsToken measures the token endpoint issuing an
// app-only token (secret authentication, RS256 signing).
func BenchmarkClientCredentialsToken(b *testing.B) {
	fx := newFixture(b, 10)
	require.NoError(b, fx.srv.GrantAdminConsent(fx.contoso.ID, fx.provider.ClientID))
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {fx.provider.ClientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}}
	u := fx.srv.AuthorityURL(fx.contoso.ID) + "/oauth2/v2.0/token"
	c := fx.srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.PostForm(u, form)
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(b, 200, resp.StatusCode)
	}
}

// BenchmarkNewServerWith50000Users measures starting a server and adding
// the demo tenant (certificate generation included, signing key shared).
func BenchmarkNewServerWith50000Users(b *testing.B) {
	key := sharedKey(b)
	b.ReportAllocs()
	for b.Loop() {
		srv := m365test.NewServer(&m365test.Options{SigningKey: key})
		_, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 50_000})
		require.NoError(b, err)
		srv.Close()
	}
}
