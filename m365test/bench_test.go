package m365test_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/tenantgate/tenantgate/m365test"
)

// BenchmarkUsersPage999 measures one GET /users page of 999 users with a
// $select of 6 properties over TLS, from a 50,000-user tenant.
func BenchmarkUsersPage999(b *testing.B) {
	fx := newFixture(b, 50_000)
	if err := fx.srv.GrantAdminConsent(fx.contoso.ID, fx.provider.ClientID); err != nil {
		b.Fatal(err)
	}
	tok := appToken(b, fx, fx.contoso.ID)
	u := fx.srv.GraphURL() + "/users?" + url.Values{"$top": {"999"}, "$select": {"id,displayName,userPrincipalName,usageLocation,department,accountEnabled"}}.Encode()
	c := fx.srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}

// BenchmarkClientCredentialsToken measures the token endpoint issuing an
// app-only token (secret authentication, RS256 signing).
func BenchmarkClientCredentialsToken(b *testing.B) {
	fx := newFixture(b, 10)
	if err := fx.srv.GrantAdminConsent(fx.contoso.ID, fx.provider.ClientID); err != nil {
		b.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {fx.provider.ClientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}}
	u := fx.srv.AuthorityURL(fx.contoso.ID) + "/oauth2/v2.0/token"
	c := fx.srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.PostForm(u, form)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}

// BenchmarkNewServerWith50000Users measures starting a server and adding
// the demo tenant (certificate generation included, signing key shared).
func BenchmarkNewServerWith50000Users(b *testing.B) {
	key := sharedKey(b)
	b.ReportAllocs()
	for b.Loop() {
		srv := m365test.NewServer(&m365test.Options{SigningKey: key})
		if _, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 50_000}); err != nil {
			b.Fatal(err)
		}
		srv.Close()
	}
}
