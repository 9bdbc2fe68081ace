package m365test_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// addReaderApp registers an app holding the given application permissions
// and grants them (replicated) in contoso.
func addReaderApp(t *testing.T, f *fixture, clientID string, roles ...string) {
	addReaderAppTB(t, f, clientID, roles...)
}

func addReaderAppTB(t testing.TB, f *fixture, clientID string, roles ...string) {
	t.Helper()
	_, err := f.srv.AddApp(m365test.AppOptions{ClientID: clientID, DisplayName: "Reader " + clientID[:4],
		Secrets: []m365test.Secret{{Value: providerSecret}}, ApplicationPermissions: roles})
	require.NoError(t, err)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, clientID))
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
	require.Equal(t, 200, sp.status, "service principal: %v", sp.body)
	as := graphDo(t, f, "GET", "/servicePrincipals/"+sp.body["id"].(string)+"/appRoleAssignments", tok, nil)
	gsp := graphDo(t, f, "GET", "/servicePrincipals(appId='"+m365test.GraphAppID+"')?$select=id,appRoles", tok, nil)
	require.Equal(t, 200, as.status, "assignments: %v", as.body)
	require.Equal(t, 200, gsp.status, "Graph: %v", gsp.body)
	byID := map[string]string{}
	for _, r := range gsp.body["appRoles"].([]any) {
		m := r.(map[string]any)
		byID[m["id"].(string)] = m["value"].(string)
	}
	var out []string
	for _, a := range as.body["value"].([]any) {
		m := a.(map[string]any)
		assert.Equal(t, gsp.body["id"], m["resourceId"], "assignment %v", m)
		assert.Equal(t, sp.body["id"], m["principalId"], "assignment %v", m)
		assert.Equal(t, "ServicePrincipal", m["principalType"], "assignment %v", m)
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
	assert.Equal(t, []string{"Application.Read.All", "User.Read.All"}, grantedRoles(t, f, tok, reader), "granted")
	assert.Equal(t, m365test.AppRoleID("User.Read.All"), m365test.AppRoleID("user.read.all"), "AppRoleID is not stable per permission")
	assert.Empty(t, m365test.AppRoleID("User.Read"), "AppRoleID names a delegated-only permission")
	assert.Empty(t, m365test.AppRoleID("User.Reed.All"), "AppRoleID names an unknown permission")

	// A fresh grant shows in the directory only once it replicated, as in
	// app-only tokens.
	_, err := f.srv.AddApp(m365test.AppOptions{ClientID: other, Secrets: []m365test.Secret{{Value: providerSecret}},
		ApplicationPermissions: []string{"CallRecords.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, f.srv.GrantAdminConsentNow(f.contoso.ID, other))
	assert.Empty(t, grantedRoles(t, f, tok, other), "right after consent the assignments show roles")
	f.srv.Advance(m365test.DefaultConsentReplicationDelay)
	assert.Equal(t, []string{"CallRecords.Read.All"}, grantedRoles(t, f, clientToken(t, f, reader), other), "after replication")

	// Without Application.Read.All: Graph's 403.
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	gr := graphDo(t, f, "GET", "/servicePrincipals(appId='"+reader+"')", appToken(t, f, f.contoso.ID), nil)
	assertGraphError(t, gr, 403, "Authorization_RequestDenied", "without Application.Read.All")
	// An app with no service principal in the tenant, and a bad key.
	gr = graphDo(t, f, "GET", "/servicePrincipals(appId='cccccccc-1111-2222-3333-444444444444')", tok, nil)
	assertGraphError(t, gr, 404, "Request_ResourceNotFound", "unknown app")
	for _, p := range []string{"/servicePrincipals(displayName='x')", "/servicePrinciples"} {
		assertGraphError(t, graphDo(t, f, "GET", p, tok, nil), 400, "BadRequest", p)
	}
}

func TestOpaqueAccessTokens(t *testing.T) {
	t.Parallel()
	srv := m365test.NewServer(&m365test.Options{OpaqueAccessTokens: true, InMemory: true})
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	var err error
	f.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 3})
	require.NoError(t, err)
	addReaderApp(t, f, "aaaaaaaa-1111-2222-3333-444444444444", "User.Read.All")
	tok := clientToken(t, f, "aaaaaaaa-1111-2222-3333-444444444444")
	require.NotContains(t, tok, ".", "an opaque access token looks like a JWT")
	gr := graphDo(t, f, "GET", "/users?$top=1&$select=id", tok, nil)
	assert.Equal(t, 200, gr.status, "Graph refused the opaque token: %v", gr.body)
	gr = graphDo(t, f, "GET", "/users?$top=1", tok+"x", nil)
	assert.Equal(t, 401, gr.status, "a forged opaque token")
}
