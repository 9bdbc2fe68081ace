package m365test_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// tokenFor posts a token request and returns the access token.
func tokenFor(t testing.TB, f *fixture, tenant string, form url.Values) string {
	t.Helper()
	resp, err := f.srv.Client().PostForm(f.srv.AuthorityURL(tenant)+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	body := readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, "token: %s", body)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &tr))
	return tr.AccessToken
}

func appToken(t testing.TB, f *fixture, tenant string) string {
	return tokenFor(t, f, tenant, url.Values{"grant_type": {"client_credentials"}, "client_id": {f.provider.ClientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}})
}

// userToken signs upn in with ROPC through the native app (User.Read only).
func userToken(t testing.TB, f *fixture, upn, scope string) string {
	_, domain, _ := strings.Cut(upn, "@")
	require.NoError(t, f.srv.GrantAdminConsent(domain, f.native.ClientID))
	return tokenFor(t, f, domain, url.Values{"grant_type": {"password"}, "client_id": {f.native.ClientID},
		"scope": {scope}, "username": {upn}, "password": {m365test.DefaultPassword}})
}

type graphResp struct {
	status int
	header http.Header
	body   map[string]any
}

func graphDo(t testing.TB, f *fixture, method, path, token string, body any, hdr ...string) graphResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = f.srv.GraphURL() + path
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, u, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	raw := readAll(t, resp)
	gr := graphResp{status: resp.StatusCode, header: resp.Header}
	if raw != "" {
		require.NoError(t, json.Unmarshal([]byte(raw), &gr.body), "%s %s: body %q", method, path, raw)
	}
	return gr
}

// graphErr checks Graph's error shape and returns the code.
func graphErr(t testing.TB, gr graphResp) string {
	t.Helper()
	e, _ := gr.body["error"].(map[string]any)
	inner, _ := e["innerError"].(map[string]any)
	require.NotNil(t, e, "status %d: not a Graph error: %v", gr.status, gr.body)
	require.NotNil(t, inner, "status %d: not a Graph error: %v", gr.status, gr.body)
	// Each field is a string, and not empty: a missing one fails too.
	for _, f := range []struct {
		in   map[string]any
		name string
	}{{e, "code"}, {e, "message"}, {inner, "request-id"}, {inner, "date"}} {
		v, _ := f.in[f.name].(string)
		require.NotEmpty(t, v, "status %d: a Graph error without %s: %v", gr.status, f.name, gr.body)
	}
	return e["code"].(string)
}

// assertGraphError checks that gr is a Graph error with status and code;
// what names the request in the messages.
func assertGraphError(t testing.TB, gr graphResp, status int, code, what string) bool {
	t.Helper()
	if !assert.Equal(t, status, gr.status, "%s: body %v", what, gr.body) {
		return false
	}
	return assert.Equal(t, code, graphErr(t, gr), "%s: error code", what)
}

// requireGraphError is assertGraphError that ends the test on a mismatch.
func requireGraphError(t testing.TB, gr graphResp, status int, code, what string) {
	t.Helper()
	require.Equal(t, status, gr.status, "%s: body %v", what, gr.body)
	require.Equal(t, code, graphErr(t, gr), "%s: error code", what)
}

func TestGraphAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	app := appToken(t, f, f.contoso.ID)
	user := userToken(t, f, "user00002@contoso.onmicrosoft.com", "User.Read")

	tests := []struct {
		name, method, path, token string
		status                    int
		code                      string
	}{
		{"no token", "GET", "/users", "", 401, "InvalidAuthenticationToken"},
		{"garbage token", "GET", "/users", "abc", 401, "InvalidAuthenticationToken"},
		{"tampered token", "GET", "/users", app[:len(app)-4] + "AAAA", 401, "InvalidAuthenticationToken"},
		{"user without User.Read.All", "GET", "/users", user, 403, "Authorization_RequestDenied"},
		{"app /me", "GET", "/me", app, 400, "BadRequest"},
		{"user call records", "GET", "/communications/callRecords/x", user, 403, "Authorization_RequestDenied"},
		{"unknown user", "GET", "/users/nobody@contoso.onmicrosoft.com", app, 404, "Request_ResourceNotFound"},
		{"unknown segment", "GET", "/groups", app, 400, "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gr := graphDo(t, f, tc.method, tc.path, tc.token, nil)
			assertGraphError(t, gr, tc.status, tc.code, tc.name)
			if tc.status == 401 {
				assert.NotEmpty(t, gr.header.Get("WWW-Authenticate"), "401 without WWW-Authenticate")
			}
		})
	}

	// Without $select Graph answers its default set (no city); with it,
	// exactly the selected properties.
	me := graphDo(t, f, "GET", "/me", user, nil)
	assert.Equal(t, 200, me.status, "/me: %v", me.body)
	assert.Equal(t, "user00002@contoso.onmicrosoft.com", me.body["userPrincipalName"], "/me")
	assert.NotContains(t, me.body, "city", "/me without $select")
	me = graphDo(t, f, "GET", "/me?$select=userPrincipalName,city", user, nil)
	assert.Equal(t, 200, me.status, "/me?$select=userPrincipalName,city: %v", me.body)
	assert.Equal(t, "Berlin", me.body["city"], "/me?$select=userPrincipalName,city")
	assert.NotContains(t, me.body, "id", "/me?$select=userPrincipalName,city")
	u := graphDo(t, f, "GET", "/users/user00003@contoso.onmicrosoft.com?$select=accountEnabled", app, nil)
	assert.Equal(t, 200, u.status, "/users/{upn}?$select=accountEnabled: %v", u.body)
	assert.Equal(t, true, u.body["accountEnabled"], "/users/{upn}?$select=accountEnabled")
	assert.Len(t, u.body, 2, "/users/{upn}?$select=accountEnabled")
	org := graphDo(t, f, "GET", "/organization", app, nil)
	v, _ := org.body["value"].([]any)
	if assert.Equal(t, 200, org.status, "/organization: %v", org.body) && assert.Len(t, v, 1, "/organization") {
		assert.Equal(t, f.contoso.ID, v[0].(map[string]any)["id"], "/organization id")
	}
	// The token expires with the server's clock.
	f.srv.Advance(5 * time.Minute)
	assertGraphError(t, graphDo(t, f, "GET", "/organization", app, nil), 401, "InvalidAuthenticationToken", "expired token")
}

func TestGraphUsersPaging(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50_000)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)

	next := "/users?$top=999&$select=id,userPrincipalName,usageLocation"
	seen := map[string]bool{}
	pages := 0
	for next != "" {
		gr := graphDo(t, f, "GET", next, tok, nil)
		require.Equal(t, 200, gr.status, "page %d: %v", pages, gr.body)
		for _, u := range gr.body["value"].([]any) {
			seen[u.(map[string]any)["userPrincipalName"].(string)] = true
		}
		next, _ = gr.body["@odata.nextLink"].(string)
		pages++
	}
	// Equal on the count, not Len: a failure would print 50,000 users.
	assert.Equal(t, 50_001, len(seen), "users (with the admin)")
	assert.Equal(t, 51, pages, "pages")
	assert.True(t, seen["user49999@contoso.onmicrosoft.com"], "missing the last user")
	assert.True(t, seen["admin@contoso.onmicrosoft.com"], "missing the admin")

	// Italy: 5,000 of the 50,000 generated users, with $count as an advanced query.
	q := "/users?" + url.Values{"$filter": {"usageLocation eq 'IT'"}, "$count": {"true"}, "$top": {"999"}}.Encode()
	gr := graphDo(t, f, "GET", q, tok, nil, "ConsistencyLevel", "eventual")
	assert.Equal(t, 200, gr.status, "Italy count")
	assert.Equal(t, float64(5000), gr.body["@odata.count"], "Italy count")
	// Advanced operators need the headers.
	q = "/users?" + url.Values{"$filter": {"usageLocation ne 'IT'"}}.Encode()
	assertGraphError(t, graphDo(t, f, "GET", q, tok, nil), 400, "Request_UnsupportedQuery", "ne without advanced query")
	for _, bad := range []string{"usageLocation eq", "((", "nosuch eq 'x'", "startsWith(displayName,", "'"} {
		q = "/users?" + url.Values{"$filter": {bad}}.Encode()
		gr := graphDo(t, f, "GET", q, tok, nil)
		assert.Equal(t, 400, gr.status, "filter %q: %v", bad, gr.body)
	}
	gr = graphDo(t, f, "GET", "/users?$top=1000", tok, nil)
	assert.Equal(t, 400, gr.status, "$top=1000")
}

func TestSendMail(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	msg := map[string]any{"message": map[string]any{"subject": "Invitation", "body": map[string]any{"contentType": "HTML", "content": "<p>Hi</p>"},
		"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": "it@customer.example"}}}}, "saveToSentItems": false}
	gr := graphDo(t, f, "POST", "/users/admin@contoso.onmicrosoft.com/sendMail", tok, msg)
	require.Equal(t, http.StatusAccepted, gr.status, "sendMail: %v", gr.body)
	sent := f.srv.SentMail()
	if assert.Len(t, sent, 1, "sent") {
		assert.Equal(t, "admin@contoso.onmicrosoft.com", sent[0].From, "sent from")
		assert.Equal(t, "Invitation", sent[0].Subject, "sent subject")
		assert.Equal(t, "html", sent[0].ContentType, "sent content type")
		assert.Equal(t, "<p>Hi</p>", sent[0].Body, "sent body")
		assert.Equal(t, []string{"it@customer.example"}, sent[0].To, "sent to")
		assert.False(t, sent[0].SaveToSentItems, "sent saveToSentItems")
		assert.Equal(t, f.contoso.ID, sent[0].Tenant, "sent tenant")
	}
	msg["message"].(map[string]any)["toRecipients"] = []any{}
	gr = graphDo(t, f, "POST", "/users/admin@contoso.onmicrosoft.com/sendMail", tok, msg)
	assertGraphError(t, gr, 400, "ErrorInvalidRecipients", "no recipients")
}

func TestSubscriptionsAndCallRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	var mu sync.Mutex
	var notes []map[string]any
	echo := true
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if v := r.URL.Query().Get("validationToken"); v != "" {
			if !echo {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, v)
			return
		}
		var n map[string]any
		_ = json.NewDecoder(r.Body).Decode(&n)
		notes = append(notes, n)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	exp := func(d time.Duration) string { return f.srv.Now().Add(d).UTC().Format(time.RFC3339) }
	sub := map[string]any{"changeType": "created", "notificationUrl": hook.URL + "/notify", "resource": "/communications/callRecords",
		"expirationDateTime": exp(4000 * time.Minute), "clientState": "secret-state"}
	gr := graphDo(t, f, "POST", "/subscriptions", tok, sub)
	require.Equal(t, http.StatusCreated, gr.status, "create: %v", gr.body)
	require.NotEmpty(t, gr.body["id"], "create: id")
	id := gr.body["id"].(string)

	sub["expirationDateTime"] = exp(4231 * time.Minute)
	gr = graphDo(t, f, "POST", "/subscriptions", tok, sub)
	assert.Equal(t, 400, gr.status, "4231 minutes: %v", gr.body)
	mu.Lock()
	echo = false
	mu.Unlock()
	sub["expirationDateTime"] = exp(time.Hour)
	gr = graphDo(t, f, "POST", "/subscriptions", tok, sub)
	assert.Equal(t, 400, gr.status, "failed validation: %v", gr.body)
	assert.Contains(t, fmt.Sprint(gr.body), "validation", "failed validation")
	gr = graphDo(t, f, "PATCH", "/subscriptions/"+id, tok, map[string]any{"expirationDateTime": exp(4200 * time.Minute)})
	assert.Equal(t, 200, gr.status, "renew: %v", gr.body)

	callID, err := f.srv.AddCallRecord(context.Background(), f.contoso.Domain(), m365test.CallRecord{
		Start: time.Now().Add(-time.Hour), End: time.Now(), Organizer: f.contoso.AdminUPN(),
		Participants: []string{"user00001@contoso.onmicrosoft.com"}, Modalities: []string{"audio", "video"}})
	require.NoError(t, err)
	mu.Lock()
	got := slices.Clone(notes) // checked outside the lock: a failure must not leave the hook blocked
	mu.Unlock()
	require.Len(t, got, 1, "notifications")
	n := got[0]["value"].([]any)[0].(map[string]any)
	assert.Equal(t, "secret-state", n["clientState"], "notification = %v", n)
	assert.Equal(t, id, n["subscriptionId"], "notification = %v", n)
	assert.Equal(t, "communications/callRecords/"+callID, n["resource"], "notification = %v", n)
	assert.Equal(t, f.contoso.ID, n["tenantId"], "notification = %v", n)
	rec := graphDo(t, f, "GET", "/communications/callRecords/"+callID, tok, nil)
	if assert.Equal(t, 200, rec.status, "call record: %v", rec.body) {
		assert.Equal(t, callID, rec.body["id"], "call record")
		assert.Len(t, rec.body["participants"].([]any), 1, "call record participants")
	}
	gr = graphDo(t, f, "DELETE", "/subscriptions/"+id, tok, nil)
	assert.Equal(t, http.StatusNoContent, gr.status, "delete")
	gr = graphDo(t, f, "GET", "/subscriptions/"+id, tok, nil)
	assert.Equal(t, 404, gr.status, "get deleted")
}

func TestFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	for _, tn := range []string{f.contoso.ID, f.fabrikam.ID} {
		require.NoError(t, f.srv.GrantAdminConsent(tn, f.provider.ClientID))
	}
	contoso, fabrikam := appToken(t, f, f.contoso.ID), appToken(t, f, f.fabrikam.ID)

	remove := f.srv.InjectFault(m365test.Fault{Tenant: f.contoso.Domain(), Endpoint: m365test.EndpointUsers, Status: 429, RetryAfter: 2 * time.Second})
	gr := graphDo(t, f, "GET", "/users", contoso, nil)
	assertGraphError(t, gr, 429, "TooManyRequests", "429")
	assert.Equal(t, "2", gr.header.Get("Retry-After"), "429: Retry-After")
	gr = graphDo(t, f, "GET", "/users", fabrikam, nil)
	assert.Equal(t, 200, gr.status, "other tenant affected")
	gr = graphDo(t, f, "GET", "/organization", contoso, nil)
	assert.Equal(t, 200, gr.status, "other endpoint affected")
	remove()
	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Status: 429, Times: 1})
	gr = graphDo(t, f, "GET", "/users", contoso, nil)
	assert.Equal(t, 429, gr.status, "429 without Retry-After")
	assert.Empty(t, gr.header.Get("Retry-After"), "429 without Retry-After")
	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Status: 503, Times: 1})
	assertGraphError(t, graphDo(t, f, "GET", "/users", contoso, nil), 503, "serviceNotAvailable", "503")
	gr = graphDo(t, f, "GET", "/users", contoso, nil)
	assert.Equal(t, 200, gr.status, "after Times ran out")
	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointToken, Status: 429, RetryAfter: time.Second, Times: 1})
	resp, err := f.srv.Client().PostForm(f.srv.AuthorityURL(f.contoso.ID)+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}})
	require.NoError(t, err)
	body := readAll(t, resp)
	assert.Equal(t, 429, resp.StatusCode, "token 429: %s", body)
	assert.Contains(t, body, `"error_codes":[90055]`, "token 429")
	assert.Equal(t, "1", resp.Header.Get("Retry-After"), "token 429: Retry-After")

	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointOrganization, Latency: 150 * time.Millisecond, Times: 1})
	start := time.Now()
	gr = graphDo(t, f, "GET", "/organization", contoso, nil)
	assert.Equal(t, 200, gr.status, "latency")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "latency")
	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointOrganization, Drop: true})
	req, _ := http.NewRequest("GET", f.srv.GraphURL()+"/organization", nil)
	req.Header.Set("Authorization", "Bearer "+contoso)
	if resp, err := f.srv.Client().Do(req); !assert.Error(t, err, "dropped connection answered") {
		resp.Body.Close()
	}
	f.srv.ClearFaults()
	assert.Equal(t, 2, f.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Tenant: f.contoso.ID, Status: 429}), "429s counted for Contoso users")
	for _, r := range f.srv.Requests() {
		assert.NotContains(t, r.Path, providerSecret, "secret in the request log")
	}
}

func TestConcurrentRequestsAndCounters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1000)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	f.srv.ResetLog()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				req, _ := http.NewRequest("GET", f.srv.GraphURL()+"/users?$top=50", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := f.srv.Client().Do(req)
				if !assert.NoError(t, err) { // not the test's goroutine: assert only
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 40, f.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Status: 200}), "count")
	assert.Len(t, f.srv.Requests(), 40, "log")
}
