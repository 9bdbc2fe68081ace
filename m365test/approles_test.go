package m365test_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestAppRolesInIDToken: a member user assigned an app role of a
// single-tenant app gets its value in the id_token's roles claim; an
// unassigned user gets no roles claim; a removed assignment is gone from
// the next token. The generated users stay as they were.
func TestAppRolesInIDToken(t *testing.T) {
	t.Parallel()
	srv := m365test.NewServer(nil)
	t.Cleanup(srv.Close)
	msp, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{"msp.onmicrosoft.com"}, DisplayName: "MSP"})
	require.NoError(t, err)
	app, err := srv.AddApp(m365test.AppOptions{DisplayName: "Portal sign-in", HomeTenant: msp.ID, SingleTenant: true, PublicClient: true,
		AppRoles: []m365test.AppRole{{Value: "viewer"}, {Value: "operator"}, {Value: "admin", DisplayName: "Administrator"}}})
	require.NoError(t, err)

	ada, err := srv.AddMember(msp.ID, m365test.MemberOptions{UserPrincipalName: "ada@msp.onmicrosoft.com", DisplayName: "Ada Admin", JobTitle: "Technician"})
	require.NoError(t, err)
	vera, err := srv.AddMember(msp.ID, m365test.MemberOptions{UserPrincipalName: "vera@msp.onmicrosoft.com"})
	require.NoError(t, err)
	assert.NotEqual(t, ada.ID, vera.ID)
	assert.Equal(t, ada.ID, msp.UserID("ada@msp.onmicrosoft.com"))
	assert.Equal(t, 2, msp.Users(), "the members list after the (no) generated users")

	for _, bad := range []m365test.MemberOptions{{UserPrincipalName: "ada@msp.onmicrosoft.com"}, {UserPrincipalName: "x@other.example"}, {UserPrincipalName: "nope"}} {
		_, err := srv.AddMember(msp.ID, bad)
		assert.Error(t, err, "%+v", bad)
	}
	require.NoError(t, srv.AssignAppRole(msp.ID, app.ClientID, "ada@msp.onmicrosoft.com", "admin"))
	require.NoError(t, srv.AssignAppRole(msp.ID, app.ClientID, "ada@msp.onmicrosoft.com", "operator"))
	require.NoError(t, srv.AssignAppRole(msp.ID, app.ClientID, "ada@msp.onmicrosoft.com", "admin"), "assigning twice is one assignment")
	assert.Error(t, srv.AssignAppRole(msp.ID, app.ClientID, "ada@msp.onmicrosoft.com", "root"), "a role the app does not define")
	assert.Error(t, srv.AssignAppRole(msp.ID, app.ClientID, "nobody@msp.onmicrosoft.com", "admin"))
	assert.Error(t, srv.AssignAppRole(msp.ID, "00000000-0000-0000-0000-000000000001", "ada@msp.onmicrosoft.com", "admin"))

	_, err = srv.AddApp(m365test.AppOptions{AppRoles: []m365test.AppRole{{Value: "has space"}}})
	assert.Error(t, err)
	_, err = srv.AddApp(m365test.AppOptions{AppRoles: []m365test.AppRole{{Value: "a"}, {Value: "a"}}})
	assert.Error(t, err)

	idToken := func(upn string) map[string]any {
		t.Helper()
		resp, err := srv.Client().PostForm(srv.AuthorityURL(msp.ID)+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"},
			"client_id": {app.ClientID}, "scope": {"openid profile"}, "username": {upn}, "password": {msp.Password()}})
		require.NoError(t, err)
		body := decode(t, readAll(t, resp))
		require.Equal(t, 200, resp.StatusCode, "%v", body)
		return jwtClaims(t, body["id_token"].(string))
	}
	id := idToken("ada@msp.onmicrosoft.com")
	assert.Equal(t, []any{"admin", "operator"}, id["roles"])
	assert.Equal(t, ada.ID, id["oid"])
	assert.Equal(t, "Ada Admin", id["name"])
	_, has := idToken("vera@msp.onmicrosoft.com")["roles"]
	assert.False(t, has, "no assignment: no roles claim")

	require.NoError(t, srv.RemoveAppRoleAssignment(msp.ID, app.ClientID, "ada@msp.onmicrosoft.com", "admin"))
	assert.Equal(t, []any{"operator"}, idToken("ada@msp.onmicrosoft.com")["roles"])
}
