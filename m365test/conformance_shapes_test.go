package m365test_test

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestDocUsersIdentitiesAndCreated replays the user list reference's
// examples 2 (a sign-in name through identities/any) and 8 (a guest's
// identities), the objectIdentity resource's filtering rules, and
// createdDateTime as the advanced query page's filter and $orderby tables
// list it for users.
func TestDocUsersIdentitiesAndCreated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	upn3 := "user00003@contoso.onmicrosoft.com"
	require.NoError(t, f.contoso.UpdateUser(upn3, map[string]any{"identities": []m365test.ObjectIdentity{
		{SignInType: "emailAddress", Issuer: "contoso.onmicrosoft.com", IssuerAssignedID: "j.smith@yahoo.com"},
	}}))
	require.NoError(t, f.contoso.UpdateUser("user00004@contoso.onmicrosoft.com", map[string]any{"identities": []m365test.ObjectIdentity{
		{SignInType: "federated", Issuer: "facebook.com", IssuerAssignedID: "5eecb0cd"},
	}}))
	guest, err := f.srv.AddGuest(f.contoso.ID, m365test.GuestOptions{Email: "AdeleV@adatum.com"})
	require.NoError(t, err)
	u3 := f.contoso.UserID(upn3)
	esc := url.QueryEscape
	advanced := []string{"ConsistencyLevel", "eventual"}
	names := func(t *testing.T, gr graphResp) []any {
		out := []any{}
		for _, u := range values(t, gr) {
			out = append(out, u["userPrincipalName"])
		}
		return out
	}
	runDocCases(t, f, []docCase{
		{page: "graph/api/user-list", name: "example 2 sign-in name", method: "GET", status: 200,
			path: "/users?$select=displayName,id&$filter=" + esc("identities/any(c:c/issuerAssignedId eq 'j.smith@yahoo.com' and c/issuer eq 'My B2C tenant')"),
			check: func(t *testing.T, gr graphResp) {
				us := values(t, gr)
				require.Len(t, us, 1)
				assert.Equal(t, map[string]any{"displayName": "User 00003", "id": u3}, us[0])
			}},
		{page: "graph/api/resources/objectidentity", name: "issuerAssignedId needs issuer", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$filter=" + esc("identities/any(c:c/issuerAssignedId eq 'j.smith@yahoo.com')")},
		{page: "graph/api/resources/objectidentity", name: "federated needs its issuer", method: "GET", status: 200,
			path:  "/users?$filter=" + esc("identities/any(c:c/issuerAssignedId eq '5eecb0cd' and c/issuer eq 'google.com')"),
			check: func(t *testing.T, gr graphResp) { assert.Empty(t, values(t, gr)) }},
		{page: "graph/api/resources/objectidentity", name: "issuer alone for facebook.com", method: "GET", status: 200,
			path: "/users?$filter=" + esc("identities/any(c:c/issuer eq 'facebook.com')"),
			check: func(t *testing.T, gr graphResp) {
				assert.Equal(t, []any{"user00004@contoso.onmicrosoft.com"}, names(t, gr))
			}},
		{page: "graph/api/resources/objectidentity", name: "issuer alone otherwise refused", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$filter=" + esc("identities/any(c:c/issuer eq 'contoso.onmicrosoft.com')")},
		{page: "graph/api/resources/objectidentity", name: "userPrincipalName identities are not filterable", method: "GET", status: 200,
			path:  "/users?$filter=" + esc("identities/any(c:c/issuerAssignedId eq '"+upn3+"' and c/issuer eq 'contoso.onmicrosoft.com')"),
			check: func(t *testing.T, gr graphResp) { assert.Empty(t, values(t, gr)) }},
		{page: "graph/aad-advanced-queries", name: "identities eq works in an advanced query too", method: "GET", status: 200, header: advanced,
			path:  "/users?$count=true&$filter=" + esc("identities/any(c:c/issuer eq 'facebook.com')"),
			check: func(t *testing.T, gr graphResp) { assert.EqualValues(t, 1, gr.body["@odata.count"]) }},
		{page: "graph/aad-advanced-queries", name: "identities has no not", method: "GET", status: 400, code: "Request_UnsupportedQuery", header: advanced,
			path: "/users?$count=true&$filter=" + esc("not identities/any(c:c/issuer eq 'facebook.com')")},
		{page: "graph/api/user-list", name: "example 8 guest identities", method: "GET", status: 200, header: advanced,
			path: "/users?$select=id,displayName,mail,identities&$count=true&$filter=" + esc("endsWith(userPrincipalName,'#EXT#@contoso.onmicrosoft.com')"),
			check: func(t *testing.T, gr graphResp) {
				assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName,mail,identities)", gr.body["@odata.context"])
				us := values(t, gr)
				require.Len(t, us, 1)
				assert.Equal(t, []any{map[string]any{"signInType": "userPrincipalName", "issuer": "contoso.onmicrosoft.com",
					"issuerAssignedId": guest.UserPrincipalName}}, us[0]["identities"])
			}},
		{page: "graph/aad-advanced-queries", name: "createdDateTime ge and le by default", method: "GET", status: 200,
			path: "/users?$select=userPrincipalName,createdDateTime&$filter=" + esc("createdDateTime ge 2024-01-02T00:00:10Z and createdDateTime le 2024-01-02T00:00:12Z"),
			check: func(t *testing.T, gr graphResp) {
				us := values(t, gr)
				require.Len(t, us, 3)
				assert.Equal(t, map[string]any{"userPrincipalName": "user00010@contoso.onmicrosoft.com", "createdDateTime": "2024-01-02T00:00:10Z"}, us[0])
			}},
		{page: "graph/aad-advanced-queries", name: "createdDateTime ne needs the advanced parameters", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$filter=" + esc("createdDateTime ne 2024-01-02T00:00:10Z")},
		{page: "answers/499031", name: "createdDateTime needs the time", method: "GET", status: 400, code: "BadRequest",
			path: "/users?$filter=" + esc("createdDateTime ge 2024-01-02")},
		{page: "graph/aad-advanced-queries", name: "orderby createdDateTime needs the advanced parameters", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$orderby=createdDateTime"},
		{page: "graph/aad-advanced-queries", name: "orderby createdDateTime desc", method: "GET", status: 200, header: advanced,
			path: "/users?$count=true&$top=3&$select=userPrincipalName,createdDateTime&$orderby=" + esc("createdDateTime desc") + "&$filter=" + esc("accountEnabled eq true"),
			check: func(t *testing.T, gr graphResp) {
				us := values(t, gr)
				require.Len(t, us, 3)
				assert.Equal(t, guest.UserPrincipalName, us[0]["userPrincipalName"], "the guest was created last")
				var created []string
				for _, u := range us {
					created = append(created, u["createdDateTime"].(string))
				}
				assert.True(t, sort.IsSorted(sort.Reverse(sort.StringSlice(created))), "%v", created)
				assert.NotNil(t, gr.body["@odata.count"])
			}},
	})
}

// TestDocShapes replays the property sets and context URLs of the
// reference pages' examples: getPstnCalls and getDirectRoutingCalls rows
// (v1.0 CSDL pstnCallLogRow, directRoutingLogRow), the subscription
// resource, the user list's 501 for single-user properties and the
// advanced query page's $search error.
func TestDocShapes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	reader, err := f.srv.AddApp(m365test.AppOptions{ClientID: "22222222-3333-4444-5555-666666666666", DisplayName: "Reports",
		Secrets: []m365test.Secret{{Value: providerSecret, Expires: time.Now().Add(time.Hour)}}, RedirectURIs: []string{redirectURI},
		ApplicationPermissions: []string{"CallRecords.Read.PstnCalls"}})
	require.NoError(t, err)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, reader.ClientID))
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	start := time.Date(2026, 11, 1, 0, 0, 8, 0, time.UTC)
	require.NoError(t, f.srv.AddPstnCalls(f.contoso.ID, m365test.PstnCall{UserPrincipalName: "user00004@contoso.onmicrosoft.com",
		Start: start, End: start.Add(219 * time.Second), CallType: "user_in", CallerNumber: "+0123456789", CalleeNumber: "+39020000004"}))
	require.NoError(t, f.srv.AddDirectRoutingCalls(f.contoso.ID, m365test.DirectRoutingCall{UserPrincipalName: "user00004@contoso.onmicrosoft.com",
		Start: start, Duration: time.Minute, Successful: true, FinalSIPCode: 200, FinalSIPCodePhrase: "BYE", TrunkFQDN: "sbc.contoso.com",
		CallerNumber: "+0123456789", CalleeNumber: "+39020000004", CallType: "ByotIn"}))
	tok := clientToken(t, f, reader.ClientID)
	report := "(fromDateTime=2026-11-01,toDateTime=2026-11-02)"

	t.Run("graph/api/callrecords-callrecord-getpstncalls/example", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/communications/callRecords/getPstnCalls"+report, tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)", gr.body["@odata.context"])
		rows := values(t, gr)
		require.Len(t, rows, 1)
		assert.ElementsMatch(t, []string{"id", "callId", "userId", "userPrincipalName", "userDisplayName", "startDateTime", "endDateTime",
			"duration", "charge", "callType", "currency", "calleeNumber", "usageCountryCode", "tenantCountryCode", "connectionCharge",
			"callerNumber", "destinationContext", "destinationName", "conferenceId", "licenseCapability", "inventoryType", "operator",
			"callDurationSource"}, keys(rows[0]))
		assert.Equal(t, "User 00004", rows[0]["userDisplayName"])
		assert.Equal(t, "Italy", rows[0]["destinationName"])
		assert.EqualValues(t, 219, rows[0]["duration"])
	})
	t.Run("graph/api/callrecords-callrecord-getdirectroutingcalls/example", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/communications/callRecords/getDirectRoutingCalls"+report, tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords.directRoutingLogRow)", gr.body["@odata.context"])
		rows := values(t, gr)
		require.Len(t, rows, 1)
		assert.ElementsMatch(t, []string{"calleeNumber", "callEndSubReason", "callerNumber", "callType", "correlationId", "duration",
			"endDateTime", "failureDateTime", "finalSipCode", "finalSipCodePhrase", "id", "inviteDateTime", "mediaBypassEnabled",
			"mediaPathLocation", "signalingLocation", "startDateTime", "successfulCall", "trunkFullyQualifiedDomainName",
			"userDisplayName", "userId", "userPrincipalName"}, keys(rows[0]))
	})

	runDocCases(t, f, []docCase{
		{page: "graph/api/user-list", name: "single-user properties on a list answer 501", method: "GET", path: "/users?$select=displayName,aboutMe", status: 501},
		{page: "graph/api/user-get", name: "single-user properties on a user", method: "GET", path: "/users/user00003@contoso.onmicrosoft.com?$select=aboutMe,skills", status: 200,
			check: func(t *testing.T, gr graphResp) {
				assert.Nil(t, gr.body["aboutMe"])
				assert.Equal(t, []any{}, gr.body["skills"])
			}},
		{page: "graph/api/serviceprincipal-get", name: "v1.0 property set", method: "GET", path: "/servicePrincipals(appId='" + f.provider.ClientID + "')", status: 200,
			check: func(t *testing.T, gr graphResp) {
				assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity", gr.body["@odata.context"])
				for _, k := range []string{"id", "deletedDateTime", "accountEnabled", "addIns", "alternativeNames", "appDescription",
					"appDisplayName", "appId", "applicationTemplateId", "appOwnerOrganizationId", "appRoleAssignmentRequired", "appRoles",
					"description", "disabledByMicrosoftStatus", "displayName", "homepage", "info", "keyCredentials", "loginUrl",
					"logoutUrl", "notes", "notificationEmailAddresses", "oauth2PermissionScopes", "passwordCredentials",
					"preferredSingleSignOnMode", "preferredTokenSigningKeyThumbprint", "replyUrls", "resourceSpecificApplicationPermissions",
					"samlSingleSignOnSettings", "servicePrincipalNames", "servicePrincipalType", "signInAudience", "tags",
					"tokenEncryptionKeyId", "verifiedPublisher"} {
					assert.Contains(t, gr.body, k)
				}
			}},
		{page: "graph/api/serviceprincipal-get", name: "select names the context", method: "GET", path: "/servicePrincipals(appId='" + f.provider.ClientID + "')?$select=id,appRoles", status: 200,
			check: func(t *testing.T, gr graphResp) {
				assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id,appRoles)/$entity", gr.body["@odata.context"])
				assert.Len(t, gr.body, 3)
			}},
		{page: "graph/query-parameters", name: "select of an unknown service principal property", method: "GET",
			path: "/servicePrincipals(appId='" + f.provider.ClientID + "')?$select=id,appRole", status: 400, code: "BadRequest"},
		{page: "graph/api/user-list", name: "example 9 users with a license", method: "GET", status: 200,
			path: "/users?$select=id,mail,assignedLicenses&$filter=" + url.QueryEscape("assignedLicenses/any(u:u/skuId eq "+m365test.SkuE3+")"),
			check: func(t *testing.T, gr graphResp) {
				assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#users(id,mail,assignedLicenses)", gr.body["@odata.context"])
				us := values(t, gr)
				require.NotEmpty(t, us)
				for _, u := range us {
					assert.Contains(t, u["assignedLicenses"], map[string]any{"disabledPlans": []any{}, "skuId": m365test.SkuE3})
				}
			}},
		{page: "graph/aad-advanced-queries", name: "search needs ConsistencyLevel", method: "GET", path: "/users?$search=" + url.QueryEscape(`"displayName:wa"`),
			status: 400, code: "Request_UnsupportedQuery"},
		{page: "graph/aad-advanced-queries", name: "count segment without ConsistencyLevel", method: "GET", path: "/users/$count",
			status: 400, code: "Request_BadRequest"},
		{page: "graph/aad-advanced-queries", name: "endsWith without the advanced parameters", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path:  "/users?$filter=" + url.QueryEscape("endsWith(userPrincipalName,'#EXT#@contoso.com')"),
			check: nil},
	})
}

// TestDocSubscriptionShape checks the subscription a create answers
// against the v1.0 subscription resource: every CSDL property, plus
// notificationContentType as the create example shows it.
func TestDocSubscriptionShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	hook := newHook(t)
	gr := graphDo(t, f, "POST", "/subscriptions", tok, map[string]any{"changeType": "created",
		"notificationUrl": hook.URL + "/notify", "resource": "/communications/callRecords",
		"expirationDateTime": f.srv.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "clientState": "secretClientValue"})
	require.Equal(t, http.StatusCreated, gr.status, "%v", gr.body)
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity", gr.body["@odata.context"])
	for _, k := range []string{"id", "applicationId", "changeType", "clientState", "creatorId", "encryptionCertificate",
		"encryptionCertificateId", "expirationDateTime", "includeResourceData", "latestSupportedTlsVersion",
		"lifecycleNotificationUrl", "notificationQueryOptions", "notificationUrl", "notificationUrlAppId", "resource",
		"notificationContentType"} {
		assert.Contains(t, gr.body, k)
	}
}

// keys returns m's keys.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDocSignInActivityPages replays the user list reference's example
// 11: with $select=signInActivity a page holds at most 120 users, whatever
// $top asks for.
func TestDocSignInActivityPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 200)
	audit, err := f.srv.AddApp(m365test.AppOptions{ClientID: "33333333-4444-5555-6666-777777777777", DisplayName: "Audit",
		Secrets: []m365test.Secret{{Value: providerSecret, Expires: time.Now().Add(time.Hour)}}, RedirectURIs: []string{redirectURI},
		ApplicationPermissions: []string{"User.Read.All", "AuditLog.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, audit.ClientID))
	tok := clientToken(t, f, audit.ClientID)
	t.Run("graph/api/user-list/example 11 pages of 120", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/users?$select=displayName,userPrincipalName,signInActivity&$top=999", tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		assert.Len(t, values(t, gr), 120)
		assert.Contains(t, gr.body, "@odata.nextLink")
		next, _ := gr.body["@odata.nextLink"].(string)
		gr = graphDo(t, f, "GET", strings.TrimPrefix(next, "https://graph.microsoft.com/v1.0"), tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		assert.Len(t, values(t, gr), 81) // 200 users and the admin
	})
	t.Run("graph/api/user-list/without signInActivity $top holds", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/users?$select=displayName&$top=999", tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		assert.Len(t, values(t, gr), 201)
	})
}
