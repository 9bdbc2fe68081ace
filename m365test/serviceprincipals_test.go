package m365test_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/m365test"
)

// addReaderApp registers an app holding the given application permissions
// and grants them (replicated) in contoso.
func addReaderApp(t *testing.T, f *fixture, clientID string, roles ...string) {
	addReaderAppTB(t, f, clientID, roles...)
}

func addReaderAppTB(t testing.TB, f *fixture, clientID string, roles ...string) {
	t.Helper()
	if _, err := f.srv.AddApp(m365test.AppOptions{ClientID: clientID, DisplayName: "Reader " + clientID[:4],
		Secrets: []m365test.Secret{{Value: providerSecret}}, ApplicationPermissions: roles}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.GrantAdminConsent(f.contoso.ID, clientID); err != nil {
		t.Fatal(err)
	}
}

func clientToken(t *testing.T, f *fixture, clientID string) string {
	return clientTokenTB(t, f, clientID)
}

func clientTokenTB(t testing.TB, f *fixture, clientID string) string {
	return tokenFor(t, f, f.contoso.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}})
}

// grantedRoles reads the app's granted Graph permissions as a client must:
// its service principal, its app role assignments, Graph's appRoles.
func grantedRoles(t *testing.T, f *fixture, tok, clientID string) []string {
	t.Helper()
	sp := graphDo(t, f, "GET", "/servicePrincipals(appId='"+clientID+"')?$select=id", tok, nil)
	if sp.status != 200 {
		t.Fatalf("service principal: %d %v", sp.status, sp.body)
	}
	as := graphDo(t, f, "GET", "/servicePrincipals/"+sp.body["id"].(string)+"/appRoleAssignments", tok, nil)
	gsp := graphDo(t, f, "GET", "/servicePrincipals(appId='"+m365test.GraphAppID+"')?$select=id,appRoles", tok, nil)
	if as.status != 200 || gsp.status != 200 {
		t.Fatalf("assignments %d %v, Graph %d %v", as.status, as.body, gsp.status, gsp.body)
	}
	byID := map[string]string{}
	for _, r := range gsp.body["appRoles"].([]any) {
		m := r.(map[string]any)
		byID[m["id"].(string)] = m["value"].(string)
	}
	var out []string
	for _, a := range as.body["value"].([]any) {
		m := a.(map[string]any)
		if m["resourceId"] != gsp.body["id"] || m["principalId"] != sp.body["id"] || m["principalType"] != "ServicePrincipal" {
			t.Errorf("assignment %v", m)
		}
		out = append(out, byID[m["appRoleId"].(string)])
	}
	slices.Sort(out)
	return out
}

func TestServicePrincipalAppRoleAssignments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	const reader, other = "aaaaaaaa-1111-2222-3333-444444444444", "bbbbbbbb-1111-2222-3333-444444444444"
	addReaderApp(t, f, reader, "Application.Read.All", "User.Read.All")
	tok := clientToken(t, f, reader)
	if got := grantedRoles(t, f, tok, reader); !slices.Equal(got, []string{"Application.Read.All", "User.Read.All"}) {
		t.Errorf("granted %v", got)
	}
	if m365test.AppRoleID("user.read.all") != m365test.AppRoleID("User.Read.All") || m365test.AppRoleID("User.Read") != "" || m365test.AppRoleID("User.Reed.All") != "" {
		t.Error("AppRoleID is not stable per permission or names a delegated-only or unknown one")
	}

	// A fresh grant shows in the directory only once it replicated, as in
	// app-only tokens.
	if _, err := f.srv.AddApp(m365test.AppOptions{ClientID: other, Secrets: []m365test.Secret{{Value: providerSecret}},
		ApplicationPermissions: []string{"CallRecords.Read.All"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.GrantAdminConsentNow(f.contoso.ID, other); err != nil {
		t.Fatal(err)
	}
	if got := grantedRoles(t, f, tok, other); len(got) != 0 {
		t.Errorf("right after consent the assignments show %v", got)
	}
	f.srv.Advance(m365test.DefaultConsentReplicationDelay)
	if got := grantedRoles(t, f, clientToken(t, f, reader), other); !slices.Equal(got, []string{"CallRecords.Read.All"}) {
		t.Errorf("after replication: %v", got)
	}

	// Without Application.Read.All: Graph's 403.
	if err := f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID); err != nil {
		t.Fatal(err)
	}
	gr := graphDo(t, f, "GET", "/servicePrincipals(appId='"+reader+"')", appToken(t, f, f.contoso.ID), nil)
	if gr.status != 403 || graphErr(t, gr) != "Authorization_RequestDenied" {
		t.Errorf("without Application.Read.All: %d %v", gr.status, gr.body)
	}
	// An app with no service principal in the tenant, and a bad key.
	gr = graphDo(t, f, "GET", "/servicePrincipals(appId='cccccccc-1111-2222-3333-444444444444')", tok, nil)
	if gr.status != 404 || graphErr(t, gr) != "Request_ResourceNotFound" {
		t.Errorf("unknown app: %d %v", gr.status, gr.body)
	}
	for _, p := range []string{"/servicePrincipals(displayName='x')", "/servicePrinciples"} {
		if gr := graphDo(t, f, "GET", p, tok, nil); gr.status != 400 || graphErr(t, gr) != "BadRequest" {
			t.Errorf("%s: %d %v", p, gr.status, gr.body)
		}
	}
}

func TestOpaqueAccessTokens(t *testing.T) {
	t.Parallel()
	srv := m365test.NewServer(&m365test.Options{OpaqueAccessTokens: true, InMemory: true})
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	var err error
	if f.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 3}); err != nil {
		t.Fatal(err)
	}
	addReaderApp(t, f, "aaaaaaaa-1111-2222-3333-444444444444", "User.Read.All")
	tok := clientToken(t, f, "aaaaaaaa-1111-2222-3333-444444444444")
	if strings.Contains(tok, ".") {
		t.Fatalf("an opaque access token looks like a JWT: %q", tok)
	}
	if gr := graphDo(t, f, "GET", "/users?$top=1&$select=id", tok, nil); gr.status != 200 {
		t.Errorf("Graph refused the opaque token: %d %v", gr.status, gr.body)
	}
	if gr := graphDo(t, f, "GET", "/users?$top=1", tok+"x", nil); gr.status != 401 {
		t.Errorf("a forged opaque token: %d", gr.status)
	}
}
