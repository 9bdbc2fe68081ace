package m365access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
)

func TestSaveSettingsReportsEveryFieldError(t *testing.T) {
	t.Parallel()
	m, store, _ := newTestManager(t, func(c *Config) {
		c.ValidateFilter = func(f string) error {
			if strings.Contains(f, "-bogus") {
				return errors.New("unknown operator -bogus")
			}
			return nil
		}
	})
	ctx := context.Background()
	expiredPEM, _ := selfSignedPEM(t, time.Now().Add(-time.Hour))
	_, err := m.SaveSettings(ctx, "c1", SettingsUpdate{
		Tenant:            ptr("not a tenant!"),
		Mode:              ptr(AuthMode("magic")),
		ServiceAccount:    ptr("admin-at-nowhere"),
		Cloud:             ptr(Cloud("mars")),
		AppClientID:       ptr("123"),
		AppClientSecret:   ptr("short"),
		AppCertificatePEM: ptr(expiredPEM),
		QoEAppID:          ptr("nope"),
		QoEClientSecret:   ptr("tiny"),
		UserFilter:        ptr("Department -bogus 'x'"),
	})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	want := map[string]string{
		"tenant":                       CodeInvalid,
		"mode":                         CodeUnknown,
		"serviceAccount":               CodeInvalid,
		"cloud":                        CodeUnknown,
		"appRegistration.clientId":     CodeInvalid,
		"appRegistration.clientSecret": CodeTooShort,
		"appRegistration.certificate":  CodeExpired,
		"qoe.appId":                    CodeInvalid,
		"qoe.clientSecret":             CodeTooShort,
		"userFilter":                   CodeInvalid,
	}
	for field, code := range want {
		fe, ok := ve.Field(field)
		assert.True(t, ok, "field %s", field)
		assert.Equal(t, code, fe.Code, "field %s", field)
	}
	assert.Len(t, ve.Errors, len(want), "%v", ve.Errors)
	assert.False(t, strings.Contains(err.Error(), "short") && strings.Contains(err.Error(), "tiny"), "the error quotes secrets: %v", err)
	// Nothing was stored.
	_, err = store.Get(ctx, settingsKey("c1"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "a rejected save stored something")
}

func TestSaveSettingsPerModeRequirements(t *testing.T) {
	t.Parallel()
	m, _, _ := newTestManager(t, nil)
	ctx := context.Background()
	tests := []struct {
		name   string
		u      SettingsUpdate
		fields []string
	}{
		{"empty", SettingsUpdate{}, []string{"tenant"}},
		{"appRegistration needs id and credential", SettingsUpdate{Tenant: ptr("contoso.onmicrosoft.com"), Mode: ptr(ModeAppRegistration)},
			[]string{"appRegistration.clientId", "appRegistration.clientSecret"}},
		{"password needs account and password", SettingsUpdate{Tenant: ptr("contoso.com"), Mode: ptr(ModePassword)},
			[]string{"serviceAccount", "password"}},
		{"unparseable certificate", SettingsUpdate{Tenant: ptr("contoso.com"), AppCertificatePEM: ptr("-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n")},
			[]string{"appRegistration.certificate"}},
		{"expired secret date", SettingsUpdate{Tenant: ptr("contoso.com"), AppClientSecretExpiresAt: ptr(time.Now().Add(-time.Hour))},
			[]string{"appRegistration.clientSecretExpiresAt"}},
		{"qoe secret without app", SettingsUpdate{Tenant: ptr("contoso.com"), QoEClientSecret: ptr("0123456789abcdef0123")},
			[]string{"qoe.appId"}},
		{"reserved tenant", SettingsUpdate{Tenant: ptr("organizations")}, []string{"tenant"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.SaveSettings(ctx, fmt.Sprintf("mode-%d", i), tc.u)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			var got []string
			for _, f := range ve.Errors {
				got = append(got, f.Field)
			}
			assert.ElementsMatch(t, tc.fields, got)
		})
	}
}

func TestSettingsSecretsAreSealedAndNeverRead(t *testing.T) {
	t.Parallel()
	m, store, logs := newTestManager(t, nil)
	ctx := context.Background()
	certPEM, cert := selfSignedPEM(t, time.Now().Add(90*24*time.Hour))
	secretExp := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	const appSecret = "app-secret-ABCDEFGHIJKLMNOP"
	const qoeSecret = "qoe-secret-ABCDEFGHIJKLMNOP"
	got, err := m.SaveSettings(ctx, "c1", SettingsUpdate{
		Tenant: ptr("11111111-2222-3333-4444-555555555555"), Mode: ptr(ModeAppRegistration),
		ServiceAccount: ptr("Admin@Contoso.com"), AppClientID: ptr("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
		AppClientSecret: ptr(appSecret), AppClientSecretExpiresAt: &secretExp, AppCertificatePEM: ptr(certPEM),
		QoEAppID: ptr("bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee"), QoEClientSecret: ptr(qoeSecret),
	})
	require.NoError(t, err)
	assert.True(t, got.AppSecretSet && got.AppCertificateSet && got.QoESecretSet && !got.PasswordSet, "set flags wrong: %+v", got)
	if assert.NotNil(t, got.AppSecretExpiresAt) {
		assert.True(t, got.AppSecretExpiresAt.Equal(secretExp), "secret expiry %v", got.AppSecretExpiresAt)
	}
	if assert.NotNil(t, got.AppCertificateExpires) {
		assert.True(t, got.AppCertificateExpires.Equal(cert.NotAfter.UTC()), "certificate expiry %v, want %v", got.AppCertificateExpires, cert.NotAfter)
	}
	assert.Equal(t, "11111111-2222-3333-4444-555555555555", got.TenantID)
	assert.Equal(t, int64(1), got.Version)
	rec, err := store.Get(ctx, settingsKey("c1"))
	require.NoError(t, err)
	require.True(t, rec.Sealed, "the settings record must be sealed at rest")
	require.NotContains(t, string(rec.Data), appSecret)
	view := fmt.Sprintf("%+v", got)
	for _, secret := range []string{appSecret, qoeSecret, "PRIVATE KEY"} {
		assert.NotContains(t, view, secret, "a read shows it")
		assert.NotContains(t, logs(), secret, "a log shows it")
	}
	// A nil field keeps the stored secret; an empty one clears it.
	got, err = m.SaveSettings(ctx, "c1", SettingsUpdate{QoEAppID: ptr(""), QoEClientSecret: ptr("")})
	require.NoError(t, err)
	assert.True(t, got.AppSecretSet, "after clearing QoE: %+v", got)
	assert.False(t, got.QoESecretSet, "after clearing QoE: %+v", got)
	assert.Equal(t, int64(2), got.Version)
}

func TestConcurrentSavesLoseNothing(t *testing.T) {
	t.Parallel()
	m, _, _ := newTestManager(t, nil)
	ctx := context.Background()
	_, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("contoso.com")})
	require.NoError(t, err)
	// Each writer changes a different field; all must survive.
	updates := []SettingsUpdate{
		{ServiceAccount: ptr("admin@contoso.com")},
		{AppClientID: ptr("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")},
		{UserFilter: ptr("UsageLocation -eq 'IT'")},
		{QoEAppID: ptr("bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee"), QoEClientSecret: ptr("0123456789abcdefXYZ")},
		{Cloud: ptr(CloudGlobal)},
		{AppClientSecret: ptr("0123456789abcdefXYZ")},
	}
	var wg sync.WaitGroup
	for _, u := range updates {
		wg.Go(func() {
			_, err := m.SaveSettings(ctx, "c1", u)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	got, err := m.GetSettings(ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, "admin@contoso.com", got.ServiceAccount)
	assert.NotEmpty(t, got.AppClientID)
	assert.NotEmpty(t, got.UserFilter)
	assert.True(t, got.QoESecretSet)
	assert.Equal(t, CloudGlobal, got.Cloud)
	assert.True(t, got.AppSecretSet)
	assert.Equal(t, int64(1+len(updates)), got.Version, "lost an update: %+v", got)
	// A pinned version conflicts instead of merging.
	_, err = m.SaveSettings(ctx, "c1", SettingsUpdate{UserFilter: ptr("x"), ExpectVersion: 1})
	assert.ErrorIs(t, err, tokenstore.ErrConflict, "stale ExpectVersion")
}

func TestProviderConfigValidate(t *testing.T) {
	t.Parallel()
	bad := ProviderConfig{ClientID: "x", ClientSecret: "short", PublicBaseURL: "http://portal.example/?q", Scopes: []string{"a b"}, Cloud: "mars"}
	var ve *ValidationError
	require.ErrorAs(t, bad.Validate(DefaultClouds), &ve)
	for _, f := range []string{"clientId", "clientSecret", "publicBaseUrl", "scopes", "cloud"} {
		_, ok := ve.Field(f)
		assert.True(t, ok, "no error for %s: %v", f, ve)
	}
	good := ProviderConfig{ClientID: testProviderID, ClientSecret: testProviderSecret, PublicBaseURL: "https://portal.example"}
	require.NoError(t, good.Validate(DefaultClouds))
	assert.Equal(t, "https://portal.example/auth/callback", good.redirectURI())
	assert.NoError(t, (ProviderConfig{}).Validate(DefaultClouds), "no provider app must be valid (app registration only)")
}

func TestCloudTable(t *testing.T) {
	t.Parallel()
	for c, host := range map[Cloud]string{CloudGlobal: "graph.microsoft.com", CloudUSGovL4: "graph.microsoft.us", CloudUSGovL5: "dod-graph.microsoft.us", CloudChina: "microsoftgraph.chinacloudapi.cn"} {
		ep, err := DefaultClouds.Lookup(c)
		require.NoError(t, err, "%s", c)
		assert.Equal(t, host, ep.GraphHost(), "%s", c)
		assert.Equal(t, "https://"+host+"/.default", ep.GraphScope(), "%s", c)
		assert.True(t, strings.HasPrefix(ep.AuthorityHost, "https://login."), "%s: %+v", c, ep)
	}
	ep, _ := DefaultClouds.Lookup("")
	assert.Equal(t, "graph.microsoft.com", ep.GraphHost(), "the zero cloud must be global")
	_, err := DefaultClouds.Lookup("mars")
	assert.Error(t, err, "unknown cloud accepted")
}
