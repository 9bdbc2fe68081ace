package directory

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGeneratedUsersFollowSpec(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, specN)
	spec := specUsers(specDomain, specN)
	// The properties compared for every user; a mismatch shows as a diff
	// naming the field.
	type props struct {
		UserPrincipalName, Mail, DisplayName, UsageLocation, Country, City string
		OfficeLocation, Department, JobTitle, CompanyName, UserType        string
		AccountEnabled                                                     bool
	}
	check := func(u User, s specUser) {
		t.Helper()
		got := props{u.UserPrincipalName, u.Mail, u.DisplayName, u.UsageLocation, u.Country, u.City,
			u.OfficeLocation, u.Department, u.JobTitle, u.CompanyName, u.UserType, u.AccountEnabled}
		want := props{s.upn, s.upn, s.display, s.usage, s.country, s.city,
			s.city + " Office", s.dept, s.title, specCompany, "Member", s.enabled}
		// testify only on a mismatch: on every one of the 50,001 users
		// its bookkeeping made the test 4x slower under -race.
		if got != want {
			assert.Equal(t, want, got, "user %d", u.Index)
		}
		if len(u.ProxyAddresses) != 1 || u.ProxyAddresses[0] != "SMTP:"+s.upn {
			assert.Equal(t, []string{"SMTP:" + s.upn}, u.ProxyAddresses, "user %d proxyAddresses", u.Index)
		}
	}
	check(d.Admin(), spec[0])
	for i := 0; i < specN; i++ {
		check(d.UserAt(i), spec[i+1])
	}
	u := d.UserAt(42)
	assert.Equal(t, "User", u.GivenName, "UserAt(42).GivenName")
	assert.Equal(t, "00042", u.Surname, "UserAt(42).Surname")
	assert.Equal(t, "user00042", u.MailNickname, "UserAt(42).MailNickname")
	assert.Empty(t, u.State, "UserAt(42).State")
	assert.Equal(t, 42, u.Index, "UserAt(42).Index")
}

func TestNewPanicsOnBadSize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, MaxUsers + 1} {
		assert.Panics(t, func() { New(specTenant, specDomain, specCompany, n) }, "New(n=%d)", n)
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
		if tc.index == -2 {
			assert.False(t, ok, "User(%q) found %s, want not found", tc.key, u.UserPrincipalName)
			continue
		}
		if assert.True(t, ok, "User(%q) not found", tc.key) {
			assert.Equal(t, tc.index, u.Index, "User(%q).Index", tc.key)
		}
	}
}

func TestAdminIsACopy(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 1)
	a := d.Admin()
	a.ProxyAddresses[0] = "changed"
	require.Equal(t, "SMTP:admin@"+specDomain, d.Admin().ProxyAddresses[0], "changing a returned user changed the directory")
}

func TestUserJSON(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, `Contoso "Ltd" <&>`, 1)
	b, err := json.Marshal(d.UserAt(0))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	assert.Len(t, m, len(Properties()), "%s", b)
	want := map[string]any{
		"companyName": `Contoso "Ltd" <&>`, "state": nil, "accountEnabled": true,
		"businessPhones": []any{}, "userPrincipalName": "user00000@" + specDomain,
	}
	for k, v := range want {
		got, _ := json.Marshal(m[k])
		assert.Equal(t, mustJSON(v), string(got), k)
	}
	v, ok := d.UserAt(0).Get("USAGELOCATION")
	assert.True(t, ok, "Get(USAGELOCATION) found")
	assert.Equal(t, "US", v, "Get(USAGELOCATION)")
	v, ok = d.UserAt(0).Get("state")
	assert.True(t, ok, "Get(state) found")
	assert.Nil(t, v, "Get(state)")
	_, ok = d.UserAt(0).Get("nope")
	assert.False(t, ok, "Get(nope) found a property")
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
	assert.NoError(t, err, "MarshalSelected")
	assert.Equal(t, `{"userPrincipalName":"user00000@`+specDomain+`","accountEnabled":true}`, string(b), "MarshalSelected")
	b, err = d.Admin().MarshalSelected(nil)
	require.NoError(t, err, "default MarshalSelected")
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "default MarshalSelected = %s", b)
	assert.Len(t, m, 11, "default MarshalSelected = %s", b)
	assert.Equal(t, d.Admin().ID, m["id"], "default MarshalSelected id")
	assert.Nil(t, m["mobilePhone"], "default MarshalSelected mobilePhone")
	_, err = d.Admin().MarshalSelected([]string{"manager"})
	assert.Error(t, err, "unknown property accepted")
}
