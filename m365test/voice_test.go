package m365test_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// voiceRoles are what a Teams Phone provisioning app is granted.
var voiceRoles = []string{"TeamsTelephoneNumber.ReadWrite.All", "TeamsPolicyUserAssign.ReadWrite.All",
	"LicenseAssignment.ReadWrite.All", "User.Read.All", "TeamsUserConfiguration.Read.All"}

// voiceToken returns an app-only token in contoso of an app granted roles
// (voiceRoles when none).
func voiceToken(t *testing.T, f *fixture, clientID string, roles ...string) string {
	t.Helper()
	if roles == nil {
		roles = voiceRoles
	}
	app, err := f.srv.AddApp(m365test.AppOptions{ClientID: clientID, DisplayName: "Voice " + clientID,
		Secrets:                []m365test.Secret{{Value: providerSecret, Expires: time.Now().Add(time.Hour)}},
		ApplicationPermissions: roles})
	require.NoError(t, err)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, app.ClientID))
	return tokenFor(t, f, f.contoso.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}})
}

const numbersPath = "/admin/teams/telephoneNumberManagement/numberAssignments"

// listNumbers pages through numberAssignments with filter by $skip, as
// Graph documents, and returns every number.
func listNumbers(t *testing.T, f *fixture, tok, filter string, sel ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for skip := 0; ; skip += 1000 {
		q := url.Values{"$top": {"1000"}, "$skip": {fmt.Sprint(skip)}}
		if sel != nil {
			q.Set("$select", strings.Join(sel, ","))
		}
		if filter != "" {
			q.Set("$filter", filter)
		}
		gr := graphDo(t, f, "GET", numbersPath+"?"+q.Encode(), tok, nil)
		require.Equal(t, 200, gr.status, "%v", gr.body)
		require.NotContains(t, gr.body, "@odata.nextLink", "the fake pages by $skip only")
		page := gr.body["value"].([]any)
		for _, v := range page {
			out = append(out, v.(map[string]any))
		}
		if len(page) < 1000 {
			return out
		}
	}
}

func TestDemoNumberInventory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50_000)
	tok := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000001")

	all := listNumbers(t, f, tok, "", "telephoneNumber")
	require.Len(t, all, 50_000)
	for i := 1; i < len(all); i++ {
		if prev, cur := all[i-1]["telephoneNumber"].(string), all[i]["telephoneNumber"].(string); prev >= cur { // testify only on a mismatch: 50,000 numbers
			require.Less(t, prev, cur, "not listed by telephoneNumber: %v before %v", all[i-1], all[i])
		}
	}
	assert.Len(t, listNumbers(t, f, tok, "assignmentStatus eq 'userAssigned'", "id"), 16_667)
	assert.Len(t, listNumbers(t, f, tok, "assignmentStatus eq 'unassigned'", "id"), 33_333)
	freeIT := listNumbers(t, f, tok, "isoCountryCode eq 'IT' and assignmentStatus eq 'unassigned' and capabilities/any(c:c eq 'userAssignment')",
		"telephoneNumber", "numberType", "assignmentTargetId")
	require.Len(t, freeIT, 3_334)
	for _, n := range freeIT {
		require.True(t, strings.HasPrefix(n["telephoneNumber"].(string), "+3902"))
		require.Equal(t, "directRouting", n["numberType"])
		require.Nil(t, n["assignmentTargetId"])
	}
	assert.Len(t, listNumbers(t, f, tok, "isoCountryCode eq 'IT' and assignmentStatus eq 'userAssigned'", "id"), 1_666)
	assert.Len(t, listNumbers(t, f, tok, "numberType eq 'callingPlan'", "id"), 25_000)

	// User 24's number, by telephoneNumber and by its id.
	n24 := listNumbers(t, f, tok, "telephoneNumber eq '+39020000024'")
	require.Len(t, n24, 1)
	want := map[string]any{"telephoneNumber": "+39020000024", "numberType": "directRouting", "activationState": "activated",
		"assignmentStatus": "userAssigned", "assignmentCategory": "primary", "assignmentTargetId": f.contoso.UserID("user00024@contoso.onmicrosoft.com"),
		"isoCountryCode": "IT", "city": "Milan", "capabilities": []any{"userAssignment"}, "locationId": nil, "numberSource": "onPremises",
		"supportedCustomerActions": []any{}, "reverseNumberLookupOptions": []any{}, "portInStatus": nil, "civicAddressId": nil, "networkSiteId": nil}
	for k, v := range want {
		assert.Equal(t, v, n24[0][k], k)
	}
	gr := graphDo(t, f, "GET", numbersPath+"/"+n24[0]["id"].(string), tok, nil)
	require.Equal(t, 200, gr.status, "%v", gr.body)
	assert.Equal(t, "+39020000024", gr.body["telephoneNumber"])
	assert.Equal(t, 404, graphDo(t, f, "GET", numbersPath+"/00000000-0000-4000-8000-000000000000", tok, nil).status)

	// A Calling Plan number carries its city's emergency location.
	n1 := listNumbers(t, f, tok, "telephoneNumber eq '+44200000001'")
	require.Len(t, n1, 1)
	assert.Equal(t, "callingPlan", n1[0]["numberType"])
	assert.Equal(t, f.contoso.EmergencyLocationID("London"), n1[0]["locationId"])
	assert.NotEmpty(t, n1[0]["locationId"])
	assert.Equal(t, []any{"locationUpdate", "release"}, n1[0]["supportedCustomerActions"])

	// Page sizes: default 500, at most 1,000; $select.
	gr = graphDo(t, f, "GET", numbersPath+"?$select=telephoneNumber,assignmentStatus", tok, nil)
	require.Equal(t, 200, gr.status)
	page := gr.body["value"].([]any)
	assert.Len(t, page, 500)
	assert.Len(t, page[0].(map[string]any), 2)
	for _, q := range []string{"$top=1001", "$top=0", "$skip=-1", "$filter=city eq 'Milan'", "$filter=id eq 'x'",
		"$filter=numberType eq 'landline'", "$filter=assignmentStatus ne 'unassigned'", "$filter=capabilities eq 'userAssignment'",
		"$orderby=telephoneNumber", "$select=nope", "$filter=startsWith(telephoneNumber,'+39')"} {
		gr := graphDo(t, f, "GET", numbersPath+"?"+strings.ReplaceAll(q, " ", "%20"), tok, nil)
		assert.Equal(t, 400, gr.status, "%s: %v", q, gr.body)
		assert.Equal(t, "BadRequest", graphErr(t, gr), q)
	}
}

func TestDemoSubscribedSkus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50_000)
	tok := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000002")
	gr := graphDo(t, f, "GET", "/subscribedSkus", tok, nil)
	require.Equal(t, 200, gr.status, "%v", gr.body)
	got := map[string][2]float64{}
	for _, v := range gr.body["value"].([]any) {
		s := v.(map[string]any)
		got[s["skuPartNumber"].(string)] = [2]float64{s["consumedUnits"].(float64), s["prepaidUnits"].(map[string]any)["enabled"].(float64)}
		assert.NotEmpty(t, s["servicePlans"])
	}
	assert.Equal(t, map[string][2]float64{"SPE_E3": {50_001, 50_011}, "MCOEV": {16_667, 17_667}, "MCOPSTN1": {8_333, 8_833},
		"MCOMEETADV": {50_001, 50_011}}, got)
}

func TestAssignedLicensesOnUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3_000)
	tok := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000003")
	gr := graphDo(t, f, "GET", "/users/user00003@contoso.onmicrosoft.com?$select=id,assignedLicenses,assignedPlans", tok, nil)
	require.Equal(t, 200, gr.status, "%v", gr.body)
	var skus []any
	for _, l := range gr.body["assignedLicenses"].([]any) {
		skus = append(skus, l.(map[string]any)["skuId"])
	}
	assert.Equal(t, []any{m365test.SkuE3, m365test.SkuTeamsPhone, m365test.SkuCallingPlan, m365test.SkuAudioConf}, skus)
	assert.Contains(t, gr.body["assignedPlans"], map[string]any{"assignedDateTime": "2024-01-15T09:00:00Z", "capabilityStatus": "Enabled",
		"service": "MicrosoftCommunicationsOnline", "servicePlanId": "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"})

	// assignedLicenses/any works by default (user list reference, example
	// 9; the filter table) and in advanced queries: 1,000 Teams Phone users.
	filter := url.QueryEscape("assignedLicenses/any(x:x/skuId eq " + m365test.SkuTeamsPhone + ")")
	gr = graphDo(t, f, "GET", "/users?$count=true&$select=id&$top=999&$filter="+filter, tok, nil, "ConsistencyLevel", "eventual")
	require.Equal(t, 200, gr.status, "%v", gr.body)
	assert.Equal(t, float64(1_000), gr.body["@odata.count"])
	gr = graphDo(t, f, "GET", "/users?$select=id,mail,assignedLicenses&$top=999&$filter="+filter, tok, nil)
	require.Equal(t, 200, gr.status, "%v", gr.body)
	assert.Len(t, gr.body["value"], 999)
	gr = graphDo(t, f, "GET", "/users?$filter=not("+filter+")", tok, nil)
	assert.Equal(t, 400, gr.status, "not needs the advanced parameters")
	assert.Equal(t, "Request_UnsupportedQuery", graphErr(t, gr))
	for _, bad := range []string{"assignedLicenses/any(x:x/skuId eq '" + m365test.SkuE3 + "')", "assignedLicenses/any(x:x/skuId eq nope)",
		"assignedLicenses/any(x:x/disabledPlans eq 1)", "assignedLicenses eq 1"} {
		gr := graphDo(t, f, "GET", "/users?$count=true&$filter="+url.QueryEscape(bad), tok, nil, "ConsistencyLevel", "eventual")
		assert.Equal(t, 400, gr.status, "%s: %v", bad, gr.body)
	}
}

// assignLicense posts an assignLicense call for upn.
func assignLicense(t *testing.T, f *fixture, tok, upn string, add []string, remove []string) graphResp {
	t.Helper()
	adds := []map[string]any{}
	for _, s := range add {
		adds = append(adds, map[string]any{"skuId": s, "disabledPlans": []string{}})
	}
	if remove == nil {
		remove = []string{}
	}
	return graphDo(t, f, "POST", "/users/"+upn+"/assignLicense", tok, map[string]any{"addLicenses": adds, "removeLicenses": remove})
}

func TestAssignLicense(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	tok := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000004")
	const u4 = "user00004@contoso.onmicrosoft.com"
	features := func(upn string) []string {
		c, err := f.srv.TeamsUserConfiguration(f.contoso.ID, upn)
		require.NoError(t, err)
		return c.FeatureTypes
	}
	require.Equal(t, []string{"Teams", "AudioConferencing"}, features(u4))

	gr := assignLicense(t, f, tok, u4, []string{m365test.SkuTeamsPhone}, nil)
	require.Equal(t, 200, gr.status, "%v", gr.body)
	assert.Equal(t, []string{"Teams", "AudioConferencing", "PhoneSystem"}, features(u4))
	gr = assignLicense(t, f, tok, u4, []string{m365test.SkuCallingPlan}, []string{m365test.SkuAudioConf})
	require.Equal(t, 200, gr.status, "%v", gr.body)
	assert.Equal(t, []string{"Teams", "PhoneSystem", "CallingPlan"}, features(u4))
	c, _ := f.srv.TeamsUserConfiguration(f.contoso.ID, u4)
	assert.False(t, c.IsEnterpriseVoiceEnabled, "a license alone does not turn Enterprise Voice on")

	refusals := []struct {
		name       string
		upn        string
		add, rm    []string
		status     int
		code, text string
	}{
		{"unknown SKU", u4, []string{"11111111-2222-4333-8444-555555555555"}, nil, 400, "Request_BadRequest", "does not correspond to a valid company License"},
		{"not subscribed", u4, []string{m365test.SkuCallingPlanIntl}, nil, 400, "Request_BadRequest", "does not correspond to a valid company License"},
		{"not a GUID", u4, []string{"MCOEV"}, nil, 400, "Request_BadRequest", "Edm.Guid"},
		{"unknown user", "nobody@contoso.onmicrosoft.com", []string{m365test.SkuTeamsPhone}, nil, 404, "Request_ResourceNotFound", ""},
	}
	for _, r := range refusals {
		gr := assignLicense(t, f, tok, r.upn, r.add, r.rm)
		assert.Equal(t, r.status, gr.status, r.name)
		assert.Equal(t, r.code, graphErr(t, gr), r.name)
		assert.Contains(t, gr.body["error"].(map[string]any)["message"], r.text, r.name)
	}
	gr = graphDo(t, f, "POST", "/users/"+u4+"/assignLicense", tok, map[string]any{"addLicenses": []any{}})
	assert.Equal(t, 400, gr.status)
	assert.Contains(t, gr.body["error"].(map[string]any)["message"], "The missing parameters are: removeLicenses")

	// A user without usageLocation cannot get a license.
	require.NoError(t, f.contoso.UpdateUser("user00005@contoso.onmicrosoft.com", map[string]any{"usageLocation": nil}))
	gr = assignLicense(t, f, tok, "user00005@contoso.onmicrosoft.com", []string{m365test.SkuTeamsPhone}, nil)
	assert.Equal(t, 400, gr.status)
	assert.Contains(t, gr.body["error"].(map[string]any)["message"], "invalid usage location")

	// No free units: nothing changes.
	sku := func(part string) map[string]any {
		gr := graphDo(t, f, "GET", "/subscribedSkus", tok, nil)
		for _, v := range gr.body["value"].([]any) {
			if v.(map[string]any)["skuPartNumber"] == part {
				return v.(map[string]any)
			}
		}
		return nil
	}
	used := int(sku("MCOEV")["consumedUnits"].(float64))
	require.Equal(t, 34+1, used) // 34 voice users of 100 and user 4
	require.NoError(t, f.contoso.SetLicenseUnits(m365test.SkuTeamsPhone, used))
	gr = assignLicense(t, f, tok, "user00007@contoso.onmicrosoft.com", []string{m365test.SkuTeamsPhone}, nil)
	assert.Equal(t, 400, gr.status)
	assert.Contains(t, gr.body["error"].(map[string]any)["message"], "no available licenses")
	assert.Equal(t, float64(used), sku("MCOEV")["consumedUnits"])

	// Mutually exclusive plans: Domestic and Domestic+International.
	require.NoError(t, f.contoso.SetLicenseUnits(m365test.SkuCallingPlanIntl, 5))
	gr = assignLicense(t, f, tok, "user00003@contoso.onmicrosoft.com", []string{m365test.SkuCallingPlanIntl}, nil)
	assert.Equal(t, 400, gr.status)
	assert.Contains(t, gr.body["error"].(map[string]any)["message"], "mutually exclusive")
	gr = assignLicense(t, f, tok, "user00003@contoso.onmicrosoft.com", []string{m365test.SkuCallingPlanIntl}, []string{m365test.SkuCallingPlan})
	assert.Equal(t, 200, gr.status, "%v", gr.body)
	assert.Equal(t, []string{"Teams", "AudioConferencing", "PhoneSystem", "CallingPlan"}, features("user00003@contoso.onmicrosoft.com"))

	// Without the permission: Graph's directory 403.
	ro := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000005", "User.Read.All")
	gr = assignLicense(t, f, ro, u4, []string{m365test.SkuTeamsPhone}, nil)
	assert.Equal(t, 403, gr.status)
	assert.Equal(t, "Authorization_RequestDenied", graphErr(t, gr))
}

func TestGetPolicyID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50)
	tok := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000006")
	gr := graphDo(t, f, "GET", "/admin/teams/policy/getPolicyId(type='OnlineVoiceRoutingPolicy',name='VRP-IT')", tok, nil)
	require.Equal(t, 200, gr.status, "%v", gr.body)
	v := gr.body["value"].([]any)
	require.Len(t, v, 1)
	got := v[0].(map[string]any)
	assert.Equal(t, "VRP-IT", got["name"])
	c, err := f.srv.TeamsUserConfiguration(f.contoso.ID, "user00024@contoso.onmicrosoft.com")
	require.NoError(t, err)
	require.Len(t, c.EffectivePolicyAssignments, 3)
	assert.Equal(t, c.EffectivePolicyAssignments[2].PolicyAssignment.PolicyID, got["policyId"], "user 24 has VRP-IT")

	gr = graphDo(t, f, "GET", "/admin/teams/policy/getPolicyId(name='Nope',type='TenantDialPlan')", tok, nil)
	require.Equal(t, 200, gr.status)
	assert.Empty(t, gr.body["value"])
	for _, bad := range []string{"getPolicyId(type='TenantDialPlan')", "getPolicyId(type='NoSuchPolicy',name='x')",
		"getPolicyId(type=TenantDialPlan,name='x')", "getPolicyId(type='a',type='b')", "getPolicyId(type='TenantDialPlan',name='x'"} {
		gr := graphDo(t, f, "GET", "/admin/teams/policy/"+url.PathEscape(bad), tok, nil)
		assert.Equal(t, 400, gr.status, "%s: %v", bad, gr.body)
	}
	ro := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000007", "User.Read.All")
	gr = graphDo(t, f, "GET", "/admin/teams/policy/getPolicyId(type='TenantDialPlan',name='DP-IT')", ro, nil)
	assert.Equal(t, 403, gr.status)
	assert.Equal(t, "Forbidden", graphErr(t, gr))
	assert.Contains(t, gr.body["error"].(map[string]any)["message"], "TeamsPolicyUserAssign.ReadWrite.All")
}

// TestVoiceDelegatedPermissions: the Teams Phone routes take delegated
// tokens with the same permissions as app-only ones; without them the
// Teams APIs answer 403 Forbidden naming the permissions and the scopes.
func TestVoiceDelegatedPermissions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	app, err := f.srv.AddApp(m365test.AppOptions{ClientID: "bbbbbbbb-0000-0000-0000-000000000010", DisplayName: "Voice delegated",
		PublicClient: true, RedirectURIs: []string{"http://localhost"},
		DelegatedPermissions: []string{"User.Read", "TeamsTelephoneNumber.Read.All", "TeamsPolicyUserAssign.ReadWrite.All", "LicenseAssignment.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, app.ClientID))
	token := func(clientID, scope string) string {
		return tokenFor(t, f, f.contoso.ID, url.Values{"grant_type": {"password"}, "client_id": {clientID},
			"scope": {scope}, "username": {f.contoso.AdminUPN()}, "password": {m365test.DefaultPassword}})
	}
	full := token(app.ClientID, "https://graph.microsoft.com/TeamsTelephoneNumber.Read.All https://graph.microsoft.com/TeamsPolicyUserAssign.ReadWrite.All https://graph.microsoft.com/LicenseAssignment.Read.All")
	assert.Equal(t, 200, graphDo(t, f, "GET", numbersPath+"?$top=1", full, nil).status)
	assert.Equal(t, 200, graphDo(t, f, "GET", "/admin/teams/policy/getPolicyId(type='TenantDialPlan',name='DP-IT')", full, nil).status)
	assert.Equal(t, 200, graphDo(t, f, "GET", "/subscribedSkus", full, nil).status)
	gr := graphDo(t, f, "POST", numbersPath+"/unassignNumber", full, map[string]any{"telephoneNumber": "+39020000024", "numberType": "directRouting"})
	assert.Equal(t, 403, gr.status, "Read.All does not write")
	assert.Equal(t, "Forbidden", graphErr(t, gr))
	assert.Contains(t, gr.body["error"].(map[string]any)["message"], "TeamsTelephoneNumber.ReadWrite.All")
	assert.Contains(t, gr.body["error"].(map[string]any)["message"], "Scopes on the request")

	basic := userToken(t, f, f.contoso.AdminUPN(), "https://graph.microsoft.com/User.Read") // an app with User.Read only
	gr = graphDo(t, f, "GET", numbersPath, basic, nil)
	assert.Equal(t, 403, gr.status)
	assert.Equal(t, "Forbidden", graphErr(t, gr))
	gr = graphDo(t, f, "GET", "/subscribedSkus", basic, nil)
	assert.Equal(t, 403, gr.status)
	assert.Equal(t, "Authorization_RequestDenied", graphErr(t, gr))
}

// TestLicenseChangeInUsersDelta: a license change makes the user changed
// for the next /users/delta round. (assignedLicenses is not selectable on
// /users/delta in the fake: its delta keeps the modelled properties only.)
func TestLicenseChangeInUsersDelta(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20)
	tok := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000011")
	users, _, _, delta := deltaRound(t, f, tok, "/users/delta?$select=id,displayName")
	require.Len(t, users, 21)
	u4 := f.contoso.UserID("user00004@contoso.onmicrosoft.com")
	require.Equal(t, 200, assignLicense(t, f, tok, u4, []string{m365test.SkuTeamsPhone}, nil).status)
	users, _, _, _ = deltaRound(t, f, tok, delta)
	require.Len(t, users, 1)
	assert.Contains(t, users, u4)
}

// TestGuestHasNoLicenseOrNumber: a guest (AddGuest) holds no licenses and
// adds no number to the inventory, which keeps one number per generated
// user.
func TestGuestHasNoLicenseOrNumber(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	g, err := f.srv.AddGuest(f.contoso.ID, m365test.GuestOptions{Email: "alice@fabrikam.com", HomeTenantID: f.fabrikam.ID})
	require.NoError(t, err)
	_, err = f.contoso.AddUsers(2) // users 31 and 32 by the demo rules
	require.NoError(t, err)
	tok := voiceToken(t, f, "bbbbbbbb-0000-0000-0000-000000000012")
	all := listNumbers(t, f, tok, "", "telephoneNumber")
	assert.Len(t, all, 32, "30 generated users, 2 added; not the guest")
	gr := graphDo(t, f, "GET", "/users/"+g.ID+"?$select=id,assignedLicenses", tok, nil)
	require.Equal(t, 200, gr.status, "%v", gr.body)
	assert.Empty(t, gr.body["assignedLicenses"])
	gr = graphDo(t, f, "GET", "/subscribedSkus", tok, nil)
	for _, v := range gr.body["value"].([]any) {
		if s := v.(map[string]any); s["skuPartNumber"] == "SPE_E3" {
			assert.Equal(t, float64(30+2+1), s["consumedUnits"], "generated and added users and the admin")
		}
	}
}
