package directory

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestGeneratedUsersFollowSpec(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, specN)
	spec := specUsers(specDomain, specN)
	check := func(u User, s specUser) {
		t.Helper()
		if u.UserPrincipalName != s.upn || u.Mail != s.upn || u.DisplayName != s.display ||
			u.UsageLocation != s.usage || u.Country != s.country || u.City != s.city ||
			u.OfficeLocation != s.city+" Office" || u.Department != s.dept || u.JobTitle != s.title ||
			u.AccountEnabled != s.enabled || u.CompanyName != specCompany || u.UserType != "Member" {
			t.Errorf("user %d = %+v, want %+v", u.Index, u, s)
		}
		if len(u.ProxyAddresses) != 1 || u.ProxyAddresses[0] != "SMTP:"+s.upn {
			t.Errorf("user %d proxyAddresses = %v", u.Index, u.ProxyAddresses)
		}
	}
	check(d.Admin(), spec[0])
	for i := 0; i < specN; i++ {
		check(d.UserAt(i), spec[i+1])
	}
	u := d.UserAt(42)
	if u.GivenName != "User" || u.Surname != "00042" || u.MailNickname != "user00042" || u.State != "" || u.Index != 42 {
		t.Errorf("UserAt(42) = %+v", u)
	}
}

func TestNewPanicsOnBadSize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, MaxUsers + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(n=%d) did not panic", n)
				}
			}()
			New(specTenant, specDomain, specCompany, n)
		}()
	}
}

func TestUserLookup(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 1000)
	for _, tc := range []struct {
		key   string
		index int // -1 admin, -2 not found
	}{
		{"user00042@contoso.onmicrosoft.com", 42},
		{"USER00042@Contoso.OnMicrosoft.com", 42},
		{"user00999@contoso.onmicrosoft.com", 999},
		{"user01000@contoso.onmicrosoft.com", -2},
		{"user0042@contoso.onmicrosoft.com", -2},
		{"user0004x@contoso.onmicrosoft.com", -2},
		{"user00042@fabrikam.com", -2},
		{"admin@contoso.onmicrosoft.com", -1},
		{d.UserAt(7).ID, 7},
		{strings.ToUpper(d.UserAt(7).ID), 7},
		{d.Admin().ID, -1},
		{"00000000-0000-0000-0000-000000000000", -2},
		{"", -2},
	} {
		u, ok := d.User(tc.key)
		switch {
		case tc.index == -2 && ok:
			t.Errorf("User(%q) found %s, want not found", tc.key, u.UserPrincipalName)
		case tc.index != -2 && (!ok || u.Index != tc.index):
			t.Errorf("User(%q) = %d, %v; want %d", tc.key, u.Index, ok, tc.index)
		}
	}
}

func TestAdminIsACopy(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 1)
	a := d.Admin()
	a.ProxyAddresses[0] = "changed"
	if d.Admin().ProxyAddresses[0] != "SMTP:admin@"+specDomain {
		t.Fatal("changing a returned user changed the directory")
	}
}

func TestUserJSON(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, `Contoso "Ltd" <&>`, 1)
	b, err := json.Marshal(d.UserAt(0))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(m) != len(Properties()) {
		t.Errorf("got %d properties, want %d: %s", len(m), len(Properties()), b)
	}
	want := map[string]any{
		"companyName": `Contoso "Ltd" <&>`, "state": nil, "accountEnabled": true,
		"businessPhones": []any{}, "userPrincipalName": "user00000@" + specDomain,
	}
	for k, v := range want {
		if got, _ := json.Marshal(m[k]); string(got) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
		}
	}
	if v, ok := d.UserAt(0).Get("USAGELOCATION"); !ok || v != "US" {
		t.Errorf("Get(USAGELOCATION) = %v, %v", v, ok)
	}
	if v, ok := d.UserAt(0).Get("state"); !ok || v != nil {
		t.Errorf("Get(state) = %v, %v", v, ok)
	}
	if _, ok := d.UserAt(0).Get("nope"); ok {
		t.Error("Get(nope) found a property")
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestMarshalSelected(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 1)
	b, err := d.UserAt(0).MarshalSelected([]string{"userPrincipalName", "ACCOUNTENABLED"})
	if want := `{"userPrincipalName":"user00000@` + specDomain + `","accountEnabled":true}`; err != nil || string(b) != want {
		t.Errorf("MarshalSelected = %s, %v; want %s", b, err, want)
	}
	b, err = d.Admin().MarshalSelected(nil)
	var m map[string]any
	if err != nil || json.Unmarshal(b, &m) != nil || len(m) != 11 || m["id"] != d.Admin().ID || m["mobilePhone"] != nil {
		t.Errorf("default MarshalSelected = %s, %v", b, err)
	}
	if _, err := d.Admin().MarshalSelected([]string{"manager"}); err == nil {
		t.Error("unknown property accepted")
	}
}
