package m365access_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

func ExampleManager_SaveSettings() {
	key, err := tokenstore.GenerateKey("2026-01")
	if err != nil {
		panic(err)
	}
	keyring, err := tokenstore.NewKeyring(key) // load keys from your secret manager
	if err != nil {
		panic(err)
	}
	store := tokenstore.New(memstore.New(), keyring) // sqlitestore or pgstore in production
	m, err := m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{
			ClientID:      "0f0f0f0f-1111-2222-3333-444444444444",
			ClientSecret:  "provider-secret-from-your-vault",
			PublicBaseURL: "https://portal.example.com/m365",
		},
		Store:  store,
		Locker: store,
	})
	if err != nil {
		panic(err)
	}
	mode := m365access.ModeAppRegistration
	tenant, account := "contoso", "admin"
	_, err = m.SaveSettings(context.Background(), "customer-42", m365access.SettingsUpdate{
		Tenant: &tenant, Mode: &mode, ServiceAccount: &account,
	})
	var ve *m365access.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Errors {
			fmt.Println(f.Field, f.Code)
		}
	}
	// Output:
	// tenant invalid
	// serviceAccount invalid
	// appRegistration.clientId required
	// appRegistration.clientSecret required
}
