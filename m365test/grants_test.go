package m365test_test

import (
	"strings"
	"testing"

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
	if _, err := f.srv.AddApp(m365test.AppOptions{ClientID: client, DisplayName: "Provider app",
		Secrets: []m365test.Secret{{Value: providerSecret}}, DelegatedPermissions: []string{"User.Read", "User.Read.All"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.GrantAdminConsent(f.contoso.ID, client); err != nil {
		t.Fatal(err)
	}
	addReaderApp(t, f, admin, "Application.Read.All", "DelegatedPermissionGrant.ReadWrite.All")
	addReaderApp(t, f, reader, "DelegatedPermissionGrant.Read.All")
	addReaderApp(t, f, weak, "Application.Read.All")
	adminTok, readerTok, weakTok := clientToken(t, f, admin), clientToken(t, f, reader), clientToken(t, f, weak)

	sp := graphDo(t, f, "GET", "/servicePrincipals(appId='"+client+"')?$select=id", adminTok, nil)
	if sp.status != 200 {
		t.Fatalf("service principal: %d %v", sp.status, sp.body)
	}
	spID := sp.body["id"].(string)
	list := graphDo(t, f, "GET", "/oauth2PermissionGrants?$filter=clientId%20eq%20'"+spID+"'", readerTok, nil)
	if list.status != 200 {
		t.Fatalf("list: %d %v", list.status, list.body)
	}
	value := list.body["value"].([]any)
	if len(value) != 1 {
		t.Fatalf("grants of the client: %v", value)
	}
	g := value[0].(map[string]any)
	if g["clientId"] != spID || g["consentType"] != "AllPrincipals" || g["principalId"] != nil || g["scope"] != "User.Read User.Read.All" {
		t.Errorf("grant %v", g)
	}
	id := g["id"].(string)
	if got := f.srv.PermissionGrants(f.contoso.ID, client); strings.Join(got[""], " ") != "User.Read User.Read.All" {
		t.Errorf("PermissionGrants = %v", got)
	}

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
		if r.status != c.status {
			t.Errorf("%s: status %d %v, want %d", c.name, r.status, r.body, c.status)
			continue
		}
		if c.code != "" {
			if e, _ := r.body["error"].(map[string]any); e == nil || e["code"] != c.code {
				t.Errorf("%s: body %v, want code %s", c.name, r.body, c.code)
			}
		}
	}
	after := graphDo(t, f, "GET", "/oauth2PermissionGrants?$filter=clientId%20eq%20'"+spID+"'", adminTok, nil)
	if after.status != 200 || len(after.body["value"].([]any)) != 0 || len(f.srv.PermissionGrants(f.contoso.ID, client)) != 0 {
		t.Errorf("after the delete: %d %v", after.status, after.body)
	}
}
