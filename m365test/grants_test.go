package m365test_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestPermissionGrants: an app's admin-consented delegated scopes are an
// AllPrincipals oAuth2PermissionGrant naming its service principal; it is
// listed with Directory.Read.All or DelegatedPermissionGrant.*, deleted
// only with DelegatedPermissionGrant.ReadWrite.All (403 otherwise), and
// once deleted it is gone (a second delete 404).
func TestPermissionGrants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	const client, admin, reader, weak = "c1c1c1c1-1111-2222-3333-444444444444", "a1a1a1a1-1111-2222-3333-444444444444",
		"b1b1b1b1-1111-2222-3333-444444444444", "d1d1d1d1-1111-2222-3333-444444444444"
	_, err := f.srv.AddApp(m365test.AppOptions{ClientID: client, DisplayName: "Provider app",
		Secrets: []m365test.Secret{{Value: providerSecret}}, DelegatedPermissions: []string{"User.Read", "User.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, client))
	addReaderApp(t, f, admin, "Application.Read.All", "DelegatedPermissionGrant.ReadWrite.All")
	addReaderApp(t, f, reader, "DelegatedPermissionGrant.Read.All")
	addReaderApp(t, f, weak, "Application.Read.All")
	adminTok, readerTok, weakTok := clientToken(t, f, admin), clientToken(t, f, reader), clientToken(t, f, weak)

	sp := graphDo(t, f, "GET", "/servicePrincipals(appId='"+client+"')?$select=id", adminTok, nil)
	require.Equal(t, 200, sp.status, "service principal: %v", sp.body)
	spID := sp.body["id"].(string)
	list := graphDo(t, f, "GET", "/oauth2PermissionGrants?$filter=clientId%20eq%20'"+spID+"'", readerTok, nil)
	require.Equal(t, 200, list.status, "list: %v", list.body)
	value := list.body["value"].([]any)
	require.Len(t, value, 1, "grants of the client")
	g := value[0].(map[string]any)
	assert.Equal(t, spID, g["clientId"], "grant %v", g)
	assert.Equal(t, "AllPrincipals", g["consentType"], "grant %v", g)
	assert.Nil(t, g["principalId"], "grant %v", g)
	assert.Equal(t, "User.Read User.Read.All", g["scope"], "grant %v", g)
	id := g["id"].(string)
	got := f.srv.PermissionGrants(f.contoso.ID, client)
	assert.Equal(t, "User.Read User.Read.All", strings.Join(got[""], " "), "PermissionGrants = %v", got)

	for _, c := range []struct {
		name, method, path, tok string
		status                  int
		code                    string
	}{
		{"list without a grants permission", "GET", "/oauth2PermissionGrants", weakTok, 403, "Authorization_RequestDenied"},
		{"a filter Graph does not support", "GET", "/oauth2PermissionGrants?$filter=scope%20eq%20'x'", readerTok, 400, "Request_UnsupportedQuery"},
		{"delete with read only", "DELETE", "/oauth2PermissionGrants/" + id, readerTok, 403, "Authorization_RequestDenied"},
		{"delete without a grants permission", "DELETE", "/oauth2PermissionGrants/" + id, weakTok, 403, "Authorization_RequestDenied"},
		{"delete", "DELETE", "/oauth2PermissionGrants/" + id, adminTok, 204, ""},
		{"delete again", "DELETE", "/oauth2PermissionGrants/" + id, adminTok, 404, "Request_ResourceNotFound"},
	} {
		r := graphDo(t, f, c.method, c.path, c.tok, nil)
		if !assert.Equal(t, c.status, r.status, "%s: body %v", c.name, r.body) {
			continue
		}
		if c.code != "" {
			e, _ := r.body["error"].(map[string]any)
			if assert.NotNil(t, e, "%s: body %v, want code %s", c.name, r.body, c.code) {
				assert.Equal(t, c.code, e["code"], "%s: body %v", c.name, r.body)
			}
		}
	}
	after := graphDo(t, f, "GET", "/oauth2PermissionGrants?$filter=clientId%20eq%20'"+spID+"'", adminTok, nil)
	if assert.Equal(t, 200, after.status, "after the delete: %v", after.body) {
		assert.Empty(t, after.body["value"].([]any), "after the delete: grants listed")
	}
	assert.Empty(t, f.srv.PermissionGrants(f.contoso.ID, client), "after the delete: PermissionGrants")
}
