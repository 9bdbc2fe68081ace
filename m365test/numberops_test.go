package m365test_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// numberAction posts assignNumber or unassignNumber and returns the
// operation's Location.
func numberAction(t *testing.T, f *fixture, tok, action string, body map[string]any) string {
	t.Helper()
	gr := graphDo(t, f, "POST", numbersPath+"/"+action, tok, body)
	require.Equal(t, 202, gr.status, "%s: %v", action, gr.body)
	loc := gr.header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "https://"), loc)
	require.Contains(t, loc, "/v1.0/admin/teams/telephoneNumberManagement/operations('")
	return loc
}

// operation reads an operation by its Location and returns its status and
// its number's status detail.
func operation(t *testing.T, f *fixture, tok, loc string) (status, detail string) {
	t.Helper()
	gr := graphDo(t, f, "GET", loc, tok, nil)
	require.Equal(t, 200, gr.status, "%v", gr.body)
	nums := gr.body["numbers"].([]any)
	require.Len(t, nums, 1)
	n := nums[0].(map[string]any)
	require.Equal(t, gr.body["status"], n["status"])
	detail, _ = n["statusDetail"].(string)
	return gr.body["status"].(string), detail
}

func userNumber(t *testing.T, f *fixture, tok, tel string) map[string]any {
	t.Helper()
	ns := listNumbers(t, f, tok, "telephoneNumber eq '"+tel+"'")
	require.Len(t, ns, 1)
	return ns[0]
}

// TestAssignNumberDemo is the done-when: +39020000004 to user 4
// after MCOEV succeeds on the fake's clock; +39020000024 to user 7 fails
// "already assigned" and changes nothing.
func TestAssignNumberDemo(t *testing.T) {
	t.Parallel()
	f := newVoiceFixture(t, 50_000, nil)
	tok := voiceToken(t, f, "cccccccc-0000-0000-0000-000000000001")
	u4, u7 := f.contoso.UserID("user00004@contoso.onmicrosoft.com"), f.contoso.UserID("user00007@contoso.onmicrosoft.com")
	require.Equal(t, 200, assignLicense(t, f, tok, u4, []string{m365test.SkuTeamsPhone}, nil).status)

	loc := numberAction(t, f, tok, "assignNumber", map[string]any{"telephoneNumber": "+39020000004", "assignmentTargetId": u4, "numberType": "directRouting"})
	st, _ := operation(t, f, tok, loc)
	assert.Equal(t, "notStarted", st)
	f.srv.Advance(time.Second + time.Millisecond)
	st, _ = operation(t, f, tok, loc)
	assert.Equal(t, "running", st)
	c, err := f.srv.TeamsUserConfiguration(f.contoso.ID, u4)
	require.NoError(t, err)
	assert.Empty(t, c.TelephoneNumbers, "nothing changes before the operation settles")
	f.srv.Advance(2 * time.Second)
	st, detail := operation(t, f, tok, loc)
	require.Equal(t, "succeeded", st, detail)

	c, err = f.srv.TeamsUserConfiguration(f.contoso.ID, u4)
	require.NoError(t, err)
	assert.True(t, c.IsEnterpriseVoiceEnabled)
	assert.Equal(t, []m365test.TeamsTelephoneNumber{{TelephoneNumber: "+39020000004", AssignmentCategory: "primary"}}, c.TelephoneNumbers)
	assert.Equal(t, []string{"Teams", "AudioConferencing", "PhoneSystem"}, c.FeatureTypes)
	gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations/"+u4, tok, nil)
	require.Equal(t, 200, gr.status)
	assert.Equal(t, true, gr.body["isEnterpriseVoiceEnabled"])
	n4 := userNumber(t, f, tok, "+39020000004")
	assert.Equal(t, u4, n4["assignmentTargetId"])
	assert.Equal(t, "userAssigned", n4["assignmentStatus"])

	// Already assigned to user 24: failed, nothing changed.
	before7, _ := f.srv.TeamsUserConfiguration(f.contoso.ID, u7)
	require.Equal(t, 200, assignLicense(t, f, tok, u7, []string{m365test.SkuTeamsPhone}, nil).status)
	loc = numberAction(t, f, tok, "assignNumber", map[string]any{"telephoneNumber": "+39020000024", "assignmentTargetId": u7, "numberType": "directRouting"})
	f.srv.Advance(3 * time.Second)
	st, detail = operation(t, f, tok, loc)
	assert.Equal(t, "failed", st)
	assert.Contains(t, detail, "already assigned")
	n24 := userNumber(t, f, tok, "+39020000024")
	assert.Equal(t, f.contoso.UserID("user00024@contoso.onmicrosoft.com"), n24["assignmentTargetId"])
	after7, _ := f.srv.TeamsUserConfiguration(f.contoso.ID, u7)
	assert.Equal(t, before7.TelephoneNumbers, after7.TelephoneNumbers)
	assert.False(t, after7.IsEnterpriseVoiceEnabled)
	assert.Len(t, listNumbers(t, f, tok, "assignmentStatus eq 'userAssigned'", "id"), 16_668)

	// The voice log proves one assignment each.
	var got []string
	for _, e := range f.contoso.VoiceLog() {
		if e.Kind == "assignNumber" {
			got = append(got, e.TelephoneNumber+" "+e.Status)
		}
	}
	assert.Equal(t, []string{"+39020000004 succeeded", "+39020000024 failed"}, got)
}

func TestNumberOperationFailures(t *testing.T) {
	t.Parallel()
	f := newVoiceFixture(t, 100, nil)
	tok := voiceToken(t, f, "cccccccc-0000-0000-0000-000000000002")
	id := func(i int) string { return f.contoso.UserID("user000" + twoDigits(i) + "@contoso.onmicrosoft.com") }
	for _, i := range []int{4, 19} {
		require.Equal(t, 200, assignLicense(t, f, tok, id(i), []string{m365test.SkuTeamsPhone}, nil).status)
	}
	cases := []struct {
		name   string
		body   map[string]any
		detail string
	}{
		{"not in tenant", map[string]any{"telephoneNumber": "+39029999994", "assignmentTargetId": id(4), "numberType": "directRouting"}, "was not found in the tenant"},
		{"lacks license", map[string]any{"telephoneNumber": "+39020000014", "assignmentTargetId": id(8), "numberType": "directRouting"}, "lacks appropriate licenses to assign a 'DirectRouting' number"},
		{"lacks calling plan", map[string]any{"telephoneNumber": "+44200000011", "assignmentTargetId": id(4), "numberType": "callingPlan"}, "lacks appropriate licenses to assign a 'CallingPlan' number"},
		{"account disabled", map[string]any{"telephoneNumber": "+39020000034", "assignmentTargetId": id(19), "numberType": "directRouting"}, "disabled"},
		{"wrong number type", map[string]any{"telephoneNumber": "+39020000034", "assignmentTargetId": id(4), "numberType": "callingPlan"}, "is a 'directRouting' number"},
		{"unknown user", map[string]any{"telephoneNumber": "+39020000034", "assignmentTargetId": "00000000-0000-4000-8000-000000000000", "numberType": "directRouting"}, "was not found"},
		{"unknown location", map[string]any{"telephoneNumber": "+39020000034", "assignmentTargetId": id(4), "numberType": "directRouting", "locationId": "00000000-0000-4000-8000-000000000000"}, "emergency location"},
	}
	for _, c := range cases {
		loc := numberAction(t, f, tok, "assignNumber", c.body)
		f.srv.Advance(3 * time.Second)
		st, detail := operation(t, f, tok, loc)
		assert.Equal(t, "failed", st, c.name)
		assert.Contains(t, detail, c.detail, c.name)
	}
	require.NoError(t, f.contoso.SetNumberCapabilities("+39020000044", "conferenceAssignment"))
	require.Error(t, f.contoso.SetNumberCapabilities("+39020000044", "nope"))
	require.Error(t, f.contoso.SetNumberCapabilities("+39029999994", "userAssignment"))
	loc := numberAction(t, f, tok, "assignNumber", map[string]any{"telephoneNumber": "+39020000044", "assignmentTargetId": id(4), "numberType": "directRouting"})
	f.srv.Advance(3 * time.Second)
	st, detail := operation(t, f, tok, loc)
	assert.Equal(t, "failed", st)
	assert.Contains(t, detail, "does not have the capability")
	assert.Len(t, listNumbers(t, f, tok, "capabilities/any(c:c eq 'conferenceAssignment')", "id"), 1)

	f.contoso.SetVoiceControls(m365test.VoiceControls{NumbersUnavailable: true})
	loc = numberAction(t, f, tok, "assignNumber", map[string]any{"telephoneNumber": "+39020000034", "assignmentTargetId": id(4), "numberType": "directRouting"})
	f.srv.Advance(3 * time.Second)
	st, detail = operation(t, f, tok, loc)
	assert.Equal(t, "failed", st)
	assert.Contains(t, detail, "Service unavailable")
	f.contoso.SetVoiceControls(m365test.VoiceControls{})
	assert.Len(t, listNumbers(t, f, tok, "assignmentStatus eq 'userAssigned'", "id"), 34, "no failure changed the inventory")

	// Bodies Graph refuses at once.
	for _, b := range []map[string]any{
		{"telephoneNumber": "+39020000034", "numberType": "directRouting"},
		{"telephoneNumber": "+39020000034", "assignmentTargetId": "user00004@contoso.onmicrosoft.com", "numberType": "directRouting"},
		{"telephoneNumber": "+39020000034", "assignmentTargetId": id(4), "numberType": "landline"},
		{"telephoneNumber": "+39020000034", "assignmentTargetId": id(4), "numberType": "directRouting", "color": "blue"},
		{"telephoneNumber": "+39020000034", "assignmentTargetId": id(4), "numberType": "directRouting", "networkSiteId": "x"},
	} {
		gr := graphDo(t, f, "POST", numbersPath+"/assignNumber", tok, b)
		assert.Equal(t, 400, gr.status, "%v: %v", b, gr.body)
	}
	ro := voiceToken(t, f, "cccccccc-0000-0000-0000-000000000003", "TeamsTelephoneNumber.Read.All")
	gr := graphDo(t, f, "POST", numbersPath+"/assignNumber", ro, map[string]any{"telephoneNumber": "+39020000034", "assignmentTargetId": id(4), "numberType": "directRouting"})
	assert.Equal(t, 403, gr.status)
	assert.Equal(t, "Forbidden", graphErr(t, gr))
	assert.Equal(t, 200, graphDo(t, f, "GET", numbersPath+"?$top=1", ro, nil).status)
}

// newVoiceFixture is a fake cloud on a frozen clock (only Advance moves
// it) with contoso of n users; opts may be nil.
func newVoiceFixture(t *testing.T, n int, opts *m365test.Options) *fixture {
	t.Helper()
	var o m365test.Options
	if opts != nil {
		o = *opts
	}
	start := time.Now()
	o.Now, o.InMemory, o.SigningKey = func() time.Time { return start }, true, sharedKey(t)
	srv := m365test.NewServer(&o)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	var err error
	f.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd", Users: n})
	require.NoError(t, err)
	return f
}

func twoDigits(i int) string { return string([]byte{byte('0' + i/10), byte('0' + i%10)}) }

func TestUnassignAndUpdateNumber(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	tok := voiceToken(t, f, "cccccccc-0000-0000-0000-000000000004")
	u24 := f.contoso.UserID("user00024@contoso.onmicrosoft.com")
	loc := numberAction(t, f, tok, "unassignNumber", map[string]any{"telephoneNumber": "+39020000024", "numberType": "directRouting"})
	f.srv.Advance(3 * time.Second)
	st, detail := operation(t, f, tok, loc)
	require.Equal(t, "succeeded", st, detail)
	c, err := f.srv.TeamsUserConfiguration(f.contoso.ID, u24)
	require.NoError(t, err)
	assert.False(t, c.IsEnterpriseVoiceEnabled, "unassigning the last number turns Enterprise Voice off")
	assert.Empty(t, c.TelephoneNumbers)
	n := userNumber(t, f, tok, "+39020000024")
	assert.Equal(t, "unassigned", n["assignmentStatus"])
	assert.Nil(t, n["assignmentTargetId"])

	// Unassigning again fails.
	loc = numberAction(t, f, tok, "unassignNumber", map[string]any{"telephoneNumber": "+39020000024", "numberType": "directRouting"})
	f.srv.Advance(3 * time.Second)
	st, detail = operation(t, f, tok, loc)
	assert.Equal(t, "failed", st)
	assert.Contains(t, detail, "is not assigned")

	// updateNumber: 200; empty clears, absent keeps.
	gr := graphDo(t, f, "POST", numbersPath+"/updateNumber", tok, map[string]any{"telephoneNumber": "+39020000024",
		"networkSiteId": "site-milan", "reverseNumberLookupOptions": []string{"skipInternalVoip"}, "locationId": f.contoso.EmergencyLocationID("Milan")})
	require.Equal(t, 200, gr.status, "%v", gr.body)
	n = userNumber(t, f, tok, "+39020000024")
	assert.Equal(t, "site-milan", n["networkSiteId"])
	assert.Equal(t, []any{"skipInternalVoip"}, n["reverseNumberLookupOptions"])
	assert.Equal(t, f.contoso.EmergencyLocationID("Milan"), n["locationId"])
	gr = graphDo(t, f, "POST", numbersPath+"/updateNumber", tok, map[string]any{"telephoneNumber": "+39020000024", "networkSiteId": ""})
	require.Equal(t, 200, gr.status, "%v", gr.body)
	n = userNumber(t, f, tok, "+39020000024")
	assert.Nil(t, n["networkSiteId"])
	assert.Equal(t, f.contoso.EmergencyLocationID("Milan"), n["locationId"], "absent keeps")
	for _, b := range []map[string]any{
		{"telephoneNumber": "+39020000024", "locationId": "nowhere"},
		{"telephoneNumber": "+39020000024", "reverseNumberLookupOptions": []string{"bogus"}},
		{"telephoneNumber": "+39020000024", "numberType": "directRouting"},
	} {
		gr := graphDo(t, f, "POST", numbersPath+"/updateNumber", tok, b)
		assert.Equal(t, 400, gr.status, "%v: %v", b, gr.body)
	}
	assert.Equal(t, 404, graphDo(t, f, "POST", numbersPath+"/updateNumber", tok, map[string]any{"telephoneNumber": "+39029999994"}).status)
	assert.Equal(t, 404, graphDo(t, f, "GET", "/admin/teams/telephoneNumberManagement/operations('nope')", tok, nil).status)
}

func TestNumberPropagationDelay(t *testing.T) {
	t.Parallel()
	f := newVoiceFixture(t, 30, &m365test.Options{NumberOperationDelay: -1, TeamsPropagationDelay: time.Minute})
	srv := f.srv
	tok := voiceToken(t, f, "cccccccc-0000-0000-0000-000000000005")
	u24 := f.contoso.UserID("user00024@contoso.onmicrosoft.com")
	loc := numberAction(t, f, tok, "unassignNumber", map[string]any{"telephoneNumber": "+39020000024", "numberType": "directRouting"})
	st, _ := operation(t, f, tok, loc)
	require.Equal(t, "succeeded", st, "a negative delay settles at once")
	assert.Equal(t, "unassigned", userNumber(t, f, tok, "+39020000024")["assignmentStatus"])
	c, _ := srv.TeamsUserConfiguration(f.contoso.ID, u24)
	assert.True(t, c.IsEnterpriseVoiceEnabled, "the user configuration lags the inventory")
	assert.Len(t, c.TelephoneNumbers, 1)
	srv.Advance(time.Minute)
	c, _ = srv.TeamsUserConfiguration(f.contoso.ID, u24)
	assert.False(t, c.IsEnterpriseVoiceEnabled)
	assert.Empty(t, c.TelephoneNumbers)
}

func TestPolicyAssignments(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	tok := voiceToken(t, f, "cccccccc-0000-0000-0000-000000000006")
	policyID := func(typ, name string) string {
		gr := graphDo(t, f, "GET", "/admin/teams/policy/getPolicyId(type='"+typ+"',name='"+name+"')", tok, nil)
		require.Equal(t, 200, gr.status)
		v := gr.body["value"].([]any)
		require.Len(t, v, 1)
		return v[0].(map[string]any)["policyId"].(string)
	}
	u4, u5 := f.contoso.UserID("user00004@contoso.onmicrosoft.com"), f.contoso.UserID("user00005@contoso.onmicrosoft.com")
	vrp, dp := policyID("OnlineVoiceRoutingPolicy", "VRP-IT"), policyID("TenantDialPlan", "DP-IT")
	gr := graphDo(t, f, "POST", "/admin/teams/policy/userAssignments/assign", tok, map[string]any{"value": []map[string]any{
		{"userId": u4, "policyType": "OnlineVoiceRoutingPolicy", "policyId": vrp},
		{"userId": u4, "policyType": "TenantDialPlan", "policyId": dp},
		{"userId": u5, "policyType": "OnlineVoiceRoutingPolicy", "policyId": vrp},
	}})
	require.Equal(t, 204, gr.status, "%v", gr.body)
	c, _ := f.srv.TeamsUserConfiguration(f.contoso.ID, u4)
	var got []string
	for _, a := range c.EffectivePolicyAssignments {
		got = append(got, a.PolicyType+"="+a.PolicyAssignment.DisplayName+"/"+a.PolicyAssignment.AssignmentType)
	}
	assert.Equal(t, []string{"TenantDialPlan=DP-IT/direct", "OnlineVoiceRoutingPolicy=VRP-IT/direct"}, got)

	gr = graphDo(t, f, "POST", "/admin/teams/policy/userAssignments/unassign", tok, map[string]any{"value": []map[string]any{
		{"userId": u4, "policyType": "OnlineVoiceRoutingPolicy"}}})
	require.Equal(t, 204, gr.status, "%v", gr.body)
	c, _ = f.srv.TeamsUserConfiguration(f.contoso.ID, u4)
	require.Len(t, c.EffectivePolicyAssignments, 1)
	assert.Equal(t, "TenantDialPlan", c.EffectivePolicyAssignments[0].PolicyType)

	// Refusals change nothing, even for the valid pairs of the call.
	many := make([]map[string]any, m365test.MaxPolicyAssignments+1)
	for i := range many {
		many[i] = map[string]any{"userId": u5, "policyType": "TenantDialPlan", "policyId": dp}
	}
	refusals := []struct {
		name   string
		value  any
		status int
	}{
		{"unknown user", []map[string]any{{"userId": u5, "policyType": "TenantDialPlan", "policyId": dp}, {"userId": "00000000-0000-4000-8000-000000000000", "policyType": "TenantDialPlan", "policyId": dp}}, 404},
		{"UPN for userId", []map[string]any{{"userId": "user00005@contoso.onmicrosoft.com", "policyType": "TenantDialPlan", "policyId": dp}}, 400},
		{"unknown type", []map[string]any{{"userId": u5, "policyType": "TeamsNopePolicy", "policyId": dp}}, 400},
		{"unknown policy", []map[string]any{{"userId": u5, "policyType": "TenantDialPlan", "policyId": vrp}}, 404},
		{"too many", many, 400},
		{"empty", []map[string]any{}, 400},
	}
	for _, r := range refusals {
		gr := graphDo(t, f, "POST", "/admin/teams/policy/userAssignments/assign", tok, map[string]any{"value": r.value})
		assert.Equal(t, r.status, gr.status, "%s: %v", r.name, gr.body)
	}
	c, _ = f.srv.TeamsUserConfiguration(f.contoso.ID, u5)
	require.Len(t, c.EffectivePolicyAssignments, 1, "only VRP-IT from the first call")

	f.contoso.SetVoiceControls(m365test.VoiceControls{RefusePolicyTypes: []string{"OnlineVoiceRoutingPolicy"}})
	gr = graphDo(t, f, "POST", "/admin/teams/policy/userAssignments/assign", tok, map[string]any{"value": []map[string]any{
		{"userId": u4, "policyType": "OnlineVoiceRoutingPolicy", "policyId": vrp}}})
	assert.Equal(t, 400, gr.status)
	assert.Contains(t, gr.body["error"].(map[string]any)["message"], "OnlineVoiceRoutingPolicy")
}

// TestVoiceRoutesBatchAndThrottle: the new routes go through $batch (an
// assignNumber's 202 keeps its Location) and the fake's throttling like
// any other Graph request.
func TestVoiceRoutesBatchAndThrottle(t *testing.T) {
	t.Parallel()
	f := newVoiceFixture(t, 100, nil)
	tok := voiceToken(t, f, "cccccccc-0000-0000-0000-000000000007")
	u24 := f.contoso.UserID("user00024@contoso.onmicrosoft.com")
	gr := graphDo(t, f, "POST", "/$batch", tok, map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/admin/teams/telephoneNumberManagement/numberAssignments?$top=2"},
		{"id": "2", "method": "POST", "url": "/admin/teams/telephoneNumberManagement/numberAssignments/unassignNumber",
			"body": map[string]any{"telephoneNumber": "+39020000024", "numberType": "directRouting"}, "headers": map[string]string{"Content-Type": "application/json"}},
		{"id": "3", "method": "GET", "url": "/admin/teams/policy/getPolicyId(type='TenantDialPlan',name='DP-IT')"},
		{"id": "4", "method": "GET", "url": "/subscribedSkus"},
	}})
	require.Equal(t, 200, gr.status, "%v", gr.body)
	byID := map[string]map[string]any{}
	for _, r := range gr.body["responses"].([]any) {
		byID[r.(map[string]any)["id"].(string)] = r.(map[string]any)
	}
	assert.Equal(t, float64(200), byID["1"]["status"])
	assert.Len(t, byID["1"]["body"].(map[string]any)["value"], 2)
	assert.Equal(t, float64(202), byID["2"]["status"])
	loc, _ := byID["2"]["headers"].(map[string]any)["Location"].(string)
	require.Contains(t, loc, "/operations('")
	assert.Equal(t, float64(200), byID["3"]["status"])
	assert.Equal(t, float64(200), byID["4"]["status"])
	f.srv.Advance(3 * time.Second)
	st, detail := operation(t, f, tok, loc)
	require.Equal(t, "succeeded", st, detail)
	c, _ := f.srv.TeamsUserConfiguration(f.contoso.ID, u24)
	assert.Empty(t, c.TelephoneNumbers)
	assert.Equal(t, 1, f.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsNumbers, Status: 202}))

	f.srv.SetThrottle(&m365test.Throttle{TenantUnits: 2, TenantWindow: time.Hour})
	for range 2 {
		require.Equal(t, 200, graphDo(t, f, "GET", numbersPath+"?$top=1", tok, nil).status)
	}
	for _, path := range []string{numbersPath + "?$top=1", "/admin/teams/policy/getPolicyId(type='TenantDialPlan',name='DP-IT')", "/subscribedSkus"} {
		gr := graphDo(t, f, "GET", path, tok, nil)
		assert.Equal(t, 429, gr.status, path)
	}
}

// TestConcurrentAssignSameNumber: two apps racing to give one free number
// to two users: one operation succeeds, the other fails "already
// assigned", and the number has one owner.
func TestConcurrentAssignSameNumber(t *testing.T) {
	t.Parallel()
	f := newVoiceFixture(t, 100, nil)
	tok := voiceToken(t, f, "cccccccc-0000-0000-0000-000000000008")
	ids := []string{f.contoso.UserID("user00006@contoso.onmicrosoft.com"), f.contoso.UserID("user00012@contoso.onmicrosoft.com")}
	locs := make([]string, len(ids))
	done := make(chan int, len(ids))
	for j, id := range ids {
		go func() { // no t.Fatal off the test goroutine: report the status
			body := `{"telephoneNumber":"+39020000014","assignmentTargetId":"` + id + `","numberType":"directRouting"}`
			req, _ := http.NewRequest(http.MethodPost, f.srv.GraphURL()+numbersPath+"/assignNumber", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			locs[j] = resp.Header.Get("Location")
			done <- resp.StatusCode
		}()
	}
	for range ids {
		require.Equal(t, 202, <-done)
	}
	f.srv.Advance(3 * time.Second)
	var outcomes []string
	for _, loc := range locs {
		st, detail := operation(t, f, tok, loc)
		if st == "failed" {
			assert.Contains(t, detail, "already assigned")
		}
		outcomes = append(outcomes, st)
	}
	assert.ElementsMatch(t, []string{"succeeded", "failed"}, outcomes)
	n := userNumber(t, f, tok, "+39020000014")
	assert.Contains(t, ids, n["assignmentTargetId"])
	owners := 0
	for _, id := range ids {
		c, err := f.srv.TeamsUserConfiguration(f.contoso.ID, id)
		require.NoError(t, err)
		for _, tn := range c.TelephoneNumbers {
			if tn.TelephoneNumber == "+39020000014" {
				owners++
			}
		}
	}
	assert.Equal(t, 1, owners)
}
