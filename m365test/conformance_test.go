package m365test_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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

// postToken posts a token request and returns the decoded answer.
func postToken(t *testing.T, f *fixture, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := f.srv.Client().PostForm(f.srv.AuthorityURL(tenant)+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(readAll(t, resp)), &body))
	return resp.StatusCode, body
}

// authorizeCode runs the authorization request q for the admin of
// contoso with a non-interactive answer and returns where Entra sent the
// browser.
func authorizeCode(t *testing.T, f *fixture, q url.Values) *url.URL {
	t.Helper()
	f.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{User: f.contoso.AdminUPN(), AdminConsent: true})
	defer f.srv.SetAuthorizeAnswer(nil)
	return follow(t, f.srv, f.srv.BrowserURL()+"/"+f.contoso.ID+"/oauth2/v2.0/authorize?"+q.Encode(), redirectURI)
}

// TestDocAuthCodeFlow replays the identity platform's "OAuth 2.0
// authorization code flow" page: response_mode=fragment, the id_token
// only with openid, and a refresh that answers a new refresh token
// without offline_access in its scope.
func TestDocAuthCodeFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	verifier, challenge := pkce()
	base := url.Values{"client_id": {f.provider.ClientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"state": {"s1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	redeem := func(code, scope string) (int, map[string]any) {
		return postToken(t, f, f.contoso.ID, url.Values{"grant_type": {"authorization_code"}, "client_id": {f.provider.ClientID},
			"client_secret": {providerSecret}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}, "scope": {scope}})
	}

	t.Run("identity-platform/v2-oauth2-auth-code-flow/response_mode=fragment", func(t *testing.T) {
		q := maps.Clone(base)
		q.Set("scope", "openid offline_access https://graph.microsoft.com/User.Read")
		q.Set("response_mode", "fragment")
		loc := authorizeCode(t, f, q)
		assert.Empty(t, loc.RawQuery)
		frag, err := url.ParseQuery(loc.Fragment)
		require.NoError(t, err)
		assert.Equal(t, "s1", frag.Get("state"))
		require.NotEmpty(t, frag.Get("code"))
		status, body := redeem(frag.Get("code"), "https://graph.microsoft.com/User.Read")
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.NotEmpty(t, body["id_token"], "openid was requested at authorize")
		assert.NotEmpty(t, body["refresh_token"])

		// Refresh without offline_access: a new refresh token all the same.
		status, body = postToken(t, f, f.contoso.ID, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.provider.ClientID},
			"client_secret": {providerSecret}, "refresh_token": {body["refresh_token"].(string)}, "scope": {"https://graph.microsoft.com/User.Read"}})
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.NotEmpty(t, body["refresh_token"])
		assert.NotContains(t, body, "id_token", "openid not requested on this refresh")
	})
	t.Run("identity-platform/v2-oauth2-auth-code-flow/no openid no id_token", func(t *testing.T) {
		q := maps.Clone(base)
		q.Set("scope", "offline_access https://graph.microsoft.com/User.Read")
		code := authorizeCode(t, f, q).Query().Get("code")
		require.NotEmpty(t, code)
		status, body := redeem(code, "offline_access https://graph.microsoft.com/User.Read")
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.NotContains(t, body, "id_token")
		assert.NotEmpty(t, body["access_token"])
	})
	t.Run("identity-platform/v2-oauth2-auth-code-flow/unknown response_mode", func(t *testing.T) {
		q := maps.Clone(base)
		q.Set("scope", "openid https://graph.microsoft.com/User.Read")
		q.Set("response_mode", "web_message")
		loc := authorizeCode(t, f, q)
		assert.Equal(t, "invalid_request", loc.Query().Get("error"))
	})
}

// TestDocAdminConsent replays "Grant tenant-wide admin consent to an
// application" (the v1 URL /{tenant}/adminconsent) and the v2 admin
// consent protocol, and the decline as Entra sends it (see
// finishAdminConsent: access_denied, AADSTS65004, admin_consent=True, no
// tenant; MicrosoftDocs/azure-docs#114009).
func TestDocAdminConsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	consent := func(path string, ans m365test.AuthorizeAnswer) url.Values {
		f.srv.SetAuthorizeAnswer(&ans)
		defer f.srv.SetAuthorizeAnswer(nil)
		q := url.Values{"client_id": {f.provider.ClientID}, "redirect_uri": {consentURI}, "state": {"st9"}}
		// Through the TLS listener, as a link in an email would go.
		return follow(t, f.srv, f.srv.URL()+"/"+f.contoso.Domain()+path+"?"+q.Encode(), consentURI).Query()
	}
	t.Run("entra/grant-admin-consent/v1 URL", func(t *testing.T) {
		q := consent("/adminconsent", m365test.AuthorizeAnswer{})
		assert.Equal(t, "True", q.Get("admin_consent"))
		assert.Equal(t, f.contoso.ID, q.Get("tenant"))
		assert.Equal(t, "st9", q.Get("state"))
		assert.False(t, q.Has("scope"), "the v1 form answers without scope")
		c, ok := f.srv.Consent(f.contoso.ID, f.provider.ClientID)
		require.True(t, ok)
		assert.True(t, c.Admin)
	})
	t.Run("identity-platform/v2-admin-consent/declined", func(t *testing.T) {
		q := consent("/v2.0/adminconsent", m365test.AuthorizeAnswer{Decline: true})
		assert.Equal(t, "access_denied", q.Get("error"))
		assert.True(t, strings.HasPrefix(q.Get("error_description"), "AADSTS65004: User declined to consent to access the app."), q.Get("error_description"))
		assert.Equal(t, "https://login.microsoftonline.com/error?code=65004", q.Get("error_uri"))
		assert.Equal(t, "True", q.Get("admin_consent"))
		assert.False(t, q.Has("tenant"))
		assert.Equal(t, "st9", q.Get("state"))
	})
}

// hookServer is a notification endpoint: it answers validation with
// validationCT (text/plain in Graph's rule) and change notifications with
// 503 while down, counting deliveries and lifecycle events.
type hookServer struct {
	*httptest.Server
	mu           sync.Mutex
	down         bool
	validationCT string
	delivered    int
	attempts     int
	lifecycle    []string
}

func newHook(t *testing.T) *hookServer {
	h := &hookServer{validationCT: "text/plain; charset=utf-8"}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if v := r.URL.Query().Get("validationToken"); v != "" {
			w.Header().Set("Content-Type", h.validationCT)
			_, _ = io.WriteString(w, v)
			return
		}
		if r.URL.Path == "/lifecycle" {
			var body struct {
				Value []struct {
					LifecycleEvent string `json:"lifecycleEvent"`
				} `json:"value"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			h.lifecycle = append(h.lifecycle, body.Value[0].LifecycleEvent)
			w.WriteHeader(http.StatusAccepted)
			return
		}
		h.attempts++
		if h.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.delivered++
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) set(f func(h *hookServer)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

// TestDocSubscriptions replays the subscription reference pages and the
// webhook delivery rules: validation answered as text/plain only,
// POST /subscriptions/{id}/reauthorize 204, a failed delivery retried for
// about four hours by the fake's clock and then dropped without a
// "missed" lifecycle notification (call records are not an Outlook
// resource).
func TestDocSubscriptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	hook := newHook(t)
	create := func() graphResp {
		return graphDo(t, f, "POST", "/subscriptions", tok, map[string]any{"changeType": "created",
			"notificationUrl": hook.URL + "/notify", "lifecycleNotificationUrl": hook.URL + "/lifecycle", "resource": "/communications/callRecords",
			"expirationDateTime": f.srv.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "clientState": "s"})
	}

	t.Run("graph/change-notifications-delivery-webhooks/validation must be text/plain", func(t *testing.T) {
		hook.set(func(h *hookServer) { h.validationCT = "application/json" })
		gr := create()
		assert.Equal(t, http.StatusBadRequest, gr.status)
		hook.set(func(h *hookServer) { h.validationCT = "text/plain; charset=utf-8" })
	})
	gr := create()
	require.Equal(t, http.StatusCreated, gr.status, "%v", gr.body)
	id := gr.body["id"].(string)

	t.Run("graph/api/subscription-reauthorize", func(t *testing.T) {
		assert.Equal(t, http.StatusNoContent, graphDo(t, f, "POST", "/subscriptions/"+id+"/reauthorize", tok, nil).status)
		gr := graphDo(t, f, "POST", "/subscriptions/7f105c7d-2dc5-4530-97cd-4e7af6534c07/reauthorize", tok, nil)
		assert.Equal(t, http.StatusNotFound, gr.status)
	})
	t.Run("graph/change-notifications-delivery-webhooks/retried for about four hours", func(t *testing.T) {
		hook.set(func(h *hookServer) { h.down = true })
		_, err := f.srv.PlaceCalls(t.Context(), f.contoso.ID, 1)
		require.Error(t, err, "the first attempt failed")
		attempts := func() int { hook.mu.Lock(); defer hook.mu.Unlock(); return hook.attempts }
		before := attempts()
		f.srv.Advance(3 * time.Hour)
		waitFor(t, func() bool { return attempts() > before }) // a retry, by the fake's clock
		assert.Equal(t, 1, f.srv.PendingNotifications(), "still retried after three hours")
		hook.set(func(h *hookServer) { h.down = false })
		waitFor(t, func() bool { return f.srv.PendingNotifications() == 0 })
		hook.set(func(h *hookServer) {
			assert.Equal(t, 1, h.delivered)
			h.down = true
		})
		_, err = f.srv.PlaceCalls(t.Context(), f.contoso.ID, 1)
		require.Error(t, err)
		f.srv.Advance(5 * time.Hour)
		waitFor(t, func() bool { return f.srv.PendingNotifications() == 0 })
		assert.Equal(t, 1, f.srv.MissedNotifications(id))
		hook.set(func(h *hookServer) { assert.Empty(t, h.lifecycle, "no missed lifecycle for call records") })
	})
}

// TestDocGraphConventions replays what every Graph reference page's
// response shows and the conventions pages document: request-id,
// client-request-id echoed (or generated) and OData-Version headers, the
// error body's innerError naming the same IDs, the throttling guidance's
// 429 body, JSON batching's Content-Type rule, the oAuth2PermissionGrant
// list's documented filter and the organization's properties under
// User.Read.
func TestDocGraphConventions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)

	t.Run("graph/best-practices-concept/client-request-id echoed", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/organization", tok, nil, "client-request-id", "c0ffee00-0000-4000-8000-000000000001")
		require.Equal(t, http.StatusOK, gr.status)
		assert.Equal(t, "c0ffee00-0000-4000-8000-000000000001", gr.header.Get("client-request-id"))
		assert.NotEmpty(t, gr.header.Get("request-id"))
		assert.Equal(t, "4.0", gr.header.Get("OData-Version"))
	})
	t.Run("graph/errors/innerError names the request", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/users?$skip=1", tok, nil)
		require.Equal(t, http.StatusBadRequest, gr.status)
		inner := gr.body["error"].(map[string]any)["innerError"].(map[string]any)
		assert.NotEmpty(t, gr.header.Get("client-request-id"), "generated when the request has none")
		assert.Equal(t, gr.header.Get("client-request-id"), inner["client-request-id"])
		assert.Equal(t, gr.header.Get("request-id"), inner["request-id"])
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`, inner["date"])
	})
	t.Run("graph/json-batching/body needs Content-Type", func(t *testing.T) {
		gr := graphDo(t, f, "POST", "/$batch", tok, map[string]any{"requests": []any{
			map[string]any{"id": "1", "method": "POST", "url": "/users/" + f.contoso.AdminUPN() + "/sendMail", "body": map[string]any{"message": map[string]any{}}},
		}})
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		r0 := gr.body["responses"].([]any)[0].(map[string]any)
		assert.Equal(t, float64(http.StatusBadRequest), r0["status"])
	})
	t.Run("graph/api/oauth2permissiongrant-list/clientId and consentType", func(t *testing.T) {
		const reader = "e1e1e1e1-1111-2222-3333-444444444444"
		addReaderApp(t, f, reader, "Application.Read.All", "DelegatedPermissionGrant.Read.All")
		rt := clientToken(t, f, reader)
		sp := graphDo(t, f, "GET", "/servicePrincipals(appId='"+f.provider.ClientID+"')?$select=id", rt, nil)
		require.Equal(t, http.StatusOK, sp.status, "%v", sp.body)
		spID := sp.body["id"].(string)
		for filter, want := range map[string]int{
			"clientId eq '" + spID + "' and consentType eq 'AllPrincipals'": 1,
			"clientId eq '" + spID + "' and consentType eq 'Principal'":     0,
			"consentType eq 'AllPrincipals'":                                1,
		} {
			gr := graphDo(t, f, "GET", "/oauth2PermissionGrants?$filter="+url.QueryEscape(filter), rt, nil)
			require.Equal(t, http.StatusOK, gr.status, "%s: %v", filter, gr.body)
			assert.Len(t, values(t, gr), want, filter)
		}
	})
	t.Run("graph/api/organization-get/User.Read reads three properties", func(t *testing.T) {
		user := userToken(t, f, f.contoso.AdminUPN(), "User.Read")
		gr := graphDo(t, f, "GET", "/organization", user, nil)
		require.Equal(t, http.StatusOK, gr.status)
		org := values(t, gr)[0]
		assert.Equal(t, f.contoso.ID, org["id"])
		assert.Equal(t, "Contoso Ltd", org["displayName"])
		assert.NotEmpty(t, org["verifiedDomains"])
		assert.Nil(t, org["tenantType"])
		assert.Nil(t, org["countryLetterCode"])
		app := values(t, graphDo(t, f, "GET", "/organization", tok, nil))[0]
		assert.Equal(t, "AAD", app["tenantType"])
		assert.Contains(t, app, "createdDateTime")
	})
}

// TestDocThrottling checks the 429 body of the throttling guidance page's
// example: TooManyRequests, "Please retry again later.", innerError with
// code and status 429, and Retry-After.
func TestDocThrottling(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	f.srv.SetThrottle(&m365test.Throttle{TenantUnits: 1, TenantWindow: time.Hour})
	var gr graphResp
	for range 3 {
		if gr = graphDo(t, f, "GET", "/organization", tok, nil); gr.status == http.StatusTooManyRequests {
			break
		}
	}
	require.Equal(t, http.StatusTooManyRequests, gr.status)
	e := gr.body["error"].(map[string]any)
	assert.Equal(t, "TooManyRequests", e["code"])
	assert.Equal(t, "Please retry again later.", e["message"])
	inner := e["innerError"].(map[string]any)
	assert.Equal(t, "429", inner["code"])
	assert.Equal(t, "429", inner["status"])
	assert.NotEmpty(t, gr.header.Get("Retry-After"))
}

// TestDocTeamsUserConfigurations replays the teamsUserConfiguration list
// and get references: $expand=user (get and list) and $orderby, which both
// pages list among the supported query parameters.
func TestDocTeamsUserConfigurations(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 12)
	tok := teamsToken(t, f)
	u3 := f.contoso.UserID("user00003@contoso.onmicrosoft.com")

	t.Run("graph/api/teamsadministration-teamsuserconfiguration-get/expand user", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations/"+u3+"?$expand=user", tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		user := gr.body["user"].(map[string]any)
		assert.Equal(t, u3, user["id"])
		assert.Equal(t, "user00003@contoso.onmicrosoft.com", user["userPrincipalName"])
		plain := graphDo(t, f, "GET", "/admin/teams/userConfigurations/"+u3, tok, nil)
		assert.NotContains(t, plain.body, "user")
		bad := graphDo(t, f, "GET", "/admin/teams/userConfigurations/"+u3+"?$expand=manager", tok, nil)
		assert.Equal(t, http.StatusBadRequest, bad.status)
	})
	t.Run("graph/api/teamsadministration-teamsadminroot-list-userconfigurations/expand and orderby", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/admin/teams/userConfigurations?$expand=user&$top=5&$orderby="+url.QueryEscape("userPrincipalName desc"), tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		vs := values(t, gr)
		require.Len(t, vs, 5)
		assert.Equal(t, "user00011@contoso.onmicrosoft.com", vs[0]["userPrincipalName"])
		for i, v := range vs {
			assert.Equal(t, v["id"], v["user"].(map[string]any)["id"])
			if i > 0 {
				assert.Greater(t, vs[i-1]["userPrincipalName"], v["userPrincipalName"])
			}
		}
		seen := len(vs)
		for next, _ := gr.body["@odata.nextLink"].(string); next != ""; next, _ = gr.body["@odata.nextLink"].(string) {
			gr = graphDo(t, f, "GET", next, tok, nil)
			require.Equal(t, http.StatusOK, gr.status)
			seen += len(values(t, gr))
		}
		assert.Equal(t, 13, seen, "12 users and the admin")
	})
}

// TestDocServicePrincipals replays the servicePrincipal get reference:
// Microsoft Graph's service principal publishes its delegated permissions
// (oauth2PermissionScopes, each Admin or User) next to its appRoles, and
// an app reads its own service principal without a permission, while
// reading another one still needs Application.Read.All.
func TestDocServicePrincipals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID) // no Application.Read.All
	const reader = "f1f1f1f1-1111-2222-3333-444444444444"
	addReaderApp(t, f, reader, "Application.Read.All")
	rt := clientToken(t, f, reader)

	t.Run("graph/api/serviceprincipal-get/Microsoft Graph's scopes", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id,oauth2PermissionScopes,appRoles", rt, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		scopes := gr.body["oauth2PermissionScopes"].([]any)
		byValue := map[string]map[string]any{}
		for _, sc := range scopes {
			m := sc.(map[string]any)
			byValue[m["value"].(string)] = m
			assert.Contains(t, []any{"Admin", "User"}, m["type"])
			assert.NotEmpty(t, m["id"])
		}
		assert.Equal(t, "User", byValue["User.Read"]["type"])
		assert.Equal(t, "Admin", byValue["User.Read.All"]["type"])
		assert.NotContains(t, byValue, "CallRecords.Read.All", "an application permission only")
		assert.NotEmpty(t, gr.body["appRoles"])
	})
	t.Run("graph/api/serviceprincipal-get/an app reads its own", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/servicePrincipals(appId='"+f.provider.ClientID+"')", tok, nil)
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		assert.Equal(t, f.provider.ClientID, gr.body["appId"])
		byID := graphDo(t, f, "GET", "/servicePrincipals/"+gr.body["id"].(string), tok, nil)
		assert.Equal(t, http.StatusOK, byID.status)
		other := graphDo(t, f, "GET", "/servicePrincipals(appId='"+reader+"')", tok, nil)
		assert.Equal(t, http.StatusForbidden, other.status)
	})
}

// TestDocBeta checks /beta: served as v1.0 where beta answers the same
// (its links name /beta), a Graph-style 404 where the fake cannot answer
// as beta does.
func TestDocBeta(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	beta := strings.Replace(f.srv.GraphURL(), "/v1.0", "/beta", 1)

	gr := graphDo(t, f, "GET", beta+"/users?$select=id,displayName&$top=2", tok, nil)
	require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
	assert.Equal(t, "https://graph.microsoft.com/beta/$metadata#users(id,displayName)", gr.body["@odata.context"])
	assert.Contains(t, gr.body["@odata.nextLink"], "/beta/users?")
	assert.Len(t, values(t, gr), 2)
	next := graphDo(t, f, "GET", gr.body["@odata.nextLink"].(string), tok, nil)
	assert.Equal(t, http.StatusOK, next.status)

	for _, path := range []string{"/users", "/organization", "/admin/teams/userConfigurations", "/nosuch"} {
		gr := graphDo(t, f, "GET", beta+path, tok, nil)
		assert.Equal(t, http.StatusNotFound, gr.status, path)
		assert.Equal(t, "NotFound", graphErr(t, gr), path)
	}
}

// TestDocSendMail replays the user: sendMail reference: Example 1 as
// published (saveToSentItems as the string "false") and Example 4, a MIME
// message base64-encoded as text/plain, and its malformed-base64 error.
func TestDocSendMail(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	path := "/users/" + f.contoso.AdminUPN() + "/sendMail"

	t.Run("graph/api/user-sendmail/example 1", func(t *testing.T) {
		gr := graphDo(t, f, "POST", path, tok, map[string]any{
			"message": map[string]any{"subject": "Meet for lunch?", "body": map[string]any{"contentType": "Text", "content": "The new cafeteria is open."},
				"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": "frannis@contoso.com"}}},
				"ccRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": "danas@contoso.com"}}}},
			"saveToSentItems": "false",
		})
		require.Equal(t, http.StatusAccepted, gr.status, "%v", gr.body)
	})
	post := func(body string) *http.Response {
		req, err := http.NewRequest("POST", f.srv.GraphURL()+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := f.srv.Client().Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	t.Run("graph/api/user-sendmail/example 4 MIME", func(t *testing.T) {
		mimeMsg := "From: Alex Wilber <" + f.contoso.AdminUPN() + ">\r\nTo: Megan Bowen <megan@contoso.com>\r\nSubject: Internal Resume Submission: Sales Associate\r\n" +
			"Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\nHi, Megan.\r\n"
		resp := post(base64.StdEncoding.EncodeToString([]byte(mimeMsg)))
		assert.Equal(t, http.StatusAccepted, resp.StatusCode)
		sent := f.srv.SentMail()
		last := sent[len(sent)-1]
		assert.Equal(t, "Internal Resume Submission: Sales Associate", last.Subject)
		assert.Equal(t, []string{"megan@contoso.com"}, last.To)
		assert.Equal(t, "text", last.ContentType)
	})
	t.Run("graph/api/user-sendmail/malformed MIME", func(t *testing.T) {
		resp := post("not base64 !!")
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
}

// TestDocUsersSearch replays the user list reference's $search examples:
// "displayName:wa" with ConsistencyLevel: eventual and $count, word-prefix
// matched, OR of two clauses, and the refusal without the header.
func TestDocUsersSearch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	upn3 := "user00003@contoso.onmicrosoft.com"
	u3 := graphDo(t, f, "GET", "/users/"+upn3+"?$select=displayName", tok, nil)
	require.Equal(t, http.StatusOK, u3.status)
	name := u3.body["displayName"].(string)
	last := name[strings.LastIndex(name, " ")+1:]

	t.Run("graph/api/user-list/search on a word prefix", func(t *testing.T) {
		q := url.QueryEscape(`"displayName:` + last[:3] + `"`)
		gr := graphDo(t, f, "GET", "/users?$count=true&$select=displayName,userPrincipalName&$search="+q, tok, nil, "ConsistencyLevel", "eventual")
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		found := false
		for _, u := range values(t, gr) {
			found = found || u["userPrincipalName"] == upn3
			assert.Contains(t, strings.ToLower(u["displayName"].(string)), strings.ToLower(last[:3]))
		}
		assert.True(t, found, "%s (%q) not found by %q", upn3, name, last[:3])
		assert.Equal(t, float64(len(values(t, gr))), gr.body["@odata.count"])
	})
	t.Run("graph/api/user-list/search OR", func(t *testing.T) {
		q := url.QueryEscape(`"userPrincipalName:user00003" OR "userPrincipalName:user00004"`)
		gr := graphDo(t, f, "GET", "/users?$select=userPrincipalName&$search="+q, tok, nil, "ConsistencyLevel", "eventual")
		require.Equal(t, http.StatusOK, gr.status, "%v", gr.body)
		assert.Len(t, values(t, gr), 2)
	})
	t.Run("graph/api/user-list/search needs ConsistencyLevel", func(t *testing.T) {
		gr := graphDo(t, f, "GET", "/users?$search="+url.QueryEscape(`"displayName:a"`), tok, nil)
		assert.Equal(t, http.StatusBadRequest, gr.status)
	})
}
