package m365access

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

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
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.TenantID != e.contoso.ID {
		t.Fatalf("token report %+v", r.Checks)
	}
	if c, _ := r.Check("permissions"); !strings.Contains(c.Detail, "granted scopes") || !strings.Contains(c.Detail, TeamsPermission) {
		t.Errorf("token mode permissions: %+v", c)
	}
	if c, _ := r.Check("serviceAccount"); !c.OK || !strings.Contains(c.Detail, e.contoso.AdminUPN()) {
		t.Errorf("service account: %+v", c)
	}

	// App registration without Application.Read.All: probes; Mail.Send
	// has no safe probe and is reported, not guessed.
	e.saveAppRegistration(t, "probe", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All", TeamsPermission})
	r, err = e.m.Validate(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.Check("permissions")
	if !r.OK || !c.OK || !strings.Contains(c.Detail, "a Graph request per permission") ||
		!strings.Contains(c.Detail, "not verifiable without Application.Read.All: Mail.Send") {
		t.Fatalf("probe report %+v", r.Checks)
	}

	// With Application.Read.All: the exact assignments.
	e.saveAppRegistration(t, "exact", "c3c3c3c3-1111-2222-3333-444444444444", custAppSecret, "",
		[]string{"User.Read.All", "Organization.Read.All", "Mail.Send", TeamsPermission, ApplicationReadPermission})
	r, err = e.m.Validate(ctx, "exact")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := r.Check("permissions"); !r.OK || !strings.Contains(c.Detail, "app role assignments") ||
		!strings.Contains(c.Detail, "granted Application.Read.All, Mail.Send, Organization.Read.All, TeamsUserConfiguration.Read.All, User.Read.All") {
		t.Fatalf("exact report %+v", r.Checks)
	}

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
		if err != nil {
			t.Fatal(err)
		}
		c, _ := r.Check("permissions")
		if r.OK || c.OK || c.Action != ActionGrantConsent || !strings.Contains(c.Detail, "not granted: User.Read.All") || !strings.Contains(c.Detail, tc.source) {
			t.Errorf("%s: %+v", tc.customer, c)
		}
	}

	// The day-two credential's opaque token works against Graph.
	tok, err := e.m.Credential("exact").GetToken(ctx, graphScope())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok.Token, ".") == 2 || e.graphStatus(t, tok.Token, "/users?$top=1&$select=id") != 200 {
		t.Errorf("credential token: JWT-shaped or refused")
	}
}

// TestConsentReadsAssignments: a provider app holding Application.Read.All
// confirms consent from its service principal's app role assignments,
// which lag behind a fresh grant as tokens do.
func TestConsentReadsAssignments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{opaque: true, consentWait: 200 * time.Millisecond})
	ctx := context.Background()
	const provider = "0e0e0e0e-1111-2222-3333-444444444444"
	if _, err := e.srv.AddApp(m365test.AppOptions{ClientID: provider, Secrets: []m365test.Secret{{Value: testProviderSecret}},
		ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", ApplicationReadPermission}}); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Provider: ProviderConfig{ClientID: provider, ClientSecret: testProviderSecret, PublicBaseURL: "https://portal.example/m365",
		AppPermissions: []string{"User.Read.All", "Organization.Read.All"}},
		Store: e.store, Locker: e.store, HTTPClient: e.srv.Client(), ConsentWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.fabrikam.ID), Mode: ptr(ModeToken)}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.GrantAdminConsentNow(e.fabrikam.ID, provider); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ConfirmConsent(ctx, "c1"); err == nil {
		t.Fatal("consent confirmed before it replicated")
	}
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	c, err := m.ConfirmConsent(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	// Every assigned role, the optional one included: an exact report.
	if want := []string{ApplicationReadPermission, "Organization.Read.All", "User.Read.All"}; !slices.Equal(c.Roles, want) {
		t.Errorf("roles %v, want %v", c.Roles, want)
	}
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
		if got := tc.u.matches(tc.account); got != tc.want {
			t.Errorf("%s matches %q = %v, want %v", tc.u.UserPrincipalName, tc.account, got, tc.want)
		}
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
			if err != nil {
				b.Fatal(err)
			}
			ep, _ := e.m.clouds.Lookup(s.Cloud)
			res, err := e.m.freshAppToken(ctx, "c1", s, ep)
			if err != nil {
				b.Fatal(err)
			}
			tok := azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}
			b.ReportAllocs()
			for b.Loop() {
				p, err := e.m.readAppPermissions(ctx, "bench", "c1", tok, ep, custAppID, required)
				if err != nil || len(p.Missing) > 0 || string(p.Source) != bc.name {
					b.Fatalf("%+v %v", p, err)
				}
			}
		})
	}
}
