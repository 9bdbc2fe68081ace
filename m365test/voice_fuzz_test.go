package m365test_test

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// FuzzVoiceRoutes sends arbitrary numberAssignments $filter values,
// getPolicyId arguments and action bodies (assignNumber, unassignNumber,
// updateNumber, assignLicense, userAssignments assign) through the whole
// Graph endpoints: every answer is a success or a 4xx in Graph's error
// shape, never a 5xx or a crash.
func FuzzVoiceRoutes(f *testing.F) {
	seeds := []struct{ filter, fnArgs, body string }{
		{"assignmentStatus eq 'unassigned'", "type='TenantDialPlan',name='DP-IT'", `{"telephoneNumber":"+39020000004","assignmentTargetId":"x","numberType":"directRouting"}`},
		{"capabilities/any(c:c eq 'userAssignment') and isoCountryCode eq 'IT'", "name='VRP-IT',type='OnlineVoiceRoutingPolicy'", `{"telephoneNumber":"+39020000024","numberType":"directRouting"}`},
		{"telephoneNumber eq '+39020000024'", "type='a''b',name=''", `{"addLicenses":[{"skuId":"e43b5b99-8dfb-405f-9987-dc307f34bcbd","disabledPlans":[]}],"removeLicenses":[]}`},
		{"assignmentTargetId eq null", "type='x'", `{"value":[{"userId":"00000000-0000-4000-8000-000000000000","policyType":"TenantDialPlan","policyId":"x"}]}`},
		{"numberType eq 'bogus'", "(((", `{"telephoneNumber":null}`},
		{"reverseNumberLookupOptions/any(x:x eq 'skipInternalVoip') and locationId eq ''", "type='TenantDialPlan',name='DP-IT',x='y'", `[1,2]`},
		{"", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.filter, s.fnArgs, s.body)
	}
	start := time.Now()
	srv := m365test.NewServer(&m365test.Options{InMemory: true, SigningKey: sharedKey(f), NumberOperationDelay: -1,
		Now: func() time.Time { return start }})
	f.Cleanup(srv.Close)
	fx := &fixture{srv: srv}
	var err error
	fx.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 100})
	require.NoError(f, err)
	app, err := srv.AddApp(m365test.AppOptions{ClientID: "eeeeeeee-0000-0000-0000-000000000001", DisplayName: "Fuzz",
		Secrets: []m365test.Secret{{Value: providerSecret, Expires: start.Add(time.Hour)}}, ApplicationPermissions: []string{
			"TeamsTelephoneNumber.ReadWrite.All", "TeamsPolicyUserAssign.ReadWrite.All", "LicenseAssignment.ReadWrite.All", "User.Read.All"}})
	require.NoError(f, err)
	require.NoError(f, srv.GrantAdminConsent(fx.contoso.ID, app.ClientID))
	tok := tokenFor(f, fx, fx.contoso.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}})
	u4 := fx.contoso.UserID("user00004@contoso.onmicrosoft.com")
	f.Fuzz(func(t *testing.T, filter, fnArgs, body string) {
		type req struct{ method, path, body string }
		reqs := []req{
			{"GET", "/admin/teams/telephoneNumberManagement/numberAssignments?" + url.Values{"$filter": {filter}, "$top": {"5"}}.Encode(), ""},
			{"GET", "/admin/teams/policy/" + url.PathEscape("getPolicyId("+fnArgs+")"), ""},
			{"GET", "/admin/teams/telephoneNumberManagement/operations('" + url.PathEscape(fnArgs) + "')", ""},
			{"POST", "/users/" + u4 + "/assignLicense", body},
			{"POST", "/admin/teams/policy/userAssignments/assign", body},
		}
		for _, a := range []string{"assignNumber", "unassignNumber", "updateNumber"} {
			reqs = append(reqs, req{"POST", "/admin/teams/telephoneNumberManagement/numberAssignments/" + a, body})
		}
		for _, r := range reqs {
			var rd *bytes.Reader
			if r.method == "POST" {
				rd = bytes.NewReader([]byte(r.body))
			} else {
				rd = bytes.NewReader(nil)
			}
			hr, err := http.NewRequest(r.method, srv.GraphURL()+r.path, rd)
			if err != nil {
				return // not a URL Go can send
			}
			hr.Header.Set("Authorization", "Bearer "+tok)
			hr.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client().Do(hr)
			require.NoError(t, err)
			got := readAll(t, resp)
			require.GreaterOrEqual(t, resp.StatusCode, 200, "%s %s body %q: status, body %s", r.method, r.path, r.body, got)
			require.Less(t, resp.StatusCode, 500, "%s %s body %q: status, body %s", r.method, r.path, r.body, got)
			if resp.StatusCode >= 400 {
				require.Contains(t, got, `"innerError"`, "%s %s: %d without Graph's error shape", r.method, r.path, resp.StatusCode)
			}
		}
	})
}
