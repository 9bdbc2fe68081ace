package m365test_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// teamsToken returns an app-only token of an app granted
// TeamsUserConfiguration.Read.All (and User.Read.All) in contoso.
func teamsToken(t *testing.T, f *fixture, roles ...string) string {
	t.Helper()
	if roles == nil {
		roles = []string{"TeamsUserConfiguration.Read.All", "User.Read.All"}
	}
	app, err := f.srv.AddApp(m365test.AppOptions{ClientID: "aaaaaaaa-0000-0000-0000-00000000000" + itoa(len(roles)), DisplayName: "Teams Reader",
		Secrets:                []m365test.Secret{{Value: providerSecret, Expires: time.Now().Add(time.Hour)}},
		ApplicationPermissions: roles})
	require.NoError(t, err)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, app.ClientID))
	return tokenFor(t, f, f.contoso.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}})
}

// listTeams pages through q and returns the configurations by UPN.
func listTeams(t *testing.T, f *fixture, tok, q string) (map[string]map[string]any, int) {
	t.Helper()
	out := map[string]map[string]any{}
	next, pages := "/admin/teams/userConfigurations?"+q, 0
	for next != "" {
		gr := graphDo(t, f, "GET", next, tok, nil)
		require.Equal(t, 200, gr.status, "%s: %v", next, gr.body)
		for _, v := range gr.body["value"].([]any) {
			m := v.(map[string]any)
			upn, _ := m["userPrincipalName"].(string)
			if upn == "" {
				upn = m["id"].(string)
			}
			out[upn] = m
		}
		next, _ = gr.body["@odata.nextLink"].(string)
		pages++
	}
	return out, pages
}

func TestTeamsUserConfigurations(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50_000)
	tok := teamsToken(t, f)

	all, pages := listTeams(t, f, tok, "$top=999")
	// Equal on the count, not Len: a failure would print 50,000 configurations.
	require.Equal(t, 50_001, len(all), "configurations")
	require.Equal(t, 51, pages, "pages")
	u24 := all["user00024@contoso.onmicrosoft.com"]
	nums := u24["telephoneNumbers"].([]any)
	assert.Equal(t, true, u24["isEnterpriseVoiceEnabled"], "user 24 = %v", u24)
	if assert.Len(t, nums, 1, "user 24 telephoneNumbers") {
		assert.Equal(t, "+39020000024", nums[0].(map[string]any)["telephoneNumber"], "user 24 = %v", u24)
		assert.Equal(t, "primary", nums[0].(map[string]any)["assignmentCategory"], "user 24 = %v", u24)
	}
	policies := map[string]string{}
	for _, p := range u24["effectivePolicyAssignments"].([]any) {
		pm := p.(map[string]any)
		pa := pm["policyAssignment"].(map[string]any)
		assert.Equal(t, "direct", pa["assignmentType"], "user 24 policy %v", pm)
		policies[pm["policyType"].(string)] = pa["displayName"].(string)
	}
	assert.Equal(t, map[string]string{"OnlineVoiceRoutingPolicy": "VRP-IT", "TenantDialPlan": "DP-IT", "TeamsCallingPolicy": "AllowCalling"}, policies, "user 24 policies")
	assert.Equal(t, f.contoso.UserID("user00024@contoso.onmicrosoft.com"), u24["id"], "user 24 id")
	assert.Equal(t, "user", u24["accountType"], "user 24 accountType")
	assert.Equal(t, f.contoso.ID, u24["tenantId"], "user 24 tenantId")
	// Odd voice users have a Calling Plan and no routing policy.
	u3 := all["user00003@contoso.onmicrosoft.com"]
	if ft := u3["featureTypes"].([]any); assert.Len(t, ft, 4, "user 3 featureTypes") {
		assert.Equal(t, "CallingPlan", ft[3], "user 3 featureTypes")
	}
	assert.Len(t, u3["effectivePolicyAssignments"].([]any), 2, "user 3 effectivePolicyAssignments")
	a := all["admin@contoso.onmicrosoft.com"]
	assert.Equal(t, false, a["isEnterpriseVoiceEnabled"], "admin = %v", a)
	assert.Len(t, a["featureTypes"].([]any), 2, "admin featureTypes")
	assert.Empty(t, a["telephoneNumbers"].([]any), "admin telephoneNumbers")
	voice, italianNumbers := 0, 0
	for _, c := range all {
		if c["isEnterpriseVoiceEnabled"] == true {
			voice++
		}
		for _, n := range c["telephoneNumbers"].([]any) {
			if strings.HasPrefix(n.(map[string]any)["telephoneNumber"].(string), "+39") {
				italianNumbers++
			}
		}
	}
	assert.Equal(t, 16_667, voice, "voice users")
	assert.Equal(t, 1_666, italianNumbers, "+39 numbers")

	// The $filter subset.
	for _, tt := range []struct {
		filter string
		want   int
	}{
		{"isEnterpriseVoiceEnabled eq true", 16_667},
		{"isEnterpriseVoiceEnabled eq false and accountType eq 'user'", 33_334},
		{"featureTypes/any(x:x eq 'CallingPlan')", 8_333},
		{"featureTypes/any(f: f eq 'PhoneSystem') and isEnterpriseVoiceEnabled eq true", 16_667},
	} {
		got, _ := listTeams(t, f, tok, url.Values{"$filter": {tt.filter}, "$top": {"999"}, "$select": {"id,isEnterpriseVoiceEnabled"}}.Encode())
		assert.Equal(t, tt.want, len(got), "$filter=%s: configurations", tt.filter)
	}
	for _, bad := range []string{
		"telephoneNumbers/any(t:startsWith(t/telephoneNumber,'+39'))",
		"isEnterpriseVoiceEnabled eq true or accountType eq 'user'",
		"isEnterpriseVoiceEnabled ne true", "accountType eq", "isEnterpriseVoiceEnabled eq 'x'",
	} {
		gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations?"+url.Values{"$filter": {bad}}.Encode(), tok, nil)
		assertGraphError(t, gr, 400, "BadRequest", "$filter="+bad)
	}
	for _, q := range []string{"$top=0", "$top=1000", "$select=nosuch", "$orderby=displayName", "$skiptoken=forged"} {
		gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations?"+q, tok, nil)
		assert.Equal(t, 400, gr.status, q)
	}
	// $select returns only what is named; default page size 100.
	gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations?$select=id,lineUri", tok, nil)
	assert.Equal(t, 400, gr.status, "$select of a property the type lacks")
	gr = graphDo(t, f, "GET", "/admin/teams/userConfigurations?$select=id,telephoneNumbers", tok, nil)
	if v := gr.body["value"].([]any); assert.Len(t, v, m365test.TeamsDefaultTop, "default page") {
		assert.Len(t, v[0].(map[string]any), 2, "default page: first item")
	}

	// Get by ID (object ID or UPN); permissions.
	id := f.contoso.UserID("user00024@contoso.onmicrosoft.com")
	gr = graphDo(t, f, "GET", "/admin/teams/userConfigurations/"+id, tok, nil)
	if assert.Equal(t, 200, gr.status, "get by ID: %v", gr.body) {
		assert.Equal(t, id, gr.body["id"], "get by ID")
		assert.Equal(t, true, gr.body["isEnterpriseVoiceEnabled"], "get by ID")
	}
	gr = graphDo(t, f, "GET", "/admin/teams/userConfigurations/00000000-0000-0000-0000-000000000000", tok, nil)
	assert.Equal(t, 404, gr.status, "unknown user")
	noTeams := teamsToken(t, f, "User.Read.All")
	gr = graphDo(t, f, "GET", "/admin/teams/userConfigurations", noTeams, nil)
	assertGraphError(t, gr, 403, "Authorization_RequestDenied", "without TeamsUserConfiguration.Read.All")
}

func TestSetTeamsUserConfiguration(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	tok := teamsToken(t, f)
	upn := "user00025@contoso.onmicrosoft.com"
	c, err := f.srv.TeamsUserConfiguration(f.contoso.ID, upn)
	require.NoError(t, err, "user 25")
	require.False(t, c.IsEnterpriseVoiceEnabled, "user 25 = %+v", c)
	c.IsEnterpriseVoiceEnabled = true
	c.TelephoneNumbers = []m365test.TeamsTelephoneNumber{{TelephoneNumber: "+34910000025", AssignmentCategory: "primary"}}
	require.NoError(t, f.srv.SetTeamsUserConfiguration("contoso.onmicrosoft.com", upn, &c))
	got, _ := listTeams(t, f, tok, url.Values{"$filter": {"isEnterpriseVoiceEnabled eq true"}}.Encode())
	assert.NotNil(t, got[upn], "after the change: user 25")
	assert.Len(t, got, 11, "after the change: voice users")
	require.NoError(t, f.srv.SetTeamsUserConfiguration(f.contoso.ID, upn, nil))
	all, _ := listTeams(t, f, tok, "")
	assert.Len(t, all, 30, "after removal: configurations")
	assert.Nil(t, all[upn], "after removal: user 25")
	gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations/"+upn, tok, nil)
	assert.Equal(t, 404, gr.status, "removed configuration by UPN")
	assert.Error(t, f.srv.SetTeamsUserConfiguration(f.contoso.ID, "nobody@contoso.onmicrosoft.com", &c), "unknown user accepted")
}

func TestBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	tok := teamsToken(t, f)
	id24 := f.contoso.UserID("user00024@contoso.onmicrosoft.com")
	reqs := []map[string]any{
		{"id": "1", "method": "GET", "url": "/admin/teams/userConfigurations/" + id24},
		{"id": "2", "method": "GET", "url": "admin/teams/userConfigurations/00000000-0000-0000-0000-000000000000"},
		{"id": "3", "method": "GET", "url": "/users?$filter=usageLocation%20eq%20'IT'&$select=id&$top=5"},
		{"id": "4", "method": "GET", "url": "/organization"},
	}
	gr := graphDo(t, f, "POST", "/$batch", tok, map[string]any{"requests": reqs})
	require.Equal(t, 200, gr.status, "batch: %v", gr.body)
	rs := gr.body["responses"].([]any)
	status := map[string]float64{}
	for _, r := range rs {
		m := r.(map[string]any)
		status[m["id"].(string)] = m["status"].(float64)
		if m["id"] == "1" {
			assert.Equal(t, id24, m["body"].(map[string]any)["id"], "response 1 body = %v", m["body"])
		}
		if m["id"] == "3" {
			assert.Len(t, m["body"].(map[string]any)["value"].([]any), 5, "response 3 body = %v", m["body"])
		}
	}
	// The app lacks Organization.Read.All: that request alone is refused.
	assert.Len(t, rs, 4, "responses")
	assert.Equal(t, map[string]float64{"1": 200, "2": 404, "3": 200, "4": 403}, status, "statuses")
	assert.Equal(t, 2, f.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsUserConfigurations}), "logged userConfigurations requests")

	many := make([]map[string]any, 21)
	for i := range many {
		many[i] = map[string]any{"id": itoa(i), "method": "GET", "url": "/organization"}
	}
	for name, body := range map[string]any{
		"21 requests":   map[string]any{"requests": many},
		"duplicate ids": map[string]any{"requests": []any{reqs[0], reqs[0]}},
		"absolute url":  map[string]any{"requests": []any{map[string]any{"id": "1", "method": "GET", "url": f.srv.GraphURL() + "/users"}}},
		"no requests":   map[string]any{"requests": []any{}},
	} {
		assertGraphError(t, graphDo(t, f, "POST", "/$batch", tok, body), 400, "BadRequest", name)
	}
	gr = graphDo(t, f, "POST", "/$batch", "", map[string]any{"requests": reqs})
	assert.Equal(t, 401, gr.status, "no token")
}

// TestBatchStrict: what JSON batching does beyond serving requests: a
// failed dependency gives 424, a dependsOn naming no earlier request
// refuses the batch, a nested $batch is refused, an inner 429 carries its
// Retry-After inside a 200 batch, each request's own headers apply
// (ConsistencyLevel for an advanced query), and the responses do not come
// in request order.
func TestBatchStrict(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	tok := teamsToken(t, f)
	remove := f.srv.InjectFault(m365test.Fault{Tenant: f.contoso.ID, Endpoint: m365test.EndpointTeamsUserConfigurations,
		Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second, Times: 1})
	defer remove()
	reqs := []map[string]any{
		{"id": "a", "method": "GET", "url": "/admin/teams/userConfigurations?$top=5"},
		{"id": "b", "method": "GET", "url": "/users?$top=5", "dependsOn": []string{"a"}},
		{"id": "c", "method": "GET", "url": "/users?$filter=endsWith(mail,'.onmicrosoft.com')&$count=true&$top=5",
			"headers": map[string]string{"ConsistencyLevel": "eventual"}},
		{"id": "d", "method": "GET", "url": "/users?$filter=endsWith(mail,'.onmicrosoft.com')&$count=true&$top=5"},
		{"id": "e", "method": "POST", "url": "/$batch", "body": map[string]any{"requests": []any{}}},
	}
	gr := graphDo(t, f, "POST", "/$batch", tok, map[string]any{"requests": reqs})
	require.Equal(t, 200, gr.status, "batch: %v", gr.body)
	var order []string
	status := map[string]float64{}
	for _, r := range gr.body["responses"].([]any) {
		m := r.(map[string]any)
		id := m["id"].(string)
		order = append(order, id)
		status[id] = m["status"].(float64)
		if id == "a" {
			h, _ := m["headers"].(map[string]any)
			assert.Equal(t, "7", h["Retry-After"], "throttled response headers = %v", m["headers"])
		}
		if id == "c" {
			assert.NotNil(t, m["body"].(map[string]any)["@odata.count"], "advanced query in a batch: no @odata.count in %v", m["body"])
		}
	}
	want := map[string]float64{"a": 429, "b": 424, "c": 200, "d": 400, "e": 400}
	require.Len(t, status, len(want), "statuses = %v", status)
	for id, st := range want {
		assert.Equal(t, st, status[id], "request %s: status", id)
	}
	assert.NotEqual(t, "a", order[0], "responses in request order %v: Graph does not promise it, so the fake does not keep it", order)
	gr = graphDo(t, f, "POST", "/$batch", tok, map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}},
		map[string]any{"id": "2", "method": "GET", "url": "/users"},
	}})
	assertGraphError(t, gr, 400, "BadRequest", "dependsOn a later request")
}
