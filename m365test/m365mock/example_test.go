package m365mock_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/jarcoal/httpmock"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/m365test/m365mock"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// organizationName is the host's code under test: it reads the display
// name of a customer's tenant from Graph with the customer's credential.
func organizationName(ctx context.Context, hc *http.Client, access *m365access.Manager, customer string) (string, error) {
	tok, err := access.Credential(customer).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		return "", err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://graph.microsoft.com/v1.0/organization", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Value []struct{ DisplayName string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Value) == 0 {
		return "", fmt.Errorf("organization: %s", resp.Status)
	}
	return body.Value[0].DisplayName, nil
}

// A host's unit test mocks a customer's tenant with httpmock: the fake
// answers Entra ID and Graph, the test's own responders everything else.
func Example() {
	// The customer's tenant, with an app registration the customer created
	// and consented to (the appRegistration mode).
	srv := m365test.NewServer(&m365test.Options{InMemory: true})
	defer srv.Close()
	tenant, _ := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd"})
	app, _ := srv.AddApp(m365test.AppOptions{HomeTenant: tenant.ID, SingleTenant: true,
		Secrets: []m365test.Secret{{Value: "customer-app-secret-0123456789"}}, ApplicationPermissions: []string{"Organization.Read.All"}})
	_ = srv.GrantAdminConsent(tenant.ID, app.ClientID)

	mt := m365mock.New(srv)
	mt.RegisterResponder("GET", "https://crm.example/health", httpmock.NewStringResponder(200, "ok")) // the host's own mocks
	hc := &http.Client{Transport: mt}

	key, _ := tokenstore.GenerateKey("k1")
	kr, _ := tokenstore.NewKeyring(key)
	access, err := m365access.New(m365access.Config{Store: tokenstore.New(memstore.New(), kr), AppRegistrationOnly: true,
		HTTPClient: hc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	mode, secret := m365access.ModeAppRegistration, "customer-app-secret-0123456789"
	if _, err := access.SaveSettings(ctx, "contoso", m365access.SettingsUpdate{Tenant: &tenant.ID, Mode: &mode,
		AppClientID: &app.ClientID, AppClientSecret: &secret}); err != nil {
		log.Fatal(err)
	}

	name, err := organizationName(ctx, hc, access, "contoso")
	fmt.Println(name, err)
	fmt.Println(mt.GetCallCountInfo()["GET =~^https://graph\\.microsoft\\.com(:443)?/"] > 0)
	// Output:
	// Contoso Ltd <nil>
	// true
}
