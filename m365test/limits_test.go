package m365test_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestGraphQueryLimits: GET /users refuses what Graph's query-size limits
// refuse, with Graph's error body, and accepts what stays within them.
func TestGraphQueryLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	upns := func(first, n int) string {
		var q []string
		for i := range n {
			q = append(q, fmt.Sprintf("'user%05d@contoso.onmicrosoft.com'", first+i))
		}
		return strings.Join(q, ",")
	}
	long := strings.Repeat("x", 121)
	advanced := []string{"ConsistencyLevel", "eventual"}
	cases := []struct {
		name     string
		filter   string
		advanced bool
		wantOK   bool
	}{
		{"15 in values", "userPrincipalName in (" + upns(0, 15) + ")", false, true},
		{"16 values in two in lists", "userPrincipalName in (" + upns(0, 15) + ") or userPrincipalName in (" + upns(15, 1) + ")", false, false},
		{"16 eq under or", strings.Repeat("city eq 'Milan' or ", 15) + "city eq 'Paris'", false, false},
		{"16 values in two in lists, advanced", "userPrincipalName in (" + upns(0, 15) + ") or userPrincipalName in (" + upns(15, 1) + ")", true, true},
		{"eq of 120 characters", "displayName eq '" + long[:120] + "'", false, true},
		{"eq of 121 characters", "displayName eq '" + long + "'", false, false},
		{"eq of 121 characters, advanced", "displayName eq '" + long + "'", true, true},
		{"advanced URL of 60 values", "userPrincipalName in (" + upns(0, 15) + ") or userPrincipalName in (" + upns(15, 15) +
			") or userPrincipalName in (" + upns(30, 15) + ") or userPrincipalName in (" + upns(45, 15) + ")", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := "/users?$select=id&$filter=" + url.QueryEscape(tc.filter)
			var hdr []string
			if tc.advanced {
				path += "&$count=true"
				hdr = advanced
			}
			gr := graphDo(t, f, "GET", path, tok, nil, hdr...)
			if tc.wantOK {
				require.Equal(t, 200, gr.status, "body %v", gr.body)
				return
			}
			requireGraphError(t, gr, 400, "Request_UnsupportedQuery", path)
		})
	}
}

// TestUsersPagingRealism: @odata.count comes on the first page only, and a
// skip token stops working an hour (DefaultSkipTokenLifetime) after its
// page was served.
func TestUsersPagingRealism(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	gr := graphDo(t, f, "GET", "/users?$select=id&$top=100&$count=true", tok, nil, "ConsistencyLevel", "eventual")
	require.Equal(t, 200, gr.status, "first page: %v", gr.body)
	require.NotNil(t, gr.body["@odata.count"], "first page: @odata.count")
	next, _ := gr.body["@odata.nextLink"].(string)
	gr = graphDo(t, f, "GET", next, tok, nil, "ConsistencyLevel", "eventual")
	require.Equal(t, 200, gr.status, "second page: %v", gr.body)
	assert.NotContains(t, gr.body, "@odata.count", "second page carries @odata.count; Graph sends it on the first page only")
	next, _ = gr.body["@odata.nextLink"].(string)
	f.srv.Advance(m365test.DefaultSkipTokenLifetime + time.Minute)
	tok = appToken(t, f, f.contoso.ID) // the old access token expired too
	gr = graphDo(t, f, "GET", next, tok, nil, "ConsistencyLevel", "eventual")
	assertGraphError(t, gr, 400, "Directory_ExpiredPageToken", "page after its skip token expired")
}

// TestUnknownPermissions: a misspelt Graph permission fails as it does
// against Entra ID: an app registration cannot require it, and a token
// request naming it gets AADSTS650053.
func TestUnknownPermissions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	_, err := f.srv.AddApp(m365test.AppOptions{DisplayName: "typo", ApplicationPermissions: []string{"User.Raed.All"}})
	assert.ErrorContains(t, err, "User.Raed.All", "AddApp with a misspelt permission")
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.native.ClientID))
	form := url.Values{"grant_type": {"password"}, "client_id": {f.native.ClientID},
		"scope": {"https://graph.microsoft.com/User.Raed openid"}, "username": {"user00002@contoso.onmicrosoft.com"}, "password": {m365test.DefaultPassword}}
	resp, err := f.srv.Client().PostForm(f.srv.AuthorityURL(f.contoso.ID)+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
		Codes []int  `json:"error_codes"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, 400, resp.StatusCode, "token with a misspelt scope: %+v", body)
	assert.Equal(t, "invalid_scope", body.Error, "token with a misspelt scope")
	assert.Equal(t, []int{m365test.CodeScopeUnknown}, body.Codes, "token with a misspelt scope: error_codes")
}
