package m365test_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.GrantAdminConsent(f.contoso.ID, app.ClientID); err != nil {
		t.Fatal(err)
	}
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
		if gr.status != 200 {
			t.Fatalf("%s: %d %v", next, gr.status, gr.body)
		}
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
	if len(all) != 50_001 || pages != 51 {
		t.Fatalf("configurations = %d in %d pages, want 50001 in 51", len(all), pages)
	}
	u24 := all["user00024@contoso.onmicrosoft.com"]
	nums := u24["telephoneNumbers"].([]any)
	if u24["isEnterpriseVoiceEnabled"] != true || len(nums) != 1 ||
		nums[0].(map[string]any)["telephoneNumber"] != "+39020000024" || nums[0].(map[string]any)["assignmentCategory"] != "primary" {
		t.Errorf("user 24 = %v", u24)
	}
	policies := map[string]string{}
	for _, p := range u24["effectivePolicyAssignments"].([]any) {
		pm := p.(map[string]any)
		pa := pm["policyAssignment"].(map[string]any)
		if pa["assignmentType"] != "direct" {
			t.Errorf("user 24 policy %v not direct", pm)
		}
		policies[pm["policyType"].(string)] = pa["displayName"].(string)
	}
	if policies["OnlineVoiceRoutingPolicy"] != "VRP-IT" || policies["TenantDialPlan"] != "DP-IT" || policies["TeamsCallingPolicy"] != "AllowCalling" || len(policies) != 3 {
		t.Errorf("user 24 policies = %v", policies)
	}
	if u24["id"] != f.contoso.UserID("user00024@contoso.onmicrosoft.com") || u24["accountType"] != "user" || u24["tenantId"] != f.contoso.ID {
		t.Errorf("user 24 identity = %v %v %v", u24["id"], u24["accountType"], u24["tenantId"])
	}
	// Odd voice users have a Calling Plan and no routing policy.
	u3 := all["user00003@contoso.onmicrosoft.com"]
	if ft := u3["featureTypes"].([]any); len(ft) != 4 || ft[3] != "CallingPlan" || len(u3["effectivePolicyAssignments"].([]any)) != 2 {
		t.Errorf("user 3 = %v", u3)
	}
	if a := all["admin@contoso.onmicrosoft.com"]; a["isEnterpriseVoiceEnabled"] != false || len(a["featureTypes"].([]any)) != 2 || len(a["telephoneNumbers"].([]any)) != 0 {
		t.Errorf("admin = %v", a)
	}
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
	if voice != 16_667 || italianNumbers != 1_666 {
		t.Errorf("voice users = %d, +39 numbers = %d; want 16667, 1666", voice, italianNumbers)
	}

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
		if len(got) != tt.want {
			t.Errorf("$filter=%s: %d configurations, want %d", tt.filter, len(got), tt.want)
		}
	}
	for _, bad := range []string{
		"telephoneNumbers/any(t:startsWith(t/telephoneNumber,'+39'))",
		"isEnterpriseVoiceEnabled eq true or accountType eq 'user'",
		"isEnterpriseVoiceEnabled ne true", "accountType eq", "isEnterpriseVoiceEnabled eq 'x'",
	} {
		gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations?"+url.Values{"$filter": {bad}}.Encode(), tok, nil)
		if gr.status != 400 || graphErr(t, gr) != "BadRequest" {
			t.Errorf("$filter=%s: %d %v, want 400 BadRequest", bad, gr.status, gr.body)
		}
	}
	for _, q := range []string{"$top=0", "$top=1000", "$select=nosuch", "$orderby=displayName", "$skiptoken=forged"} {
		if gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations?"+q, tok, nil); gr.status != 400 {
			t.Errorf("%s: %d, want 400", q, gr.status)
		}
	}
	// $select returns only what is named; default page size 100.
	gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations?$select=id,lineUri", tok, nil)
	if gr.status != 400 {
		t.Errorf("$select of a property the type lacks: %d", gr.status)
	}
	gr = graphDo(t, f, "GET", "/admin/teams/userConfigurations?$select=id,telephoneNumbers", tok, nil)
	if v := gr.body["value"].([]any); len(v) != m365test.TeamsDefaultTop || len(v[0].(map[string]any)) != 2 {
		t.Errorf("default page: %d items, first %v", len(v), v[0])
	}

	// Get by ID (object ID or UPN); permissions.
	id := f.contoso.UserID("user00024@contoso.onmicrosoft.com")
	gr = graphDo(t, f, "GET", "/admin/teams/userConfigurations/"+id, tok, nil)
	if gr.status != 200 || gr.body["id"] != id || gr.body["isEnterpriseVoiceEnabled"] != true {
		t.Errorf("get by ID: %d %v", gr.status, gr.body)
	}
	if gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations/00000000-0000-0000-0000-000000000000", tok, nil); gr.status != 404 {
		t.Errorf("unknown user: %d", gr.status)
	}
	noTeams := teamsToken(t, f, "User.Read.All")
	if gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations", noTeams, nil); gr.status != 403 || graphErr(t, gr) != "Authorization_RequestDenied" {
		t.Errorf("without TeamsUserConfiguration.Read.All: %d %v", gr.status, gr.body)
	}
}

func TestSetTeamsUserConfiguration(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	tok := teamsToken(t, f)
	upn := "user00025@contoso.onmicrosoft.com"
	c, err := f.srv.TeamsUserConfiguration(f.contoso.ID, upn)
	if err != nil || c.IsEnterpriseVoiceEnabled {
		t.Fatalf("user 25 = %+v, %v", c, err)
	}
	c.IsEnterpriseVoiceEnabled = true
	c.TelephoneNumbers = []m365test.TeamsTelephoneNumber{{TelephoneNumber: "+34910000025", AssignmentCategory: "primary"}}
	if err := f.srv.SetTeamsUserConfiguration("contoso.onmicrosoft.com", upn, &c); err != nil {
		t.Fatal(err)
	}
	got, _ := listTeams(t, f, tok, url.Values{"$filter": {"isEnterpriseVoiceEnabled eq true"}}.Encode())
	if got[upn] == nil || len(got) != 11 {
		t.Errorf("after the change: %d voice users, user 25 %v", len(got), got[upn])
	}
	if err := f.srv.SetTeamsUserConfiguration(f.contoso.ID, upn, nil); err != nil {
		t.Fatal(err)
	}
	all, _ := listTeams(t, f, tok, "")
	if len(all) != 30 || all[upn] != nil {
		t.Errorf("after removal: %d configurations", len(all))
	}
	if gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations/"+upn, tok, nil); gr.status != 404 {
		t.Errorf("removed configuration by UPN: %d", gr.status)
	}
	if err := f.srv.SetTeamsUserConfiguration(f.contoso.ID, "nobody@contoso.onmicrosoft.com", &c); err == nil {
		t.Error("unknown user accepted")
	}
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
	if gr.status != 200 {
		t.Fatalf("batch: %d %v", gr.status, gr.body)
	}
	rs := gr.body["responses"].([]any)
	status := map[string]float64{}
	for _, r := range rs {
		m := r.(map[string]any)
		status[m["id"].(string)] = m["status"].(float64)
		if m["id"] == "1" && m["body"].(map[string]any)["id"] != id24 {
			t.Errorf("response 1 body = %v", m["body"])
		}
		if m["id"] == "3" && len(m["body"].(map[string]any)["value"].([]any)) != 5 {
			t.Errorf("response 3 body = %v", m["body"])
		}
	}
	// The app lacks Organization.Read.All: that request alone is refused.
	if len(rs) != 4 || status["1"] != 200 || status["2"] != 404 || status["3"] != 200 || status["4"] != 403 {
		t.Errorf("statuses = %v", status)
	}
	if n := f.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsUserConfigurations}); n != 2 {
		t.Errorf("logged %d userConfigurations requests, want 2", n)
	}

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
		if gr := graphDo(t, f, "POST", "/$batch", tok, body); gr.status != 400 || graphErr(t, gr) != "BadRequest" {
			t.Errorf("%s: %d %v", name, gr.status, gr.body)
		}
	}
	if gr := graphDo(t, f, "POST", "/$batch", "", map[string]any{"requests": reqs}); gr.status != 401 {
		t.Errorf("no token: %d", gr.status)
	}
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
	if gr.status != 200 {
		t.Fatalf("batch: %d %v", gr.status, gr.body)
	}
	var order []string
	status := map[string]float64{}
	for _, r := range gr.body["responses"].([]any) {
		m := r.(map[string]any)
		id := m["id"].(string)
		order = append(order, id)
		status[id] = m["status"].(float64)
		if id == "a" {
			if h, _ := m["headers"].(map[string]any); h["Retry-After"] != "7" {
				t.Errorf("throttled response headers = %v, want Retry-After 7", m["headers"])
			}
		}
		if id == "c" && m["body"].(map[string]any)["@odata.count"] == nil {
			t.Errorf("advanced query in a batch: no @odata.count in %v", m["body"])
		}
	}
	want := map[string]float64{"a": 429, "b": 424, "c": 200, "d": 400, "e": 400}
	if len(status) != len(want) {
		t.Fatalf("statuses = %v", status)
	}
	for id, st := range want {
		if status[id] != st {
			t.Errorf("request %s: status %v, want %v", id, status[id], st)
		}
	}
	if order[0] == "a" {
		t.Errorf("responses in request order %v: Graph does not promise it, so the fake does not keep it", order)
	}
	if gr := graphDo(t, f, "POST", "/$batch", tok, map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}},
		map[string]any{"id": "2", "method": "GET", "url": "/users"},
	}}); gr.status != 400 || graphErr(t, gr) != "BadRequest" {
		t.Errorf("dependsOn a later request: %d %v", gr.status, gr.body)
	}
}
