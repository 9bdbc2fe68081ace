package m365access

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fields lists the fields of the problems found.
func fields(fe fieldErrors) []string {
	var out []string
	for _, e := range fe {
		out = append(out, e.Field+":"+e.Code)
	}
	return out
}

func TestSettingsSectionsInOrder(t *testing.T) {
	t.Parallel()
	var names []string
	for _, sec := range settingsSections {
		names = append(names, sec.name)
	}
	assert.Equal(t, []string{"tenant", "mode", "serviceAccount", "cloud", "appRegistration", "password", "qoe", "userFilter"}, names)
}

func TestSettingsSections(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		old    settings
		exists bool
		u      SettingsUpdate
		step   func(*settingsChange)
		want   settings
		fields []string
	}{
		{name: "tenant GUID pinned lowercase", u: SettingsUpdate{Tenant: ptr(" AAAAAAAA-1111-2222-3333-444444444444 ")}, step: applyTenant,
			want: settings{Tenant: "AAAAAAAA-1111-2222-3333-444444444444", TenantID: "aaaaaaaa-1111-2222-3333-444444444444"}},
		{name: "tenant domain forgets the ID", old: settings{Tenant: "x", TenantID: "id"}, u: SettingsUpdate{Tenant: ptr("contoso.com")}, step: applyTenant,
			want: settings{Tenant: "contoso.com"}},
		{name: "tenant required", step: checkTenant, fields: []string{"tenant:required"}},
		{name: "tenant invalid", old: settings{Tenant: "not a tenant"}, step: checkTenant, want: settings{Tenant: "not a tenant"}, fields: []string{"tenant:invalid"}},
		{name: "new settings are a token connection", step: applyMode, want: settings{Mode: ModeToken}},
		{name: "existing settings keep no mode", exists: true, step: applyMode},
		{name: "unknown mode", old: settings{Mode: "x"}, step: checkMode, want: settings{Mode: "x"}, fields: []string{"mode:unknown"}},
		{name: "another account forgets its ID", old: settings{ServiceAccount: "a@contoso.com", ServiceAccountID: "id"},
			u: SettingsUpdate{ServiceAccount: ptr("b@contoso.com")}, step: applyServiceAccount, want: settings{ServiceAccount: "b@contoso.com"}},
		{name: "same account keeps its ID", old: settings{ServiceAccount: "a@contoso.com", ServiceAccountID: "id"},
			u: SettingsUpdate{ServiceAccount: ptr("A@contoso.com ")}, step: applyServiceAccount, want: settings{ServiceAccount: "A@contoso.com", ServiceAccountID: "id"}},
		{name: "password mode needs the account and password", old: settings{Mode: ModePassword},
			step: func(c *settingsChange) { checkServiceAccount(c); checkPassword(c) }, want: settings{Mode: ModePassword},
			fields: []string{"serviceAccount:required", "password:required"}},
		{name: "expired client secret", u: SettingsUpdate{AppClientSecret: ptr(""), AppClientSecretExpiresAt: &past}, step: applyAppRegistration,
			want: settings{AppSecretExpiresAt: ptr(past.UTC())}, fields: []string{"appRegistration.clientSecretExpiresAt:expired"}},
		{name: "removed secret forgets its expiry", old: settings{AppSecret: "s", AppSecretExpiresAt: &past}, u: SettingsUpdate{AppClientSecret: ptr("")},
			step: applyAppRegistration},
		{name: "unparseable certificate", u: SettingsUpdate{AppCertificatePEM: ptr("junk")}, step: applyAppRegistration,
			want: settings{AppCertPEM: "junk"}, fields: []string{"appRegistration.certificate:unparseable"}},
		{name: "app registration needs ID and credential", old: settings{Mode: ModeAppRegistration}, step: checkAppRegistration,
			want: settings{Mode: ModeAppRegistration}, fields: []string{"appRegistration.clientId:required", "appRegistration.clientSecret:required"}},
		{name: "short secret, client ID not a GUID", old: settings{AppClientID: "x", AppSecret: "short"}, step: checkAppRegistration,
			want: settings{AppClientID: "x", AppSecret: "short"}, fields: []string{"appRegistration.clientId:invalid", "appRegistration.clientSecret:tooShort"}},
		{name: "QoE secret without app", old: settings{QoESecret: "0123456789abcdef"}, step: checkQoE,
			want: settings{QoESecret: "0123456789abcdef"}, fields: []string{"qoe.appId:required"}},
		{name: "QoE app without secret", old: settings{QoEAppID: "x"}, step: checkQoE,
			want: settings{QoEAppID: "x"}, fields: []string{"qoe.appId:invalid", "qoe.clientSecret:required"}},
		{name: "no QoE app", step: checkQoE},
		{name: "user filter trimmed", u: SettingsUpdate{UserFilter: ptr(" accountEnabled eq true ")}, step: applyUserFilter,
			want: settings{UserFilter: "accountEnabled eq true"}},
		{name: "user filter unchecked without a validator", u: SettingsUpdate{UserFilter: ptr("(")}, old: settings{UserFilter: "("},
			step: checkUserFilter, want: settings{UserFilter: "("}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.old
			c := &settingsChange{m: &Manager{}, s: &s, u: tc.u, exists: tc.exists, old: tc.old, now: time.Now()}
			tc.step(c)
			assert.Equal(t, tc.want, s)
			assert.Equal(t, tc.fields, fields(c.fe))
		})
	}
}

// TestApplyKeepsProblemOrder: the problems come as they did before apply
// was split by section: what an applied value shows (expiries, the
// certificate), then each section's check in order.
func TestApplyKeepsProblemOrder(t *testing.T) {
	t.Parallel()
	m, _, _ := newTestManager(t, func(c *Config) {
		c.ValidateFilter = func(string) error { return errors.New("bad filter") }
	})
	past := time.Now().Add(-time.Hour)
	var s settings
	err := m.apply(&s, SettingsUpdate{
		Tenant: ptr("not a tenant!"), Mode: ptr(AuthMode("magic")), ServiceAccount: ptr("admin-at-nowhere"),
		Cloud: ptr(Cloud("mars")), AppClientID: ptr("123"), AppClientSecret: ptr("short"), AppClientSecretExpiresAt: &past,
		AppCertificatePEM: ptr("junk"), QoEAppID: ptr("nope"), QoEClientSecret: ptr("tiny"), QoEClientSecretExpiresAt: &past,
		UserFilter: ptr("x"),
	}, false)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, []string{
		"appRegistration.clientSecretExpiresAt:expired", "appRegistration.certificate:unparseable", "qoe.clientSecretExpiresAt:expired",
		"tenant:invalid", "mode:unknown", "serviceAccount:invalid", "cloud:unknown",
		"appRegistration.clientId:invalid", "appRegistration.clientSecret:tooShort",
		"qoe.appId:invalid", "qoe.clientSecret:tooShort", "userFilter:invalid",
	}, fields(ve.Errors))
}
