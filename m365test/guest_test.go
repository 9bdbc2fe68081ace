package m365test_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

func TestGuestUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20)
	before := graphDo(t, f, "GET", "/users?$filter=userType%20eq%20'Member'&$top=999&$select=id", appTokenWithConsent(t, f), nil)
	// A guest from outside the server, and one whose home is fabrikam.
	alice, err := f.srv.AddGuest(f.contoso.ID, m365test.GuestOptions{Email: "alice@fabrikam.com", Password: "alice-Passw0rd"})
	require.NoError(t, err)
	bob, err := f.srv.AddGuest(f.contoso.ID, m365test.GuestOptions{Email: "user00003@fabrikam.onmicrosoft.com"})
	require.NoError(t, err)
	assert.Equal(t, "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com", alice.UserPrincipalName, "alice")
	assert.Equal(t, "alice@fabrikam.com", alice.Mail, "alice")
	assert.Equal(t, f.fabrikam.ID, bob.HomeTenantID, "bob")
	assert.Equal(t, f.fabrikam.UserID("user00003@fabrikam.onmicrosoft.com"), bob.HomeObjectID, "bob")
	assert.NotEqual(t, bob.HomeObjectID, bob.ID, "bob's object ID in contoso is its own")
	for _, o := range []m365test.GuestOptions{{Email: "alice@fabrikam.com"}, {Email: "nobody@fabrikam.onmicrosoft.com"},
		{Email: "Alice <a@x.example>"}, {Email: "user00001@contoso.onmicrosoft.com"}, {Email: "a@x.example", HomeTenantID: "nope"}} {
		_, err := f.srv.AddGuest(f.contoso.ID, o)
		assert.Error(t, err, "AddGuest(%+v) accepted", o)
	}

	// Directory: the demo users are unchanged, the guests are Guests.
	tok := appTokenWithConsent(t, f)
	after := graphDo(t, f, "GET", "/users?$filter=userType%20eq%20'Member'&$top=999&$select=id", tok, nil)
	assert.Len(t, after.body["value"].([]any), len(before.body["value"].([]any)), "members changed")
	assert.Len(t, after.body["value"].([]any), 21, "members")
	gr := graphDo(t, f, "GET", "/users/"+url.PathEscape(alice.UserPrincipalName)+"?$select=id,userType,mail,otherMails", tok, nil)
	if assert.Equal(t, 200, gr.status, "GET the guest: %v", gr.body) {
		assert.Equal(t, alice.ID, gr.body["id"], "GET the guest")
		assert.Equal(t, "Guest", gr.body["userType"], "GET the guest")
		assert.Equal(t, "alice@fabrikam.com", gr.body["mail"], "GET the guest")
	}

	// Sign-in at the resource tenant with the home credentials.
	for _, tc := range []struct {
		g               Guest
		email, password string
	}{{alice, "alice@fabrikam.com", "alice-Passw0rd"}, {bob, "user00003@fabrikam.onmicrosoft.com", f.fabrikam.Password()}} {
		require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.native.ClientID))
		resp, err := f.srv.Client().PostForm(f.srv.AuthorityURL(f.contoso.ID)+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"},
			"client_id": {f.native.ClientID}, "scope": {"User.Read openid profile"}, "username": {tc.email}, "password": {tc.password}, "client_info": {"1"}})
		require.NoError(t, err)
		body := decode(t, readAll(t, resp))
		require.Equal(t, 200, resp.StatusCode, "%s: %v", tc.email, body)
		id := jwtClaims(t, body["id_token"].(string))
		assert.Equal(t, f.contoso.ID, id["tid"], "%s id_token tid", tc.email)
		assert.Equal(t, tc.g.ID, id["oid"], "%s id_token oid", tc.email)
		assert.Equal(t, tc.email, id["preferred_username"], "%s id_token preferred_username", tc.email)
		assert.Equal(t, tc.email, id["email"], "%s id_token email", tc.email)
		assert.Nil(t, id["upn"], "%s id_token upn", tc.email)
		ci, _ := base64.RawURLEncoding.DecodeString(body["client_info"].(string))
		var info map[string]string
		_ = json.Unmarshal(ci, &info)
		assert.Equal(t, tc.g.HomeObjectID, info["uid"], "%s client_info uid", tc.email)
		assert.Equal(t, tc.g.HomeTenantID, info["utid"], "%s client_info utid", tc.email)
		me := graphDo(t, f, "GET", "/me?$select=id,userPrincipalName,userType", body["access_token"].(string), nil)
		if assert.Equal(t, 200, me.status, "%s /me %v", tc.email, me.body) {
			assert.Equal(t, tc.g.ID, me.body["id"], "%s /me id", tc.email)
			assert.Equal(t, "Guest", me.body["userType"], "%s /me userType", tc.email)
		}
		// A wrong home password fails like any other.
		resp, err = f.srv.Client().PostForm(f.srv.AuthorityURL(f.contoso.ID)+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"},
			"client_id": {f.native.ClientID}, "scope": {"User.Read"}, "username": {tc.email}, "password": {"wrong"}})
		require.NoError(t, err)
		b := readAll(t, resp)
		assert.Equal(t, 400, resp.StatusCode, "%s wrong password: %s", tc.email, b)
		assert.Contains(t, b, "50126", "%s wrong password", tc.email)
	}
}

type Guest = m365test.Guest

// appTokenWithConsent is the provider's app-only token for contoso.
func appTokenWithConsent(t *testing.T, f *fixture) string {
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	return appToken(t, f, f.contoso.ID)
}
