package directory

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIdentitiesFilter follows the objectIdentity resource's filtering
// rules: issuerAssignedId needs issuer; userName and emailAddress
// identities ignore the issuer; federated ones need both; issuer alone
// only for google.com, facebook.com, mail and phone; userPrincipalName
// identities are not found this way; eq only (no ne, not, in).
func TestIdentitiesFilter(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 10)
	require.NoError(t, d.Update("user00003@"+specDomain, map[string]any{"identities": []Identity{
		{SignInType: "emailAddress", Issuer: specDomain, IssuerAssignedID: "j.smith@yahoo.com"},
	}}))
	require.NoError(t, d.Update("user00004@"+specDomain, map[string]any{"identities": []Identity{
		{SignInType: "federated", Issuer: "facebook.com", IssuerAssignedID: "5eecb0cd"},
		{SignInType: "userName", Issuer: specDomain, IssuerAssignedID: "jsmith"},
	}}))
	cases := []struct {
		name, filter string
		advanced     bool
		want         []string // UPN local parts; nil with code
		code         string
	}{
		{name: "sign-in name", filter: "identities/any(c:c/issuerAssignedId eq 'j.smith@yahoo.com' and c/issuer eq '" + specDomain + "')", want: []string{"user00003"}},
		{name: "issuer first, case-insensitive", filter: "identities/any(x:x/issuer eq 'My B2C tenant' and x/issuerAssignedId eq 'J.Smith@yahoo.com')", want: []string{"user00003"}},
		{name: "userName ignores issuer", filter: "identities/any(c:c/issuerAssignedId eq 'jsmith' and c/issuer eq 'whatever')", want: []string{"user00004"}},
		{name: "federated needs the issuer", filter: "identities/any(c:c/issuerAssignedId eq '5eecb0cd' and c/issuer eq 'google.com')", want: []string{}},
		{name: "federated", filter: "identities/any(c:c/issuerAssignedId eq '5eecb0cd' and c/issuer eq 'facebook.com')", want: []string{"user00004"}},
		{name: "issuer alone", filter: "identities/any(c:c/issuer eq 'facebook.com')", want: []string{"user00004"}},
		{name: "in an advanced query", filter: "identities/any(c:c/issuer eq 'facebook.com')", advanced: true, want: []string{"user00004"}},
		{name: "with another property", filter: "city eq 'Seattle' or identities/any(c:c/issuer eq 'facebook.com')", want: []string{"admin", "user00000", "user00004"}},
		{name: "userPrincipalName identity not found", filter: "identities/any(c:c/issuerAssignedId eq 'user00005@" + specDomain + "' and c/issuer eq '" + specDomain + "')", want: []string{}},
		{name: "issuerAssignedId alone", filter: "identities/any(c:c/issuerAssignedId eq 'jsmith')", code: CodeUnsupportedQuery},
		{name: "issuer alone, other issuer", filter: "identities/any(c:c/issuer eq '" + specDomain + "')", code: CodeUnsupportedQuery},
		{name: "signInType", filter: "identities/any(c:c/signInType eq 'userName')", code: CodeUnsupportedQuery},
		{name: "ne", filter: "identities/any(c:c/issuer ne 'facebook.com')", code: CodeUnsupportedQuery, advanced: true},
		{name: "not", filter: "not identities/any(c:c/issuer eq 'facebook.com')", code: CodeUnsupportedQuery, advanced: true},
		{name: "all", filter: "identities/all(c:c/issuer eq 'facebook.com')", code: CodeUnsupportedQuery},
		{name: "unknown property", filter: "identities/any(c:c/issuerId eq 'x' and c/issuer eq 'y')", code: CodeBadRequest},
		{name: "twice the issuer", filter: "identities/any(c:c/issuer eq 'x' and c/issuer eq 'y')", code: CodeUnsupportedQuery},
		{name: "or inside", filter: "identities/any(c:c/issuer eq 'mail' or c/issuer eq 'phone')", code: CodeBadRequest},
		{name: "not a lambda", filter: "identities eq 'x'", code: CodeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := d.Query(Query{Filter: tc.filter, Count: tc.advanced, ConsistencyEventual: tc.advanced})
			if tc.code != "" {
				require.Error(t, err)
				assert.Equal(t, tc.code, queryErr(t, err).Code, err.Error())
				return
			}
			require.NoError(t, err)
			got := []string{}
			for _, u := range res.Users {
				got = append(got, u.MailNickname)
			}
			assert.Equal(t, tc.want, got)
			if tc.advanced {
				assert.Equal(t, len(tc.want), res.Count)
			}
			e, err := ParseFilter(tc.filter)
			require.NoError(t, err)
			again, err := ParseFilter(e.String())
			require.NoError(t, err, e.String())
			assert.Equal(t, e.String(), again.String())
		})
	}
}

// TestIdentitiesJSON checks the identities property: the
// userPrincipalName identity first (a guest's too, issued by the
// tenant's domain: the user list reference, example 8), then the others.
func TestIdentitiesJSON(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 10)
	g, err := d.AddCustom(User{ID: "6f3b4b57-2d4f-4c55-9a8e-0d2c2b8f7a11", UserPrincipalName: "adelev_adatum.com#EXT#@" + specDomain})
	require.NoError(t, err)
	b, err := g.MarshalSelected([]string{"identities"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"identities":[{"signInType":"userPrincipalName","issuer":"`+specDomain+`","issuerAssignedId":"adelev_adatum.com#EXT#@`+specDomain+`"}]}`, string(b))
	require.NoError(t, d.Update("user00001@"+specDomain, map[string]any{"identities": []Identity{{SignInType: "federated", Issuer: "ExternalAzureAD"}}}))
	u, _ := d.User("user00001@" + specDomain)
	b, err = u.MarshalSelected([]string{"identities"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"identities":[{"signInType":"userPrincipalName","issuer":"`+specDomain+`","issuerAssignedId":"user00001@`+specDomain+`"},{"signInType":"federated","issuer":"ExternalAzureAD","issuerAssignedId":null}]}`, string(b))
	assert.Error(t, d.Update("user00001@"+specDomain, map[string]any{"identities": []Identity{{SignInType: "userPrincipalName", Issuer: specDomain}}}))
}
