package graphclient_test

import (
	"context"
	"errors"
	"testing"

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
	if err != nil {
		t.Fatal(err)
	}
	const provider, customerApp = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	if _, err := srv.AddApp(m365test.AppOptions{ClientID: provider, DisplayName: "Provider", Secrets: []m365test.Secret{{Value: "provider-secret-0123456789"}},
		RedirectURIs: []string{"https://portal.example/auth/callback", "https://portal.example/consent/callback"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddApp(m365test.AppOptions{ClientID: customerApp, DisplayName: "Customer app", HomeTenant: contoso.ID, SingleTenant: true,
		Secrets: []m365test.Secret{{Value: "customer-secret-0123456789"}}, ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All"}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.GrantAdminConsent(contoso.ID, customerApp); err != nil {
		t.Fatal(err)
	}
	key, err := tokenstore.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := tokenstore.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	store := tokenstore.New(memstore.New(), kr)
	m, err := m365access.New(m365access.Config{
		Provider:   m365access.ProviderConfig{ClientID: provider, ClientSecret: "provider-secret-0123456789", PublicBaseURL: "https://portal.example"},
		Store:      store,
		HTTPClient: srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	mode := m365access.ModeAppRegistration
	if _, err := m.SaveSettings(ctx, "c1", m365access.SettingsUpdate{Tenant: str(contoso.ID), Mode: &mode,
		AppClientID: str(customerApp), AppClientSecret: str("customer-secret-0123456789")}); err != nil {
		t.Fatal(err)
	}

	gc, err := graphclient.New(ctx, m, "c1")
	if err != nil {
		t.Fatal(err)
	}
	orgs, err := gc.Organization().Get(ctx, nil)
	if err != nil || len(orgs.GetValue()) != 1 || *orgs.GetValue()[0].GetId() != contoso.ID {
		t.Fatalf("organization: %v", err)
	}
	// A Graph error becomes an *m365access.Error by its code.
	_, err = gc.Users().ByUserId("nobody@contoso.onmicrosoft.com").Get(ctx, nil)
	var ae *m365access.Error
	if !errors.As(graphclient.FromGraph("read a user", "c1", err), &ae) || ae.GraphCode != "Request_ResourceNotFound" || ae.HTTPStatus != 404 {
		t.Errorf("Graph error: %v", err)
	}
	if _, err := graphclient.New(ctx, m, "unknown"); err == nil {
		t.Error("a customer without settings got a client")
	}
}
