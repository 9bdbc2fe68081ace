package graphmail_test

import (
	"context"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/graphmail"
	"github.com/tenantgate/tenantgate/m365test"
)

// Sending from the provider's own mailbox. Here the provider's tenant is
// the fake cloud's; in production the Graph client uses the provider app's
// app-only credential for its own tenant (Mail.Send granted).
func ExampleNew() {
	srv := m365test.NewServer(nil)
	defer srv.Close()
	tenant, _ := srv.AddTenant(m365test.TenantOptions{Domains: []string{"fabrikam.onmicrosoft.com"}})
	app, _ := srv.AddApp(m365test.AppOptions{HomeTenant: tenant.ID, Secrets: []m365test.Secret{{Value: "s3cret"}},
		ApplicationPermissions: []string{"Mail.Send"}})
	_ = srv.GrantAdminConsent(tenant.ID, app.ClientID)
	cred, _ := confidential.NewCredFromSecret("s3cret")
	cc, _ := confidential.New(srv.AuthorityURL("organizations"), app.ClientID, cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	mailer, err := graphmail.New(graphmail.Config{
		Credential: m365test.AppCredential(cc, tenant.ID),
		Sender:     "admin@fabrikam.onmicrosoft.com",
		Transport:  srv.Transport(), // dials graph.microsoft.com to the fake
	})
	if err != nil {
		panic(err)
	}
	err = mailer.Send(context.Background(), &invite.Message{
		To:      "admin@contoso.example",
		Subject: "Connect your Microsoft 365 tenant",
		HTML:    "<p>Hello</p>",
		Text:    "Hello",
	})
	fmt.Println(err)
	for _, m := range srv.SentMail() {
		fmt.Println(m.From, "->", m.To, m.Subject, m.ContentType)
	}
	// Output:
	// <nil>
	// admin@fabrikam.onmicrosoft.com -> [admin@contoso.example] Connect your Microsoft 365 tenant html
}
