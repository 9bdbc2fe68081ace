package m365test_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	require.NotEqual(t, "", e["code"], "status %d: not a Graph error: %v", gr.status, gr.body)
	require.NotEqual(t, "", e["message"], "status %d: not a Graph error: %v", gr.status, gr.body)
	require.NotNil(t, inner, "status %d: not a Graph error: %v", gr.status, gr.body)
	require.NotEqual(t, "", inner["request-id"], "status %d: not a Graph error: %v", gr.status, gr.body)
	require.NotEqual(t, "", inner["date"], "status %d: not a Graph error: %v", gr.status, gr.body)
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
			if gr.status != tc.status || graphErr(t, gr) != tc.code {
				t.Errorf("status %d body %v; want %d %s", gr.status, gr.body, tc.status, tc.code)
			}
			if tc.status == 401 && gr.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}

	// Without $select Graph answers its default set (no city); with it,
	// exactly the selected properties.
	me := graphDo(t, f, "GET", "/me", user, nil)
	if _, hasCity := me.body["city"]; me.status != 200 || me.body["userPrincipalName"] != "user00002@contoso.onmicrosoft.com" || hasCity {
		t.Errorf("/me = %d %v", me.status, me.body)
	}
	me = graphDo(t, f, "GET", "/me?$select=userPrincipalName,city", user, nil)
	if _, hasID := me.body["id"]; me.status != 200 || me.body["city"] != "Berlin" || hasID {
		t.Errorf("/me?$select=userPrincipalName,city = %d %v", me.status, me.body)
	}
	if u := graphDo(t, f, "GET", "/users/user00003@contoso.onmicrosoft.com?$select=accountEnabled", app, nil); u.status != 200 || u.body["accountEnabled"] != true || len(u.body) != 2 {
		t.Errorf("/users/{upn}?$select=accountEnabled = %d %v", u.status, u.body)
	}
	org := graphDo(t, f, "GET", "/organization", app, nil)
	if v, _ := org.body["value"].([]any); org.status != 200 || len(v) != 1 || v[0].(map[string]any)["id"] != f.contoso.ID {
		t.Errorf("/organization = %d %v", org.status, org.body)
	}
	// The token expires with the server's clock.
	f.srv.Advance(5 * time.Minute)
	if gr := graphDo(t, f, "GET", "/organization", app, nil); gr.status != 401 || graphErr(t, gr) != "InvalidAuthenticationToken" {
		t.Errorf("expired token: %d %v", gr.status, gr.body)
	}
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
		if gr.status != 200 {
			t.Fatalf("page %d: %d %v", pages, gr.status, gr.body)
		}
		for _, u := range gr.body["value"].([]any) {
			seen[u.(map[string]any)["userPrincipalName"].(string)] = true
		}
		next, _ = gr.body["@odata.nextLink"].(string)
		pages++
	}
	if len(seen) != 50_001 || pages != 51 {
		t.Errorf("users = %d in %d pages, want 50001 (with the admin) in 51", len(seen), pages)
	}
	if !seen["user49999@contoso.onmicrosoft.com"] || !seen["admin@contoso.onmicrosoft.com"] {
		t.Error("missing first or last user")
	}

	// Italy: 5,000 of the 50,000 generated users, with $count as an advanced query.
	q := "/users?" + url.Values{"$filter": {"usageLocation eq 'IT'"}, "$count": {"true"}, "$top": {"999"}}.Encode()
	gr := graphDo(t, f, "GET", q, tok, nil, "ConsistencyLevel", "eventual")
	if gr.status != 200 || gr.body["@odata.count"] != float64(5000) {
		t.Errorf("Italy count: %d %v", gr.status, gr.body["@odata.count"])
	}
	// Advanced operators need the headers.
	q = "/users?" + url.Values{"$filter": {"usageLocation ne 'IT'"}}.Encode()
	if gr := graphDo(t, f, "GET", q, tok, nil); gr.status != 400 || graphErr(t, gr) != "Request_UnsupportedQuery" {
		t.Errorf("ne without advanced query: %d %v", gr.status, gr.body)
	}
	for _, bad := range []string{"usageLocation eq", "((", "nosuch eq 'x'", "startsWith(displayName,", "'"} {
		q = "/users?" + url.Values{"$filter": {bad}}.Encode()
		if gr := graphDo(t, f, "GET", q, tok, nil); gr.status != 400 {
			t.Errorf("filter %q: %d %v", bad, gr.status, gr.body)
		}
	}
	if gr := graphDo(t, f, "GET", "/users?$top=1000", tok, nil); gr.status != 400 {
		t.Errorf("$top=1000: %d", gr.status)
	}
}

func TestSendMail(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)
	msg := map[string]any{"message": map[string]any{"subject": "Invitation", "body": map[string]any{"contentType": "HTML", "content": "<p>Hi</p>"},
		"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": "it@customer.example"}}}}, "saveToSentItems": false}
	gr := graphDo(t, f, "POST", "/users/admin@contoso.onmicrosoft.com/sendMail", tok, msg)
	if gr.status != http.StatusAccepted {
		t.Fatalf("sendMail: %d %v", gr.status, gr.body)
	}
	sent := f.srv.SentMail()
	if len(sent) != 1 || sent[0].From != "admin@contoso.onmicrosoft.com" || sent[0].Subject != "Invitation" || sent[0].ContentType != "html" ||
		sent[0].Body != "<p>Hi</p>" || len(sent[0].To) != 1 || sent[0].To[0] != "it@customer.example" || sent[0].SaveToSentItems || sent[0].Tenant != f.contoso.ID {
		t.Errorf("sent = %+v", sent)
	}
	msg["message"].(map[string]any)["toRecipients"] = []any{}
	if gr := graphDo(t, f, "POST", "/users/admin@contoso.onmicrosoft.com/sendMail", tok, msg); gr.status != 400 || graphErr(t, gr) != "ErrorInvalidRecipients" {
		t.Errorf("no recipients: %d %v", gr.status, gr.body)
	}
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
	if gr.status != http.StatusCreated || gr.body["id"] == "" {
		t.Fatalf("create: %d %v", gr.status, gr.body)
	}
	id := gr.body["id"].(string)

	sub["expirationDateTime"] = exp(4231 * time.Minute)
	if gr := graphDo(t, f, "POST", "/subscriptions", tok, sub); gr.status != 400 {
		t.Errorf("4231 minutes: %d %v", gr.status, gr.body)
	}
	mu.Lock()
	echo = false
	mu.Unlock()
	sub["expirationDateTime"] = exp(time.Hour)
	if gr := graphDo(t, f, "POST", "/subscriptions", tok, sub); gr.status != 400 || !strings.Contains(fmt.Sprint(gr.body), "validation") {
		t.Errorf("failed validation: %d %v", gr.status, gr.body)
	}
	if gr := graphDo(t, f, "PATCH", "/subscriptions/"+id, tok, map[string]any{"expirationDateTime": exp(4200 * time.Minute)}); gr.status != 200 {
		t.Errorf("renew: %d %v", gr.status, gr.body)
	}

	callID, err := f.srv.AddCallRecord(context.Background(), f.contoso.Domain(), m365test.CallRecord{
		Start: time.Now().Add(-time.Hour), End: time.Now(), Organizer: f.contoso.AdminUPN(),
		Participants: []string{"user00001@contoso.onmicrosoft.com"}, Modalities: []string{"audio", "video"}})
	require.NoError(t, err)
	mu.Lock()
	if len(notes) != 1 {
		t.Fatalf("notifications = %v", notes)
	}
	n := notes[0]["value"].([]any)[0].(map[string]any)
	mu.Unlock()
	if n["clientState"] != "secret-state" || n["subscriptionId"] != id || n["resource"] != "communications/callRecords/"+callID || n["tenantId"] != f.contoso.ID {
		t.Errorf("notification = %v", n)
	}
	rec := graphDo(t, f, "GET", "/communications/callRecords/"+callID, tok, nil)
	if rec.status != 200 || rec.body["id"] != callID || len(rec.body["participants"].([]any)) != 1 {
		t.Errorf("call record: %d %v", rec.status, rec.body)
	}
	if gr := graphDo(t, f, "DELETE", "/subscriptions/"+id, tok, nil); gr.status != http.StatusNoContent {
		t.Errorf("delete: %d", gr.status)
	}
	if gr := graphDo(t, f, "GET", "/subscriptions/"+id, tok, nil); gr.status != 404 {
		t.Errorf("get deleted: %d", gr.status)
	}
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
	if gr.status != 429 || gr.header.Get("Retry-After") != "2" || graphErr(t, gr) != "TooManyRequests" {
		t.Errorf("429: %d %v %v", gr.status, gr.header, gr.body)
	}
	if gr := graphDo(t, f, "GET", "/users", fabrikam, nil); gr.status != 200 {
		t.Errorf("other tenant affected: %d", gr.status)
	}
	if gr := graphDo(t, f, "GET", "/organization", contoso, nil); gr.status != 200 {
		t.Errorf("other endpoint affected: %d", gr.status)
	}
	remove()
	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Status: 429, Times: 1})
	if gr := graphDo(t, f, "GET", "/users", contoso, nil); gr.status != 429 || gr.header.Get("Retry-After") != "" {
		t.Errorf("429 without Retry-After: %d %v", gr.status, gr.header)
	}
	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Status: 503, Times: 1})
	if gr := graphDo(t, f, "GET", "/users", contoso, nil); gr.status != 503 || graphErr(t, gr) != "serviceNotAvailable" {
		t.Errorf("503: %d", gr.status)
	}
	if gr := graphDo(t, f, "GET", "/users", contoso, nil); gr.status != 200 {
		t.Errorf("after Times ran out: %d", gr.status)
	}
	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointToken, Status: 429, RetryAfter: time.Second, Times: 1})
	resp, err := f.srv.Client().PostForm(f.srv.AuthorityURL(f.contoso.ID)+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}})
	require.NoError(t, err)
	if body := readAll(t, resp); resp.StatusCode != 429 || !strings.Contains(body, `"error_codes":[90055]`) || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("token 429: %d %s", resp.StatusCode, body)
	}

	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointOrganization, Latency: 150 * time.Millisecond, Times: 1})
	start := time.Now()
	if gr := graphDo(t, f, "GET", "/organization", contoso, nil); gr.status != 200 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("latency: %d after %v", gr.status, time.Since(start))
	}
	f.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointOrganization, Drop: true})
	req, _ := http.NewRequest("GET", f.srv.GraphURL()+"/organization", nil)
	req.Header.Set("Authorization", "Bearer "+contoso)
	if resp, err := f.srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("dropped connection answered %d", resp.StatusCode)
	}
	f.srv.ClearFaults()
	if n := f.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Tenant: f.contoso.ID, Status: 429}); n != 2 {
		t.Errorf("429s counted for Contoso users = %d, want 2", n)
	}
	for _, r := range f.srv.Requests() {
		if strings.Contains(r.Path, providerSecret) {
			t.Error("secret in the request log")
		}
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
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if n := f.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Status: 200}); n != 40 {
		t.Errorf("count = %d, want 40", n)
	}
	if n := len(f.srv.Requests()); n != 40 {
		t.Errorf("log = %d, want 40", n)
	}
}
