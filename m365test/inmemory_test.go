package m365test_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestInMemory: with Options.InMemory the fake opens no port; MSAL with
// the real authority and Graph at its real URL reach it through its
// client, the browser pages too, and every other host is refused.
func TestInMemory(t *testing.T) {
	t.Parallel()
	srv := m365test.NewServer(&m365test.Options{InMemory: true})
	defer srv.Close()
	assert.Equal(t, "https://m365test.invalid:443", srv.URL())
	assert.Equal(t, "http://browser.m365test.invalid:80", srv.BrowserURL())
	tenant, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 10})
	require.NoError(t, err)
	app, err := srv.AddApp(m365test.AppOptions{Secrets: []m365test.Secret{{Value: "test-secret"}}, ApplicationPermissions: []string{"User.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, srv.GrantAdminConsent(tenant.ID, app.ClientID))

	cred, err := confidential.NewCredFromSecret("test-secret")
	require.NoError(t, err)
	cc, err := confidential.New("https://login.microsoftonline.com/"+tenant.ID, app.ClientID, cred, confidential.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	tok, err := cc.AcquireTokenByCredential(context.Background(), []string{"https://graph.microsoft.com/.default"})
	require.NoError(t, err)

	for _, base := range []string{"https://graph.microsoft.com/v1.0", srv.GraphURL()} {
		req, _ := http.NewRequest(http.MethodGet, base+"/users?$top=5", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, base)
		assert.Contains(t, string(body), `"@odata.nextLink"`, base)
	}

	// The authorize endpoint redirects to the in-memory browser listener,
	// which serves the sign-in page to the same client.
	q := url.Values{"client_id": {app.ClientID}, "response_type": {"code"}, "redirect_uri": {"https://portal.example/auth/callback"}, "scope": {"User.Read"}}
	resp, err := srv.Client().Get("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "browser.m365test.invalid:80", resp.Request.URL.Host)

	_, err = srv.Client().Get("https://example.com/")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in-memory fake cloud reaches only")
	_, err = http.Get(srv.URL() + "/common/discovery/v2.0/keys") // no listener behind the name
	assert.Error(t, err)
}

func TestAddProvider(t *testing.T) {
	t.Parallel()
	srv := m365test.NewServer(&m365test.Options{InMemory: true})
	defer srv.Close()
	p, err := srv.AddProvider(m365test.ProviderOptions{PublicBaseURL: "https://portal.example/m365/"})
	require.NoError(t, err)
	assert.Equal(t, "https://portal.example/m365", p.PublicBaseURL)
	assert.Equal(t, []string{"https://portal.example/m365/auth/callback", "https://portal.example/m365/consent/callback"}, p.RedirectURIs)
	assert.Equal(t, []string{srv.BrowserURL()}, p.SignInOrigins)
	assert.Len(t, p.ClientSecret, 32)
	assert.NotEmpty(t, p.ClientID)
	assert.Same(t, srv.Transport(), p.GraphTransport)
	got, ok := srv.App(p.ClientID)
	require.True(t, ok)
	assert.Same(t, p.App, got)

	for _, bad := range []string{"", "/m365", "portal.example", "https://portal.example/?a=b", "ftp://portal.example"} {
		_, err := srv.AddProvider(m365test.ProviderOptions{PublicBaseURL: bad})
		if assert.Error(t, err, bad) {
			assert.True(t, strings.Contains(err.Error(), "PublicBaseURL"), err.Error())
		}
	}
}
