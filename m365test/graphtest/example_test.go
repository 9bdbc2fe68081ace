package graphtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/m365test/graphtest"
)

// A msgraph-sdk-go client against the fake, with production URLs: MSAL on
// login.microsoftonline.com and Graph on graph.microsoft.com, both reached
// through the server's transport.
func ExampleNewClient() {
	srv := m365test.NewServer(nil)
	defer srv.Close()
	tenant, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd"})
	if err != nil {
		log.Fatal(err)
	}
	app, err := srv.AddApp(m365test.AppOptions{Secrets: []m365test.Secret{{Value: "s3cret"}}, ApplicationPermissions: []string{"Organization.Read.All"}})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.GrantAdminConsent(tenant.ID, app.ClientID); err != nil {
		log.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret("s3cret")
	if err != nil {
		log.Fatal(err)
	}
	cc, err := confidential.New("https://login.microsoftonline.com/organizations", app.ClientID, cred,
		confidential.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	client, err := graphtest.NewClient(srv, graphtest.AppCredential(cc, tenant.ID), &graphtest.Options{RealHost: true})
	if err != nil {
		log.Fatal(err)
	}
	org, err := client.Organization().Get(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*org.GetValue()[0].GetDisplayName())
	// Output: Contoso Ltd
}
