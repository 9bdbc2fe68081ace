package m365access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

func TestSaveSettingsReportsEveryFieldError(t *testing.T) {
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
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
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
		if !ok || fe.Code != code {
			t.Errorf("field %s: got %+v, want code %s", field, fe, code)
		}
	}
	if len(ve.Errors) != len(want) {
		t.Errorf("got %d errors, want %d: %v", len(ve.Errors), len(want), ve.Errors)
	}
	if strings.Contains(err.Error(), "short") && strings.Contains(err.Error(), "tiny") {
		t.Errorf("the error quotes secrets: %v", err)
	}
	// Nothing was stored.
	if _, err := store.Get(ctx, settingsKey("c1")); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("a rejected save stored something: %v", err)
	}
}

func TestSaveSettingsPerModeRequirements(t *testing.T) {
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
			if !errors.As(err, &ve) {
				t.Fatalf("want *ValidationError, got %v", err)
			}
			var got []string
			for _, f := range ve.Errors {
				got = append(got, f.Field)
			}
			slices.Sort(got)
			want := slices.Clone(tc.fields)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("fields %v, want %v", got, want)
			}
		})
	}
}

func TestSettingsSecretsAreSealedAndNeverRead(t *testing.T) {
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
	if err != nil {
		t.Fatal(err)
	}
	if !got.AppSecretSet || !got.AppCertificateSet || !got.QoESecretSet || got.PasswordSet {
		t.Errorf("set flags wrong: %+v", got)
	}
	if got.AppSecretExpiresAt == nil || !got.AppSecretExpiresAt.Equal(secretExp) {
		t.Errorf("secret expiry %v", got.AppSecretExpiresAt)
	}
	if got.AppCertificateExpires == nil || !got.AppCertificateExpires.Equal(cert.NotAfter.UTC()) {
		t.Errorf("certificate expiry %v, want %v", got.AppCertificateExpires, cert.NotAfter)
	}
	if got.TenantID != "11111111-2222-3333-4444-555555555555" || got.Version != 1 {
		t.Errorf("tenant %q version %d", got.TenantID, got.Version)
	}
	rec, err := store.Get(ctx, settingsKey("c1"))
	if err != nil || !rec.Sealed || strings.Contains(string(rec.Data), appSecret) {
		t.Fatalf("the settings record must be sealed at rest: %v %v", rec.Sealed, err)
	}
	view := fmt.Sprintf("%+v", got)
	for _, secret := range []string{appSecret, qoeSecret, "PRIVATE KEY"} {
		if strings.Contains(view, secret) || strings.Contains(logs(), secret) {
			t.Errorf("a read or a log shows %q", secret)
		}
	}
	// A nil field keeps the stored secret; an empty one clears it.
	got, err = m.SaveSettings(ctx, "c1", SettingsUpdate{QoEAppID: ptr(""), QoEClientSecret: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if !got.AppSecretSet || got.QoESecretSet || got.Version != 2 {
		t.Errorf("after clearing QoE: %+v", got)
	}
}

func TestConcurrentSavesLoseNothing(t *testing.T) {
	m, _, _ := newTestManager(t, nil)
	ctx := context.Background()
	if _, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("contoso.com")}); err != nil {
		t.Fatal(err)
	}
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
			if _, err := m.SaveSettings(ctx, "c1", u); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := m.GetSettings(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ServiceAccount != "admin@contoso.com" || got.AppClientID == "" || got.UserFilter == "" ||
		!got.QoESecretSet || got.Cloud != CloudGlobal || !got.AppSecretSet || got.Version != int64(1+len(updates)) {
		t.Errorf("lost an update: %+v", got)
	}
	// A pinned version conflicts instead of merging.
	_, err = m.SaveSettings(ctx, "c1", SettingsUpdate{UserFilter: ptr("x"), ExpectVersion: 1})
	if !errors.Is(err, tokenstore.ErrConflict) {
		t.Errorf("stale ExpectVersion: got %v, want a conflict", err)
	}
}

func TestProviderConfigValidate(t *testing.T) {
	bad := ProviderConfig{ClientID: "x", ClientSecret: "short", PublicBaseURL: "http://portal.example/?q", Scopes: []string{"a b"}, Cloud: "mars"}
	var ve *ValidationError
	if err := bad.Validate(DefaultClouds); !errors.As(err, &ve) {
		t.Fatalf("got %v", err)
	}
	for _, f := range []string{"clientId", "clientSecret", "publicBaseUrl", "scopes", "cloud"} {
		if _, ok := ve.Field(f); !ok {
			t.Errorf("no error for %s: %v", f, ve)
		}
	}
	good := ProviderConfig{ClientID: testProviderID, ClientSecret: testProviderSecret, PublicBaseURL: "https://portal.example"}
	if err := good.Validate(DefaultClouds); err != nil {
		t.Fatal(err)
	}
	if got := good.redirectURI(); got != "https://portal.example/auth/callback" {
		t.Errorf("redirect URI %q", got)
	}
	if err := (ProviderConfig{}).Validate(DefaultClouds); err != nil {
		t.Errorf("no provider app must be valid (app registration only): %v", err)
	}
}

func TestCloudTable(t *testing.T) {
	for c, host := range map[Cloud]string{CloudGlobal: "graph.microsoft.com", CloudUSGovL4: "graph.microsoft.us", CloudUSGovL5: "dod-graph.microsoft.us", CloudChina: "microsoftgraph.chinacloudapi.cn"} {
		ep, err := DefaultClouds.Lookup(c)
		if err != nil || ep.GraphHost() != host || ep.GraphScope() != "https://"+host+"/.default" || !strings.HasPrefix(ep.AuthorityHost, "https://login.") {
			t.Errorf("%s: %+v %v", c, ep, err)
		}
	}
	if ep, _ := DefaultClouds.Lookup(""); ep.GraphHost() != "graph.microsoft.com" {
		t.Error("the zero cloud must be global")
	}
	if _, err := DefaultClouds.Lookup("mars"); err == nil {
		t.Error("unknown cloud accepted")
	}
}
