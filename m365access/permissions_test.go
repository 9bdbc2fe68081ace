package m365access

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestPermissionsWithOpaqueAccessTokens runs consent, Validate (app
// registration and token mode) and the day-two credential against a fake
// whose access tokens are not JWTs: the library learns what is granted
// from Graph and the token endpoint, never by decoding a token.
func TestPermissionsWithOpaqueAccessTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{opaque: true, appPermissions: []string{"User.Read.All", "Organization.Read.All", "Mail.Send"}})
	ctx := context.Background()

	// Token mode: the granted set comes from the token response's scope.
	e.connect(t, "token")
	r, err := e.m.Validate(ctx, "token")
	require.NoError(t, err)
	require.True(t, r.OK, "token report %+v", r.Checks)
	require.Equal(t, e.contoso.ID, r.TenantID)
	c, _ := r.Check("permissions")
	assert.Contains(t, c.Detail, "granted scopes", "token mode permissions")
	assert.Contains(t, c.Detail, TeamsPermission, "token mode permissions")
	c, _ = r.Check("serviceAccount")
	assert.True(t, c.OK, "service account: %+v", c)
	assert.Contains(t, c.Detail, e.contoso.AdminUPN())

	// App registration without Application.Read.All: probes; Mail.Send
	// has no safe probe and is reported, not guessed.
	e.saveAppRegistration(t, "probe", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All", TeamsPermission})
	r, err = e.m.Validate(ctx, "probe")
	require.NoError(t, err)
	c, _ = r.Check("permissions")
	require.True(t, r.OK && c.OK, "probe report %+v", r.Checks)
	require.Contains(t, c.Detail, "a Graph request per permission")
	require.Contains(t, c.Detail, "not verifiable without Application.Read.All: Mail.Send")

	// With Application.Read.All: the exact assignments.
	e.saveAppRegistration(t, "exact", "c3c3c3c3-1111-2222-3333-444444444444", custAppSecret, "",
		[]string{"User.Read.All", "Organization.Read.All", "Mail.Send", TeamsPermission, ApplicationReadPermission})
	r, err = e.m.Validate(ctx, "exact")
	require.NoError(t, err)
	require.True(t, r.OK, "exact report %+v", r.Checks)
	c, _ = r.Check("permissions")
	require.Contains(t, c.Detail, "app role assignments")
	require.Contains(t, c.Detail, "granted Application.Read.All, Mail.Send, Organization.Read.All, TeamsUserConfiguration.Read.All, User.Read.All")

	// Missing roles, both ways: named, and grant consent is the action.
	for _, tc := range []struct {
		customer, clientID string
		roles              []string
		source             string
	}{
		{"short-probe", "c4c4c4c4-1111-2222-3333-444444444444", []string{"Organization.Read.All"}, "a Graph request per permission"},
		{"short-exact", "c5c5c5c5-1111-2222-3333-444444444444", []string{"Organization.Read.All", ApplicationReadPermission}, "app role assignments"},
	} {
		e.saveAppRegistration(t, tc.customer, tc.clientID, custAppSecret, "", tc.roles)
		r, err := e.m.Validate(ctx, tc.customer)
		require.NoError(t, err)
		c, _ := r.Check("permissions")
		assert.False(t, r.OK, tc.customer)
		assert.False(t, c.OK, "%s: %+v", tc.customer, c)
		assert.Equal(t, ActionGrantConsent, c.Action, tc.customer)
		assert.Contains(t, c.Detail, "not granted: User.Read.All", tc.customer)
		assert.Contains(t, c.Detail, tc.source, tc.customer)
	}

	// The day-two credential's opaque token works against Graph.
	tok, err := e.m.Credential("exact").GetToken(ctx, graphScope())
	require.NoError(t, err)
	assert.NotEqual(t, 2, strings.Count(tok.Token, "."), "credential token: JWT-shaped")
	assert.Equal(t, 200, e.graphStatus(t, tok.Token, "/users?$top=1&$select=id"), "credential token refused")
}

// TestConsentReadsAssignments: a provider app holding Application.Read.All
// confirms consent from its service principal's app role assignments,
// which lag behind a fresh grant as tokens do.
func TestConsentReadsAssignments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{opaque: true, consentWait: 200 * time.Millisecond})
	ctx := context.Background()
	const provider = "0e0e0e0e-1111-2222-3333-444444444444"
	_, err := e.srv.AddApp(m365test.AppOptions{ClientID: provider, Secrets: []m365test.Secret{{Value: testProviderSecret}},
		ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", ApplicationReadPermission}})
	require.NoError(t, err)
	m, err := New(Config{Provider: ProviderConfig{ClientID: provider, ClientSecret: testProviderSecret, PublicBaseURL: "https://portal.example/m365",
		AppPermissions: []string{"User.Read.All", "Organization.Read.All"}},
		Store: e.store, Locker: e.store, HTTPClient: e.srv.Client(), ConsentWait: 200 * time.Millisecond})
	require.NoError(t, err)
	_, err = m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.fabrikam.ID), Mode: ptr(ModeToken)})
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsentNow(e.fabrikam.ID, provider))
	_, err = m.ConfirmConsent(ctx, "c1")
	require.Error(t, err, "consent confirmed before it replicated")
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	c, err := m.ConfirmConsent(ctx, "c1")
	require.NoError(t, err)
	// Every assigned role, the optional one included: an exact report.
	assert.Equal(t, []string{ApplicationReadPermission, "Organization.Read.All", "User.Read.All"}, c.Roles)
}

func TestAccountMatches(t *testing.T) {
	t.Parallel()
	member := me{ID: "1", UserPrincipalName: "admin@contoso.onmicrosoft.com", Mail: "admin@contoso.onmicrosoft.com"}
	guest := me{ID: "2", UserPrincipalName: "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com", Mail: "alice@fabrikam.com",
		OtherMails: []string{"alice.other@fabrikam.com"}, UserType: "Guest"}
	noMail := me{ID: "3", UserPrincipalName: "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com"}
	for _, tc := range []struct {
		u       me
		account string
		want    bool
	}{
		{member, "ADMIN@contoso.onmicrosoft.com", true},
		{member, "admin@contoso.com", false},
		{member, "", false},
		{guest, "alice@fabrikam.com", true},
		{guest, "Alice@Fabrikam.com", true},
		{guest, "alice.other@fabrikam.com", true},
		{guest, "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com", true},
		{guest, "bob@fabrikam.com", false},
		{guest, "alice@fabrikam.co", false},
		{noMail, "alice@fabrikam.com", true},
		{noMail, "alice@evil.com", false},
		{noMail, "alice_fabrikam.com", false},
	} {
		assert.Equal(t, tc.want, tc.u.matches(tc.account), "%s matches %q", tc.u.UserPrincipalName, tc.account)
	}
}

// BenchmarkReadAppPermissions measures what reading the granted
// application permissions through Graph costs per check: the directory
// (service principal, Graph's appRoles, assignments: three requests) and
// the probes (one request per required permission, three here).
func BenchmarkReadAppPermissions(b *testing.B) {
	required := []string{"User.Read.All", "Organization.Read.All", TeamsPermission}
	for _, bc := range []struct {
		name  string
		roles []string
	}{
		{"appRoleAssignments", append(slices.Clone(required), ApplicationReadPermission)},
		{"probes", required},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, envOptions{appPermissions: required})
			ctx := context.Background()
			e.saveAppRegistration(b, "c1", custAppID, custAppSecret, "", bc.roles)
			s, _, err := e.m.loadSettings(ctx, "c1")
			require.NoError(b, err)
			ep, _ := e.m.clouds.Lookup(s.Cloud)
			res, err := e.m.freshAppToken(ctx, "c1", s, ep)
			require.NoError(b, err)
			tok := azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}
			b.ReportAllocs()
			for b.Loop() {
				p, err := e.m.readAppPermissions(ctx, "bench", "c1", tok, ep, custAppID, required)
				require.NoError(b, err)
				require.Empty(b, p.Missing, "missing permissions")
				require.Equal(b, bc.name, string(p.Source), "permission source")
			}
		})
	}
}
