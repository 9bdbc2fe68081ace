package m365access

import (
	"context"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// TestNewRefusesMisconfiguration: every required piece is checked in New,
// with an error that says what to set.
func TestNewRefusesMisconfiguration(t *testing.T) {
	t.Parallel()
	store, backend := sealedStore(t)
	provider := ProviderConfig{ClientID: testProviderID, ClientSecret: testProviderSecret, PublicBaseURL: "https://portal.example/m365"}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no store", Config{Provider: provider}, "Config.Store is required"},
		{"raw backend", Config{Provider: provider, Store: backend}, "raw tokenstore.Backend"},
		{"keyring-less store", Config{Provider: provider, Store: tokenstore.New(memstore.New(), nil)}, "Config.Store has no keyring"},
		{"empty provider", Config{Store: store}, "Config.Provider is empty"},
		{"secret without client ID", Config{Store: store, Provider: ProviderConfig{ClientSecret: testProviderSecret}}, "clientId"},
		{"client ID without base URL", Config{Store: store, Provider: ProviderConfig{ClientID: testProviderID, ClientSecret: testProviderSecret}}, "publicBaseUrl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || m != nil {
				t.Errorf("New = (%v, %v), want an error containing %q", m, err, tc.want)
			}
		})
	}
	// An app-registration-only Manager says so.
	if _, err := New(Config{Store: store, AppRegistrationOnly: true}); err != nil {
		t.Errorf("AppRegistrationOnly: %v", err)
	}
	// A typed-nil Locker means no Locker.
	m, err := New(Config{Store: store, Provider: provider, Locker: (*tokenstore.SealedStore)(nil)})
	if err != nil || m.locker != nil {
		t.Errorf("typed-nil Locker: %v, locker %v", err, m.locker)
	}
}

func TestPublicURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    ProviderConfig
		want PublicURLs
	}{
		{ProviderConfig{PublicBaseURL: "https://p.example/m365/"}, PublicURLs{"https://p.example/m365", "https://p.example/m365/auth/callback", "https://p.example/m365/consent/callback"}},
		{ProviderConfig{PublicBaseURL: "https://p.example", RedirectURI: "https://p.example/cb"}, PublicURLs{"https://p.example", "https://p.example/cb", "https://p.example/consent/callback"}},
		{ProviderConfig{}, PublicURLs{}},
	} {
		if got := tc.p.PublicURLs(); got != tc.want {
			t.Errorf("%+v.PublicURLs() = %+v, want %+v", tc.p, got, tc.want)
		}
	}
}

func TestUserFilter(t *testing.T) {
	t.Parallel()
	store, _ := sealedStore(t)
	m, err := New(Config{Store: store, AppRegistrationOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if f, err := m.UserFilter(ctx, "nobody"); err != nil || f != "" {
		t.Errorf("UserFilter of a customer without settings = %q, %v", f, err)
	}
	f := "UsageLocation -eq 'IT'"
	if _, err := m.SaveSettings(ctx, "a", SettingsUpdate{Tenant: ptr("contoso.onmicrosoft.com"), UserFilter: &f}); err != nil {
		t.Fatal(err)
	}
	if got, err := m.UserFilter(ctx, "a"); err != nil || got != f {
		t.Errorf("UserFilter = %q, %v; want %q", got, err, f)
	}
	if _, err := m.UserFilter(ctx, ""); err == nil {
		t.Error("UserFilter of an empty customer ID: no error")
	}
}
