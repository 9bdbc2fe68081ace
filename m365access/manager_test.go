package m365access

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
			assert.ErrorContains(t, err, tc.want)
			assert.Nil(t, m)
		})
	}
	// An app-registration-only Manager says so.
	_, err := New(Config{Store: store, AppRegistrationOnly: true})
	assert.NoError(t, err, "AppRegistrationOnly")
	// A typed-nil Locker means no Locker.
	m, err := New(Config{Store: store, Provider: provider, Locker: (*tokenstore.SealedStore)(nil)})
	require.NoError(t, err, "typed-nil Locker")
	assert.Nil(t, m.locker, "typed-nil Locker")
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
		assert.Equal(t, tc.want, tc.p.PublicURLs(), "%+v", tc.p)
	}
}

func TestUserFilter(t *testing.T) {
	t.Parallel()
	store, _ := sealedStore(t)
	m, err := New(Config{Store: store, AppRegistrationOnly: true})
	require.NoError(t, err)
	ctx := context.Background()
	got, err := m.UserFilter(ctx, "nobody")
	assert.NoError(t, err)
	assert.Empty(t, got, "UserFilter of a customer without settings")
	f := "UsageLocation -eq 'IT'"
	_, err = m.SaveSettings(ctx, "a", SettingsUpdate{Tenant: ptr("contoso.onmicrosoft.com"), UserFilter: &f})
	require.NoError(t, err)
	got, err = m.UserFilter(ctx, "a")
	assert.NoError(t, err)
	assert.Equal(t, f, got)
	_, err = m.UserFilter(ctx, "")
	assert.Error(t, err, "UserFilter of an empty customer ID")
}
