package m365test_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// docCase is one documented behaviour of Microsoft Graph, taken from the
// reference page it is named by: a request adapted to the fake's tenant
// and the status and body shape the page documents for it.
type docCase struct {
	// page names the Microsoft Learn page the behaviour is documented on
	// (graph/api/... for the v1.0 reference).
	page   string
	name   string
	method string
	path   string
	header []string
	// token picks the caller: "" the app with admin consent, "user" a
	// delegated User.Read token of the tenant's admin, "none" no token.
	token  string
	status int
	// code is the error code an error answer carries.
	code string
	// check, when set, asserts the documented shape of a 2xx body.
	check func(t *testing.T, gr graphResp)
}

// runDocCases replays each case against f.
func runDocCases(t *testing.T, f *fixture, cases []docCase) {
	t.Helper()
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	app := appToken(t, f, f.contoso.ID)
	user := userToken(t, f, f.contoso.AdminUPN(), "User.Read")
	for _, tc := range cases {
		t.Run(tc.page+"/"+tc.name, func(t *testing.T) {
			tok := app
			switch tc.token {
			case "user":
				tok = user
			case "none":
				tok = ""
			}
			gr := graphDo(t, f, tc.method, tc.path, tok, nil, tc.header...)
			require.Equal(t, tc.status, gr.status, "body %v", gr.body)
			if tc.code != "" {
				assert.Equal(t, tc.code, graphErr(t, gr))
			}
			if tc.check != nil {
				tc.check(t, gr)
			}
		})
	}
}

// values returns a collection answer's value array as objects.
func values(t *testing.T, gr graphResp) []map[string]any {
	t.Helper()
	raw, ok := gr.body["value"].([]any)
	require.True(t, ok, "no value array: %v", gr.body)
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

// TestDocUsers replays the user list, get and delta reference pages.
func TestDocUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	u3 := f.contoso.UserID("user00003@contoso.onmicrosoft.com")
	u4 := f.contoso.UserID("user00004@contoso.onmicrosoft.com")
	esc := url.QueryEscape
	runDocCases(t, f, []docCase{
		{page: "graph/api/user-delta", name: "select always returns id", method: "GET", path: "/users/delta?$select=displayName,jobTitle", status: 200,
			check: func(t *testing.T, gr graphResp) {
				for _, u := range values(t, gr) {
					assert.Len(t, u, 3)
					assert.NotEmpty(t, u["id"])
				}
			}},
		{page: "graph/api/user-delta", name: "filter by id", method: "GET", status: 200,
			path: "/users/delta?$select=displayName&$filter=" + esc("id eq '"+u3+"' or id eq '"+u4+"'"),
			check: func(t *testing.T, gr graphResp) {
				us := values(t, gr)
				require.Len(t, us, 2)
				assert.ElementsMatch(t, []any{u3, u4}, []any{us[0]["id"], us[1]["id"]})
				assert.Contains(t, gr.body["@odata.deltaLink"], "filter")
			}},
		{page: "graph/api/user-delta", name: "other filters unsupported", method: "GET", path: "/users/delta?$filter=" + esc("city eq 'Milan'"),
			status: 400, code: "Request_UnsupportedQuery"},
		{page: "graph/api/user-delta", name: "more than 50 ids", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users/delta?$filter=" + esc(strings.Repeat("id eq '"+u3+"' or ", 50)+"id eq '"+u4+"'")},
		{page: "graph/api/user-list", name: "count segment needs ConsistencyLevel", method: "GET", path: "/users/$count", status: 400, code: "Request_BadRequest"},
		{page: "graph/api/user-list", name: "skip not supported", method: "GET", path: "/users?$skip=3", status: 400, code: "Request_BadRequest"},
		{page: "graph/api/user-get", name: "key form with UPN", method: "GET", path: "/users('user00003@contoso.onmicrosoft.com')", status: 200,
			check: func(t *testing.T, gr graphResp) { assert.Equal(t, u3, gr.body["id"]) }},
		{page: "graph/api/resources/signinactivity", name: "signInActivity needs AuditLog.Read.All", method: "GET",
			path: "/users?$select=displayName,signInActivity", status: 403, code: "Authorization_RequestDenied"},
		{page: "graph/api/resources/signinactivity", name: "signInActivity needs AuditLog.Read.All on get", method: "GET",
			path: "/users/" + u3 + "?$select=signInActivity", status: 403, code: "Authorization_RequestDenied"},
	})
}

// TestDocUsersCount checks the $count segment's body: the number, as
// text/plain (user list reference, "Get only a count of users").
func TestDocUsersCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	for path, want := range map[string]string{
		"/users/$count": "31", // 30 and the admin
		"/users/$count?$filter=" + url.QueryEscape("userPrincipalName eq 'user00003@contoso.onmicrosoft.com'"): "1",
	} {
		req, err := http.NewRequest("GET", f.srv.GraphURL()+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+appToken(t, f, f.contoso.ID))
		req.Header.Set("ConsistencyLevel", "eventual")
		resp, err := f.srv.Client().Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
		assert.Equal(t, want, string(b), path)
	}
}

var _ = m365test.GraphHost
