package m365test_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSelectDeclaredProperties: Graph answers $select of a declared user
// property the fake keeps no value for with null ([] for a collection),
// and refuses an undeclared name with its own 400.
func TestSelectDeclaredProperties(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	app := appToken(t, f, f.contoso.ID)
	const sel = "$select=id,createdDateTime,employeeHireDate,imAddresses,onPremisesSyncEnabled,identities"
	check := func(t *testing.T, u map[string]any) {
		t.Helper()
		require.GreaterOrEqual(t, len(u), 6, "user %v lacks selected properties", u)
		for _, name := range []string{"employeeHireDate", "onPremisesSyncEnabled"} {
			if assert.Contains(t, u, name) {
				assert.Nil(t, u[name], "%s, want null", name)
			}
		}
		// createdDateTime is modelled: the demo rule's time.
		v, _ := u["createdDateTime"].(string)
		assert.True(t, strings.HasPrefix(v, "2024-01-0"), "createdDateTime = %v, want the demo data's", u["createdDateTime"])
		assert.Equal(t, []any{}, u["imAddresses"], "imAddresses")
		// Every cloud user has its userPrincipalName identity (user
		// resource, identities).
		if ids, ok := u["identities"].([]any); assert.True(t, ok, "identities = %v", u["identities"]) && assert.Len(t, ids, 1, "identities") {
			assert.Equal(t, "userPrincipalName", ids[0].(map[string]any)["signInType"], "identities = %v, want the userPrincipalName identity", ids)
		}
		id, _ := u["id"].(string)
		assert.NotEmpty(t, id, "id missing: %v", u)
	}
	t.Run("list", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/users?$top=5&"+sel, app, nil)
		v, _ := gr.body["value"].([]any)
		require.Equal(t, 200, gr.status, "GET /users: %v", gr.body)
		require.Len(t, v, 5, "GET /users")
		ctx, _ := gr.body["@odata.context"].(string)
		assert.Contains(t, ctx, "createdDateTime", "@odata.context does not name the selection")
		for _, u := range v {
			check(t, u.(map[string]any))
		}
	})
	t.Run("one user", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/users/user00003@contoso.onmicrosoft.com?"+sel, app, nil)
		require.Equal(t, 200, gr.status, "GET /users/{upn}: %v", gr.body)
		delete(gr.body, "@odata.context")
		check(t, gr.body)
	})
	for _, path := range []string{"/users?$select=id,notAProperty", "/users/user00003@contoso.onmicrosoft.com?$select=notAProperty"} {
		gr := graphDo(t, f, "GET", path, app, nil)
		if !assertGraphError(t, gr, 400, "BadRequest", path) {
			continue
		}
		msg := gr.body["error"].(map[string]any)["message"].(string)
		assert.Contains(t, msg, "Could not find a property named 'notAProperty' on type 'microsoft.graph.user'", "%s: message", path)
	}
	// Filtering on a declared but unmodelled property stays refused.
	gr := graphDo(t, f, "GET", "/users?$filter=employeeType%20eq%20'x'", app, nil)
	assert.Equal(t, 400, gr.status, "filter on an unmodelled property: %v", gr.body)
}
