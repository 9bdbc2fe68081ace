package msalcache_test

import (
	"log"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/tokenstore/msalcache"
)

// One MSAL client per customer, its token cache sealed in the store.
// (Compiled, not run: acquiring tokens needs Entra ID.)
func Example() {
	kr, err := tokenstore.KeyringFromEnv("TENANTGATE_KEYS")
	if err != nil {
		log.Fatal(err)
	}
	store := tokenstore.New(memstore.New(), kr) // SQLite or PostgreSQL in production

	c, err := msalcache.New(store, "customer-42", msalcache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret("provider-app-secret")
	if err != nil {
		log.Fatal(err)
	}
	client, err := confidential.New("https://login.microsoftonline.com/organizations", "provider-app-client-id", cred,
		confidential.WithCache(c))
	if err != nil {
		log.Fatal(err)
	}
	_ = client // AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(tenant))
}
