package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/m365test"
)

// send makes a request with the bearer token tok ("" none) or the
// client's cookies, and returns the status and body.
func send(t *testing.T, c *http.Client, method, u, tok, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, rd)
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRolesOfAPITokens: named API tokens of each role on each class of
// route of the admin API and of the portal's own JSON routes; the audit
// names the token and keeps the request ID; revoked and expired tokens
// are refused; the store holds no token in clear.
func TestRolesOfAPITokens(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir(), "-demo-users", "10", "-demo-fleet-users", "5")
	ctx := t.Context()
	tokens := map[httpapi.Role]string{}
	for _, role := range httpapi.Roles {
		_, value, err := d.a.apiTokens.create(ctx, "script-"+string(role), role, time.Time{}, "test")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(value, apiTokenPrefix))
		tokens[role] = value
	}
	noClient := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// One route of each class; want is the least role.
	routes := []struct {
		name, method, path, body string
		want                     httpapi.Role
	}{
		{"read the fleet", "GET", "/api/customers", "", httpapi.RoleViewer},
		{"read settings", "GET", "/api/customers/contoso/m365", "", httpapi.RoleViewer},
		{"read the audit", "GET", "/api/audit", "", httpapi.RoleViewer},
		{"metrics", "GET", "/metrics", "", httpapi.RoleViewer},
		{"validate", "POST", "/api/customers/contoso/m365/validate", "", httpapi.RoleOperator},
		{"sync users", "POST", "/api/customers/nosuch/users/sync", "", httpapi.RoleOperator},
		{"send an invitation", "POST", "/api/customers/nosuch/m365/invitations", "{}", httpapi.RoleOperator},
		{"voice change", "PUT", "/api/customers/nosuch/users/user1@x.example/voice", "{}", httpapi.RoleOperator},
		{"demo outbox", "GET", "/dev/outbox", "", httpapi.RoleOperator},
		{"save settings", "PUT", "/api/customers/nosuch/m365", `{"authMode":"sideways"}`, httpapi.RoleAdmin},
		{"offboard", "DELETE", "/api/customers/nosuch", "", httpapi.RoleAdmin},
		{"create a customer", "POST", "/api/customers", `{}`, httpapi.RoleAdmin},
	}
	for _, rt := range routes {
		for _, role := range httpapi.Roles {
			t.Run(rt.name+" as "+string(role), func(t *testing.T) {
				status, body := send(t, noClient, rt.method, d.base+rt.path, tokens[role], rt.body)
				if role.AtLeast(rt.want) {
					assert.NotContains(t, []int{401, 403, 429}, status, body)
				} else {
					assert.Equal(t, http.StatusForbidden, status, body)
					assert.Contains(t, body, "forbidden")
				}
			})
		}
	}
	// The break-glass token may do everything; nobody else anything.
	status, _ := send(t, noClient, "DELETE", d.base+"/api/customers/nosuch2", d.token, "")
	assert.NotContains(t, []int{401, 403}, status)
	status, _ = send(t, noClient, "GET", d.base+"/api/customers", "tgk_000000000000_wrong", "")
	assert.Equal(t, http.StatusUnauthorized, status)

	// The audit names the token and keeps the request ID the client got.
	req, _ := http.NewRequestWithContext(ctx, "POST", d.base+"/api/customers/contoso/m365/validate", nil)
	req.Header.Set("Authorization", "Bearer "+tokens[httpapi.RoleOperator])
	req.Header.Set("X-Request-Id", "ops-run-42")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "ops-run-42", resp.Header.Get("X-Request-Id"))
	page, err := d.a.trail.List(ctx, audit.Query{Customer: "contoso", Limit: 50})
	require.NoError(t, err)
	entries := page.Entries
	var found, breakGlass bool
	for _, e := range entries {
		if e.RequestID == "ops-run-42" && e.Outcome != audit.Attempted {
			found = true
			assert.Equal(t, "API token script-operator", e.Actor)
			assert.Equal(t, "auth.validate", e.Action)
		}
	}
	assert.True(t, found, "the validation's audit entry")
	allPage, err := d.a.trail.List(ctx, audit.Query{Limit: 200})
	require.NoError(t, err)
	for _, e := range allPage.Entries {
		if e.Customer == "nosuch2" && e.Action == "customers.offboard" {
			breakGlass = true
			assert.Equal(t, "Provider admin (break-glass admin token)", e.Actor)
		}
	}
	assert.True(t, breakGlass, "break-glass use is audited as such")

	// Revoked: refused at once. Expired: refused.
	list, err := d.a.apiTokens.list(ctx)
	require.NoError(t, err)
	for _, tk := range list {
		if tk.Name == "script-viewer" {
			_, err := d.a.apiTokens.revoke(ctx, tk.ID)
			require.NoError(t, err)
		}
	}
	status, _ = send(t, noClient, "GET", d.base+"/api/customers", tokens[httpapi.RoleViewer], "")
	assert.Equal(t, http.StatusUnauthorized, status, "revoked")
	_, soon, err := d.a.apiTokens.create(ctx, "short-lived", httpapi.RoleViewer, time.Now().Add(2*time.Second), "test")
	require.NoError(t, err)
	status, _ = send(t, noClient, "GET", d.base+"/api/customers", soon, "")
	assert.Equal(t, http.StatusOK, status)
	d.a.auth.mu.Lock()
	d.a.auth.now = func() time.Time { return time.Now().Add(time.Minute) }
	d.a.auth.mu.Unlock()
	status, _ = send(t, noClient, "GET", d.base+"/api/customers", soon, "")
	assert.Equal(t, http.StatusUnauthorized, status, "expired")
	d.a.auth.mu.Lock()
	d.a.auth.now = time.Now
	d.a.auth.mu.Unlock()

	// No token value in the database, only hashes.
	rows, err := d.a.recordsDB.QueryContext(ctx, `SELECT name, hash FROM tenantgate_portal_api_tokens`)
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name, hash string
		require.NoError(t, rows.Scan(&name, &hash))
		for _, v := range tokens {
			assert.NotContains(t, hash, v[len(apiTokenPrefix):])
		}
		assert.Len(t, hash, 64)
		n++
	}
	assert.Equal(t, 4, n)
}

// signInClient is a browser stand-in: cookies, redirects followed.
func signInClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// TestTechnicianSignIn walks the OpenID Connect sign-in against the demo
// provider's tenant in the fake (which answers the authorize request as
// the technician): each role gets a session with that role on the pages
// and the API, the audit names the person; a technician without a role,
// a forged or replayed callback and a cancelled sign-in get no session;
// sessions end at sign-out, after the idle time and at the absolute
// lifetime.
func TestTechnicianSignIn(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir(), "-demo-users", "10", "-demo-fleet-users", "5")
	require.NotNil(t, d.a.signIn)
	fake := d.a.fake

	signIn := func(t *testing.T, upn string) (*http.Client, int, string) {
		fake.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{User: upn})
		c := signInClient(t)
		status, body := send(t, c, "GET", d.base+"/login/microsoft?next=/customers", "", "")
		return c, status, body
	}
	t.Cleanup(func() { fake.SetAuthorizeAnswer(nil) })

	for _, tech := range demoTechnicianList[:3] {
		t.Run(string(tech.Role), func(t *testing.T) {
			c, status, body := signIn(t, tech.UPN)
			require.Equal(t, http.StatusOK, status, body)
			assert.Contains(t, body, tech.Name+" · "+string(tech.Role))
			assert.Contains(t, body, tech.UPN+", role "+string(tech.Role))
			// The API with the session cookie (same-origin, as the pages'
			// scripts send it).
			for _, rt := range []struct {
				method, path string
				want         httpapi.Role
			}{
				{"GET", "/api/customers", httpapi.RoleViewer},
				{"POST", "/api/customers/contoso/m365/validate", httpapi.RoleOperator},
				{"PUT", "/api/customers/nosuch/m365", httpapi.RoleAdmin},
			} {
				status, body := send(t, c, rt.method, d.base+rt.path, "", `{"authMode":"sideways"}`)
				if tech.Role.AtLeast(rt.want) {
					assert.NotContains(t, []int{401, 403}, status, "%s %s: %s", rt.method, rt.path, body)
				} else {
					assert.Equal(t, http.StatusForbidden, status, "%s %s: %s", rt.method, rt.path, body)
				}
			}
			// The pages: the token page is for admins, the outbox for operators.
			status, body = send(t, c, "GET", d.base+"/tokens", "", "")
			if tech.Role == httpapi.RoleAdmin {
				assert.Equal(t, http.StatusOK, status)
			} else {
				assert.Equal(t, http.StatusForbidden, status)
				assert.Contains(t, body, "needs the admin role")
			}
			status, _ = send(t, c, "GET", d.base+"/outbox", "", "")
			assert.Equal(t, tech.Role.AtLeast(httpapi.RoleOperator), status == http.StatusOK, "outbox: %d", status)

			// Sign out ends the session.
			status, _ = send(t, c, "POST", d.base+"/logout", "", "")
			assert.Equal(t, http.StatusOK, status) // the login page after the redirect
			status, _ = send(t, c, "GET", d.base+"/api/customers", "", "")
			assert.Equal(t, http.StatusUnauthorized, status)
		})
	}

	// The audit names the person.
	page, err := d.a.trail.List(t.Context(), audit.Query{Customer: "contoso", Limit: 100})
	require.NoError(t, err)
	var named bool
	for _, e := range page.Entries {
		if e.Action == "auth.validate" && e.Actor == "Oscar Operator (oscar.operator@"+demoProviderDomain+")" {
			named = true
			assert.Regexp(t, `^[0-9a-f]{24}$`, e.RequestID)
		}
	}
	assert.True(t, named, "the operator's validation is audited with their name")

	// No role: refused with what to do.
	c, status, body := signIn(t, "nora.norole@"+demoProviderDomain)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, body, "has no role in this portal")
	status, _ = send(t, c, "GET", d.base+"/api/customers", "", "")
	assert.Equal(t, http.StatusUnauthorized, status)

	// Cancelled at Microsoft.
	fake.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{User: "vera.viewer@" + demoProviderDomain, ErrorCode: 50076})
	c = signInClient(t)
	status, body = send(t, c, "GET", d.base+"/login/microsoft", "", "")
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, body, "AADSTS50076")

	// A callback this browser did not start, or one replayed, is refused.
	fake.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{User: "ada.admin@" + demoProviderDomain})
	noFollow := signInClient(t)
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(d.base + "/login/microsoft")
	require.NoError(t, err)
	resp.Body.Close()
	authz := resp.Header.Get("Location")
	resp, err = noFollow.Get(authz)
	require.NoError(t, err)
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(callback, d.base+"/login/callback?"), callback)
	other := signInClient(t) // another browser: no binding cookie
	status, body = send(t, other, "GET", callback, "", "")
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, body, "not started here")
	status, _ = send(t, noFollow, "GET", callback, "", "") // the state was used up above
	assert.Equal(t, http.StatusForbidden, status)
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("state", "forged")
	status, _ = send(t, noFollow, "GET", d.base+"/login/callback?"+q.Encode(), "", "")
	assert.Equal(t, http.StatusForbidden, status)

	// Idle and absolute expiry (the session store's clock).
	c, status, _ = signIn(t, "vera.viewer@"+demoProviderDomain)
	require.Equal(t, http.StatusOK, status)
	start := time.Now()
	a := d.a.auth
	setNow := func(at time.Time) {
		a.mu.Lock()
		a.now = func() time.Time { return at }
		a.mu.Unlock()
	}
	t.Cleanup(func() {
		a.mu.Lock()
		a.now = time.Now
		a.mu.Unlock()
	})
	for i := 1; i <= 20; i++ { // a request every 25 minutes keeps it alive ...
		setNow(start.Add(time.Duration(i) * 25 * time.Minute))
		status, _ = send(t, c, "GET", d.base+"/api/customers", "", "")
		if start.Add(time.Duration(i) * 25 * time.Minute).Before(start.Add(sessionTTL)) {
			require.Equal(t, http.StatusOK, status, "after %d min", i*25)
		} else {
			assert.Equal(t, http.StatusUnauthorized, status, "past the absolute lifetime")
			break
		}
	}
	setNow(time.Now())
	c, status, _ = signIn(t, "vera.viewer@"+demoProviderDomain)
	require.Equal(t, http.StatusOK, status)
	setNow(time.Now().Add(sessionIdle + time.Second)) // ... 31 idle minutes end it
	status, _ = send(t, c, "GET", d.base+"/api/customers", "", "")
	assert.Equal(t, http.StatusUnauthorized, status, "idle")
}
