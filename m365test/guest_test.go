package m365test_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/m365test"
)

func TestGuestUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20)
	before := graphDo(t, f, "GET", "/users?$filter=userType%20eq%20'Member'&$top=999&$select=id", appTokenWithConsent(t, f), nil)
	// A guest from outside the server, and one whose home is fabrikam.
	alice, err := f.srv.AddGuest(f.contoso.ID, m365test.GuestOptions{Email: "alice@fabrikam.com", Password: "alice-Passw0rd"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := f.srv.AddGuest(f.contoso.ID, m365test.GuestOptions{Email: "user00003@fabrikam.onmicrosoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	if alice.UserPrincipalName != "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com" || alice.Mail != "alice@fabrikam.com" ||
		bob.HomeTenantID != f.fabrikam.ID || bob.HomeObjectID != f.fabrikam.UserID("user00003@fabrikam.onmicrosoft.com") || bob.ID == bob.HomeObjectID {
		t.Errorf("guests %+v %+v", alice, bob)
	}
	for _, o := range []m365test.GuestOptions{{Email: "alice@fabrikam.com"}, {Email: "nobody@fabrikam.onmicrosoft.com"},
		{Email: "Alice <a@x.example>"}, {Email: "user00001@contoso.onmicrosoft.com"}, {Email: "a@x.example", HomeTenantID: "nope"}} {
		if _, err := f.srv.AddGuest(f.contoso.ID, o); err == nil {
			t.Errorf("AddGuest(%+v) accepted", o)
		}
	}

	// Directory: the demo users are unchanged, the guests are Guests.
	tok := appTokenWithConsent(t, f)
	after := graphDo(t, f, "GET", "/users?$filter=userType%20eq%20'Member'&$top=999&$select=id", tok, nil)
	if len(after.body["value"].([]any)) != len(before.body["value"].([]any)) || len(after.body["value"].([]any)) != 21 {
		t.Errorf("members changed: %d -> %d", len(before.body["value"].([]any)), len(after.body["value"].([]any)))
	}
	gr := graphDo(t, f, "GET", "/users/"+url.PathEscape(alice.UserPrincipalName)+"?$select=id,userType,mail,otherMails", tok, nil)
	if gr.status != 200 || gr.body["id"] != alice.ID || gr.body["userType"] != "Guest" || gr.body["mail"] != "alice@fabrikam.com" {
		t.Errorf("GET the guest: %d %v", gr.status, gr.body)
	}

	// Sign-in at the resource tenant with the home credentials.
	for _, tc := range []struct {
		g               Guest
		email, password string
	}{{alice, "alice@fabrikam.com", "alice-Passw0rd"}, {bob, "user00003@fabrikam.onmicrosoft.com", f.fabrikam.Password()}} {
		if err := f.srv.GrantAdminConsent(f.contoso.ID, f.native.ClientID); err != nil {
			t.Fatal(err)
		}
		resp, err := f.srv.Client().PostForm(f.srv.AuthorityURL(f.contoso.ID)+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"},
			"client_id": {f.native.ClientID}, "scope": {"User.Read openid profile"}, "username": {tc.email}, "password": {tc.password}, "client_info": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		body := decode(t, readAll(t, resp))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", tc.email, resp.StatusCode, body)
		}
		id := jwtClaims(t, body["id_token"].(string))
		if id["tid"] != f.contoso.ID || id["oid"] != tc.g.ID || id["preferred_username"] != tc.email || id["email"] != tc.email || id["upn"] != nil {
			t.Errorf("%s id_token %v", tc.email, id)
		}
		ci, _ := base64.RawURLEncoding.DecodeString(body["client_info"].(string))
		var info map[string]string
		_ = json.Unmarshal(ci, &info)
		if info["uid"] != tc.g.HomeObjectID || info["utid"] != tc.g.HomeTenantID {
			t.Errorf("%s client_info %v", tc.email, info)
		}
		me := graphDo(t, f, "GET", "/me?$select=id,userPrincipalName,userType", body["access_token"].(string), nil)
		if me.status != 200 || me.body["id"] != tc.g.ID || me.body["userType"] != "Guest" {
			t.Errorf("%s /me %d %v", tc.email, me.status, me.body)
		}
		// A wrong home password fails like any other.
		resp, err = f.srv.Client().PostForm(f.srv.AuthorityURL(f.contoso.ID)+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"},
			"client_id": {f.native.ClientID}, "scope": {"User.Read"}, "username": {tc.email}, "password": {"wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		if b := readAll(t, resp); resp.StatusCode != 400 || !strings.Contains(b, "50126") {
			t.Errorf("%s wrong password: %d %s", tc.email, resp.StatusCode, b)
		}
	}
}

type Guest = m365test.Guest

// appTokenWithConsent is the provider's app-only token for contoso.
func appTokenWithConsent(t *testing.T, f *fixture) string {
	if err := f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID); err != nil {
		t.Fatal(err)
	}
	return appToken(t, f, f.contoso.ID)
}
