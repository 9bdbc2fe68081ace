package m365test_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/m365test"
)

// A provider's test: a fake tenant with the demo users, an app with admin
// consent, an app-only token from MSAL and a filtered Graph query.
func Example() {
	srv := m365test.NewServer(nil)
	defer srv.Close()
	tenant, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd", Users: 50_000})
	if err != nil {
		log.Fatal(err)
	}
	app, err := srv.AddApp(m365test.AppOptions{Secrets: []m365test.Secret{{Value: "test-secret"}}, ApplicationPermissions: []string{"User.Read.All"}})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.GrantAdminConsent(tenant.Domain(), app.ClientID); err != nil {
		log.Fatal(err)
	}

	cred, err := confidential.NewCredFromSecret("test-secret")
	if err != nil {
		log.Fatal(err)
	}
	cc, err := confidential.New(srv.AuthorityURL("organizations"), app.ClientID, cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := cc.AcquireTokenByCredential(context.Background(), []string{"https://graph.microsoft.com/.default"}, confidential.WithTenantID(tenant.ID))
	if err != nil {
		log.Fatal(err)
	}

	q := url.Values{"$filter": {"usageLocation eq 'IT'"}, "$count": {"true"}, "$top": {"1"}, "$select": {"displayName,city"}}
	req, _ := http.NewRequest(http.MethodGet, srv.GraphURL()+"/users?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("ConsistencyLevel", "eventual")
	resp, err := srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Count int `json:"@odata.count"`
		Value []struct {
			DisplayName string `json:"displayName"`
			City        string `json:"city"`
		} `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Count, "users in Italy; first:", page.Value[0].DisplayName, "in", page.Value[0].City)
	// Output: 5000 users in Italy; first: User 00004 in Milan
}
