package m365test_test

import (
	"strings"
	"testing"
)

// TestSelectDeclaredProperties: Graph answers $select of a declared user
// property the fake keeps no value for with null ([] for a collection),
// and refuses an undeclared name with its own 400.
func TestSelectDeclaredProperties(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	if err := f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID); err != nil {
		t.Fatal(err)
	}
	app := appToken(t, f, f.contoso.ID)
	const sel = "$select=id,createdDateTime,employeeHireDate,imAddresses,onPremisesSyncEnabled,identities"
	check := func(t *testing.T, u map[string]any) {
		t.Helper()
		if len(u) < 6 {
			t.Fatalf("user %v lacks selected properties", u)
		}
		for _, name := range []string{"employeeHireDate", "onPremisesSyncEnabled"} {
			if v, ok := u[name]; !ok || v != nil {
				t.Errorf("%s = %v (present %v), want null", name, v, ok)
			}
		}
		// createdDateTime is modelled: the demo rule's time.
		if v, _ := u["createdDateTime"].(string); !strings.HasPrefix(v, "2024-01-0") {
			t.Errorf("createdDateTime = %v, want the demo data's", u["createdDateTime"])
		}
		if v, ok := u["imAddresses"].([]any); !ok || len(v) != 0 {
			t.Errorf("imAddresses = %v, want []", u["imAddresses"])
		}
		// Every cloud user has its userPrincipalName identity (user
		// resource, identities).
		if v, ok := u["identities"].([]any); !ok || len(v) != 1 || v[0].(map[string]any)["signInType"] != "userPrincipalName" {
			t.Errorf("identities = %v, want the userPrincipalName identity", u["identities"])
		}
		if id, _ := u["id"].(string); id == "" {
			t.Errorf("id missing: %v", u)
		}
	}
	t.Run("list", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/users?$top=5&"+sel, app, nil)
		v, _ := gr.body["value"].([]any)
		if gr.status != 200 || len(v) != 5 {
			t.Fatalf("GET /users: %d %v", gr.status, gr.body)
		}
		if ctx, _ := gr.body["@odata.context"].(string); !strings.Contains(ctx, "createdDateTime") {
			t.Errorf("@odata.context %q does not name the selection", ctx)
		}
		for _, u := range v {
			check(t, u.(map[string]any))
		}
	})
	t.Run("one user", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/users/user00003@contoso.onmicrosoft.com?"+sel, app, nil)
		if gr.status != 200 {
			t.Fatalf("GET /users/{upn}: %d %v", gr.status, gr.body)
		}
		delete(gr.body, "@odata.context")
		check(t, gr.body)
	})
	for _, path := range []string{"/users?$select=id,notAProperty", "/users/user00003@contoso.onmicrosoft.com?$select=notAProperty"} {
		gr := graphDo(t, f, "GET", path, app, nil)
		if gr.status != 400 || graphErr(t, gr) != "BadRequest" {
			t.Errorf("%s: %d %v, want 400 BadRequest", path, gr.status, gr.body)
			continue
		}
		if msg := gr.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "Could not find a property named 'notAProperty' on type 'microsoft.graph.user'") {
			t.Errorf("%s: message %q", path, msg)
		}
	}
	// Filtering on a declared but unmodelled property stays refused.
	if gr := graphDo(t, f, "GET", "/users?$filter=employeeType%20eq%20'x'", app, nil); gr.status != 400 {
		t.Errorf("filter on an unmodelled property: %d %v", gr.status, gr.body)
	}
}
