package graphclient_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365access/graphclient"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

func TestClientServesTheCustomersTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := m365test.NewServer(nil)
	t.Cleanup(srv.Close)
	contoso, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd", Users: 3})
	require.NoError(t, err)
	const provider, customerApp = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	_, err = srv.AddApp(m365test.AppOptions{ClientID: provider, DisplayName: "Provider", Secrets: []m365test.Secret{{Value: "provider-secret-0123456789"}},
		RedirectURIs: []string{"https://portal.example/auth/callback", "https://portal.example/consent/callback"}})
	require.NoError(t, err)
	_, err = srv.AddApp(m365test.AppOptions{ClientID: customerApp, DisplayName: "Customer app", HomeTenant: contoso.ID, SingleTenant: true,
		Secrets: []m365test.Secret{{Value: "customer-secret-0123456789"}}, ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, srv.GrantAdminConsent(contoso.ID, customerApp))
	key, err := tokenstore.GenerateKey("k1")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(key)
	require.NoError(t, err)
	store := tokenstore.New(memstore.New(), kr)
	m, err := m365access.New(m365access.Config{
		Provider:   m365access.ProviderConfig{ClientID: provider, ClientSecret: "provider-secret-0123456789", PublicBaseURL: "https://portal.example"},
		Store:      store,
		HTTPClient: srv.Client(),
	})
	require.NoError(t, err)
	str := func(s string) *string { return &s }
	mode := m365access.ModeAppRegistration
	_, err = m.SaveSettings(ctx, "c1", m365access.SettingsUpdate{Tenant: str(contoso.ID), Mode: &mode,
		AppClientID: str(customerApp), AppClientSecret: str("customer-secret-0123456789")})
	require.NoError(t, err)

	gc, err := graphclient.New(ctx, m, "c1")
	require.NoError(t, err)
	orgs, err := gc.Organization().Get(ctx, nil)
	require.NoError(t, err, "organization")
	require.Len(t, orgs.GetValue(), 1, "organizations")
	require.Equal(t, contoso.ID, *orgs.GetValue()[0].GetId(), "organization id")
	// A Graph error becomes an *m365access.Error by its code.
	_, err = gc.Users().ByUserId("nobody@contoso.onmicrosoft.com").Get(ctx, nil)
	var ae *m365access.Error
	if assert.ErrorAs(t, graphclient.FromGraph("read a user", "c1", err), &ae, "Graph error: %v", err) {
		assert.Equal(t, "Request_ResourceNotFound", ae.GraphCode, "Graph error code")
		assert.Equal(t, 404, ae.HTTPStatus, "Graph error status")
	}
	_, err = graphclient.New(ctx, m, "unknown")
	assert.Error(t, err, "a customer without settings got a client")
}
