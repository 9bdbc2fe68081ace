package m365test_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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

// TestDocCallRecords replays the callRecord get and list reference pages:
// organizer_v2 by default (example 1), participants_v2 only with
// $expand=participants_v2 (example 3, pages of 130), sessions' endpoints
// with associatedIdentity (example 2), the list's participants_v2/any
// filter and its page size of 60.
func TestDocCallRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 200)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	ids, err := f.srv.PlaceCalls(t.Context(), f.contoso.ID, 3)
	require.NoError(t, err)
	var many []string
	for i := range 140 {
		many = append(many, fmt.Sprintf("user%05d@contoso.onmicrosoft.com", i))
	}
	start := time.Now().Add(-time.Hour)
	big, err := f.srv.StoreCallRecord(f.contoso.ID, m365test.CallRecord{Type: "groupCall", Start: start, End: start.Add(time.Minute),
		Organizer: many[0], Participants: many})
	require.NoError(t, err)
	rec := func(id, expand string) graphResp {
		path := "/communications/callRecords/" + id
		if expand != "" {
			path += "?$expand=" + url.QueryEscape(expand)
		}
		gr := graphDo(t, f, "GET", path, tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		return gr
	}

	t.Run("graph/api/callrecords-callrecord-get/example 1", func(t *testing.T) {
		gr := rec(ids[0], "")
		assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#communications/callRecords/$entity", gr.body["@odata.context"])
		org := gr.body["organizer_v2"].(map[string]any)
		user := org["identity"].(map[string]any)["user"].(map[string]any)
		assert.Equal(t, org["id"], user["id"])
		assert.NotEmpty(t, user["displayName"])
		assert.Equal(t, f.contoso.ID, user["tenantId"])
		assert.Contains(t, gr.body["organizer_v2@odata.context"], "/organizer_v2/$entity")
		assert.Contains(t, gr.body["participants_v2@odata.context"], "/participants_v2/$entity")
		assert.NotContains(t, gr.body, "participants_v2")
		assert.NotContains(t, gr.body, "sessions")
	})
	t.Run("graph/api/callrecords-callrecord-get/example 2", func(t *testing.T) {
		gr := rec(ids[0], "sessions($expand=segments)")
		assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#communications/callRecords(sessions(segments()))/$entity", gr.body["@odata.context"])
		ss := gr.body["sessions"].([]any)[0].(map[string]any)
		for _, side := range []string{"caller", "callee"} {
			ep := ss[side].(map[string]any)
			assert.Equal(t, "#microsoft.graph.callRecords.participantEndpoint", ep["@odata.type"])
			ai := ep["associatedIdentity"].(map[string]any)
			assert.NotEmpty(t, ai["id"])
			assert.NotEmpty(t, ai["displayName"])
			assert.Equal(t, f.contoso.ID, ai["tenantId"])
			assert.Contains(t, ai["userPrincipalName"], "@contoso.onmicrosoft.com")
		}
	})
	t.Run("graph/api/callrecords-callrecord-get/example 3", func(t *testing.T) {
		gr := rec(big, "participants_v2")
		assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#communications/callRecords(participants_v2())/$entity", gr.body["@odata.context"])
		parts := gr.body["participants_v2"].([]any)
		require.Len(t, parts, m365test.ParticipantPageSize)
		p0 := parts[0].(map[string]any)
		assert.Equal(t, f.contoso.UserID(many[0]), p0["id"])
		assert.Equal(t, many[0], p0["identity"].(map[string]any)["user"].(map[string]any)["userPrincipalName"])
		next := graphDo(t, f, "GET", gr.body["participants_v2@odata.nextLink"].(string), tok, nil)
		require.Equal(t, http.StatusOK, next.status)
		assert.Len(t, values(t, next), 140-m365test.ParticipantPageSize)
		assert.NotContains(t, next.body, "@odata.nextLink")
		both := rec(big, "sessions($expand=segments),participants_v2")
		assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#communications/callRecords(sessions(segments()),participants_v2())/$entity", both.body["@odata.context"])
	})
	t.Run("graph/api/callrecords-callrecord-list/filter by participant", func(t *testing.T) {
		who := f.contoso.UserID(many[139])
		gr := graphDo(t, f, "GET", "/communications/callRecords?$filter="+url.QueryEscape("participants_v2/any(p:p/id eq '"+who+"')"), tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		vs := values(t, gr)
		require.Len(t, vs, 1)
		assert.Equal(t, big, vs[0]["id"])
		since := start.Add(-time.Minute).UTC().Format(time.RFC3339)
		gr = graphDo(t, f, "GET", "/communications/callRecords?$filter="+url.QueryEscape("startDateTime ge "+since+" and participants_v2/any(p:p/id eq '"+who+"')"), tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		assert.Len(t, values(t, gr), 1)
	})
}
