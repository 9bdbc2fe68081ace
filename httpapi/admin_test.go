package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

func TestNewRefusesIncompleteConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	good := e.cfg
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
		deps func(*deps) // substitutes the Manager or the invite Service
	}{
		{"no authorizer", func(c *Config) { c.Authorizer = nil }, "no Authorizer", nil},
		{"no access", func(c *Config) { c.Access = nil }, "Access", nil},
		{"no invitations", func(c *Config) { c.Invitations = nil }, "Invitations", nil},
		{"no store", func(c *Config) { c.Store = nil }, "Store", nil},
		{"nil AuthorizerFunc authorizer", func(c *Config) { c.Authorizer = AuthorizerFunc(nil) }, "no Authorizer", nil},
		{"nil *sqlsink.Sink", func(c *Config) { c.Users = (*sqlsink.Sink)(nil) }, "the Users field holds a nil pointer", nil},
		{"nil *audit.Log", func(c *Config) { c.Audit = (*audit.Log)(nil) }, "the Audit field holds a nil pointer", nil},
		{"nil *events.Bus", func(c *Config) { c.Events = (*events.Bus)(nil) }, "the Events field holds a nil pointer", nil},
		{"no public URL", nil, "set m365access.ProviderConfig.PublicBaseURL", func(d *deps) { d.access = urlsAccess{d.access, m365access.PublicURLs{}} }},
		{"relative public URL", nil, `"/m365" must be an absolute http(s) URL`, func(d *deps) {
			d.access = urlsAccess{d.access, m365access.PublicURLs{BaseURL: "/m365", RedirectURI: "/m365/auth/callback", ConsentRedirectURI: "/m365/consent/callback"}}
		}},
		{"invite base differs", nil, `PublicBaseURL "https://other.example/m365" differs from the Manager's ProviderConfig.PublicBaseURL "https://portal.example/m365"`,
			func(d *deps) { d.invitations = baseInvites{d.invitations, "https://other.example/m365"} }},
		{"redirect URI elsewhere", nil, `RedirectURI "https://portal.example/cb" is not where the wizard serves it, "https://portal.example/m365/auth/callback"`, func(d *deps) {
			d.access = urlsAccess{d.access, m365access.PublicURLs{BaseURL: testPublic, RedirectURI: "https://portal.example/cb", ConsentRedirectURI: testPublic + "/consent/callback"}}
		}},
		{"consent redirect URI elsewhere", nil, `ConsentRedirectURI "https://portal.example/consent" is not where the wizard serves it, "https://portal.example/m365/consent/callback"`, func(d *deps) {
			d.access = urlsAccess{d.access, m365access.PublicURLs{BaseURL: testPublic, RedirectURI: testPublic + "/auth/callback", ConsentRedirectURI: "https://portal.example/consent"}}
		}},
		{"bad sign-in origin", func(c *Config) { c.SignInOrigins = []string{"login.example"} }, "SignInOrigins", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			if tc.deps != nil {
				d := depsOf(cfg)
				tc.deps(&d)
				for _, admin := range []bool{false, true} {
					c, err := cfg.checkWith(admin, d)
					assert.Nil(t, c)
					require.Error(t, err)
					assert.Contains(t, err.Error(), tc.want, "admin %v", admin)
				}
				return
			}
			tc.mod(&cfg)
			for name, newFn := range map[string]func(Config) (*Handler, error){"New": New, "NewAdmin": NewAdmin, "NewWizard": NewWizard} {
				if strings.Contains(tc.name, "authorizer") && name == "NewWizard" {
					continue // the wizard needs no Authorizer
				}
				h, err := newFn(cfg)
				assert.ErrorContains(t, err, tc.want, name)
				assert.Nil(t, h, name)
			}
		})
	}
	// The wizard alone needs no authorizer; the admin API does.
	cfg := good
	cfg.Authorizer = nil
	_, err := NewWizard(cfg)
	assert.NoError(t, err, "NewWizard without authorizer")
	_, err = NewAdmin(cfg)
	assert.Error(t, err, "NewAdmin without authorizer")
	// A trailing slash on either side is no disagreement.
	d := depsOf(good)
	d.invitations = baseInvites{d.invitations, testPublic + "/"}
	_, err = good.checkWith(true, d)
	assert.NoError(t, err, "invite base with trailing slash")
}

// urlsAccess is a Manager reporting other public URLs.
type urlsAccess struct {
	accessAPI
	urls m365access.PublicURLs
}

func (a urlsAccess) PublicURLs() m365access.PublicURLs { return a.urls }

// baseInvites is an invite Service reporting another base URL.
type baseInvites struct {
	invitationsAPI
	base string
}

func (b baseInvites) PublicBaseURL() string { return b.base }

// routeCases are concrete requests for every admin route.
func routeCases(a *admin) []struct{ method, path, pattern string } {
	var out []struct{ method, path, pattern string }
	for _, rt := range a.routes {
		p := strings.NewReplacer("{customer}", "a", "{id}", "x1").Replace(rt.path)
		out = append(out, struct{ method, path, pattern string }{rt.method, p, rt.method + " " + rt.path})
	}
	return out
}

func TestEveryRouteAsksTheAuthorizer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	a, err := newAdmin(e.cfg)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(a.routes), 16, "routes")
	for _, rc := range routeCases(a) {
		t.Run(rc.pattern, func(t *testing.T) {
			// No credentials: 401. Another customer's admin: 403 (the
			// OpenAPI document belongs to no customer, so it is allowed).
			w := e.do(t, rc.method, rc.path, "", "{}")
			p := problemOf(t, w, http.StatusUnauthorized)
			assert.Equal(t, codeUnauthenticated, p.Code, "code")
			switch {
			case listingRoute(rc.pattern):
				// Listings of every customer are filtered to the
				// customers the Authorizer allows: none of a's items.
				w = e.do(t, rc.method, rc.path, tokenB, "{}")
				assert.Equal(t, http.StatusOK, w.Code, "listing for another customer's admin: %s", w.Body)
				assert.NotContains(t, w.Body.String(), `"customer":"a"`, "listing for another customer's admin")
			case rc.path != "/openapi.json":
				w = e.do(t, rc.method, rc.path, tokenB, "{}")
				assert.Equal(t, codeForbidden, problemOf(t, w, http.StatusForbidden).Code, "code")
			}
		})
	}
	// The denied requests changed nothing: still one settings version, no
	// invitation, no sync run.
	s := decode[settingsJSON](t, e.do(t, "GET", "/customers/a/m365", tokenA, nil), 200)
	assert.Equal(t, int64(1), s.Version, "settings version after denied writes")
	list, _ := e.inv.List(context.Background(), "a")
	assert.Empty(t, list, "invitations after denied requests")
	_, ok, _ := e.fleet.LatestSync(context.Background(), "a")
	assert.False(t, ok, "a sync run was recorded after a denied request")

	// The zero value of every authorizer decision: an authorizer that
	// denies everything denies every route with 403.
	cfg := e.cfg
	cfg.Authorizer = AuthorizerFunc(func(context.Context, *http.Request, string, Operation) error { return context.Canceled })
	h, err := NewAdmin(cfg)
	require.NoError(t, err)
	for _, rc := range routeCases(a) {
		r := httptest.NewRequest(rc.method, rc.path, strings.NewReader("{}"))
		r.Header.Set("Authorization", "Bearer "+tokenAll)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		want := http.StatusForbidden
		if listingRoute(rc.pattern) {
			want = http.StatusOK // filtered to nothing
		}
		assert.Equal(t, want, w.Code, "%s: status", rc.pattern)
		assert.NotContains(t, w.Body.String(), `"customer":"a"`, "%s: want no item", rc.pattern)
	}
}

// listingRoute reports the listings of every customer, which a refusal of
// customer "" filters instead of refusing.
func listingRoute(pattern string) bool {
	return pattern == "GET /customers" || pattern == "GET /audit" || pattern == "GET /webhooks/deliveries" || pattern == "GET /events" || pattern == "GET /voice"
}

func TestAuthorizerSeesCustomerAndAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	type call struct {
		customer string
		op       Operation
	}
	var got []call
	cfg := e.cfg
	cfg.Authorizer = AuthorizerFunc(func(_ context.Context, _ *http.Request, customer string, op Operation) error {
		got = append(got, call{customer, op})
		return ErrUnauthenticated
	})
	a, err := newAdmin(cfg)
	require.NoError(t, err)
	for _, rc := range routeCases(a) {
		got = nil
		a.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(rc.method, rc.path, nil))
		var want Operation
		for _, rt := range a.routes {
			if rt.method+" "+rt.path == rc.pattern {
				want = rt.op
			}
		}
		wantCustomer := "a"
		if rc.path == "/openapi.json" || rc.path == "/customers" || rc.path == "/audit" || rc.path == "/webhooks/deliveries" || rc.path == "/events" || rc.path == "/voice" {
			wantCustomer = ""
		}
		assert.Equal(t, []call{{wantCustomer, want}}, got, "%s: authorizer calls", rc.pattern)
	}
}

func TestCrossCustomerIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	e.saveToken(t, "b", e.fabrikam)
	invA := decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)

	// Customer b's admin, through b's routes, cannot see or revoke a's
	// invitation.
	w := e.do(t, "DELETE", "/customers/b/m365/invitations/"+invA.ID, tokenB, nil)
	assert.Equal(t, codeNotFound, problemOf(t, w, http.StatusNotFound).Code, "code")
	listB := decode[struct{ Invitations []invitationJSON }](t, e.do(t, "GET", "/customers/b/m365/invitations", tokenB, nil), 200)
	for _, inv := range listB.Invitations {
		assert.NotEqual(t, invA.ID, inv.ID, "a's invitation listed for b")
	}
	// Not even with an admin of every customer.
	w = e.do(t, "DELETE", "/customers/b/m365/invitations/"+invA.ID, tokenAll, nil)
	problemOf(t, w, http.StatusNotFound)
	got, err := e.inv.Get(context.Background(), "a", invA.ID)
	if assert.NoError(t, err, "a's invitation after b's revoke") {
		assert.Equal(t, "pending", string(got.Status), "a's invitation after b's revoke")
	}
	// b's settings are b's.
	sb := decode[settingsJSON](t, e.do(t, "GET", "/customers/b/m365", tokenB, nil), 200)
	assert.Equal(t, e.fabrikam.Domain(), sb.Tenant, "b's settings: %+v", sb)
	assert.Equal(t, "b", sb.Customer, "b's settings: %+v", sb)
	// a's admin revokes a's invitation through a's route.
	w = e.do(t, "DELETE", "/customers/a/m365/invitations/"+invA.ID, tokenA, nil)
	assert.Equal(t, "revoked", decode[invitationJSON](t, w, 200).Status, "status after revoke")
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "b", e.fabrikam)
	big := `{"tenant":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	for _, tc := range []struct {
		name, method, path, body, ctype string
		status                          int
		code                            string
	}{
		{"malformed", "PUT", "/customers/a/m365", `{"tenant":`, "application/json", 400, "malformed_json"},
		{"unknown field", "PUT", "/customers/a/m365", `{"tenant":"contoso.com","color":"blue"}`, "application/json", 400, "malformed_json"},
		{"wrong type", "PUT", "/customers/a/m365", `{"tenant":42}`, "application/json", 400, "invalid_field"},
		{"trailing data", "PUT", "/customers/a/m365", `{"tenant":"contoso.com"} {}`, "application/json", 400, "malformed_json"},
		{"empty body", "PUT", "/customers/a/m365", ``, "application/json", 400, "empty_body"},
		{"oversized", "PUT", "/customers/a/m365", big, "application/json", 413, "body_too_large"},
		{"form body", "PUT", "/customers/b/m365/qoe", `appId=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"body where none is taken", "POST", "/customers/b/m365/validate", `{"x":1}`, "application/json", 400, "malformed_json"},
		{"bad If-Match", "PUT", "/customers/a/m365", `{}`, "application/json", 400, codeBadQuery},
		{"bad limit", "GET", "/customers/b/users?limit=0", ``, "", 400, codeBadQuery},
		{"bad cursor", "GET", "/customers/b/users?after=nonsense", ``, "", 400, codeBadCursor},
		{"unknown route", "GET", "/customers/a/m365/nope", ``, "", 404, codeNotFound},
		{"wrong method", "PATCH", "/customers/a/m365", `{}`, "application/json", 405, codeMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, testPublic+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			if tc.name == "bad If-Match" {
				r.Header.Set("If-Match", "*")
			}
			r.Header.Set("Authorization", "Bearer "+tokenAll)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			p := problemOf(t, w, tc.status)
			assert.Equal(t, tc.code, p.Code, "code (%s)", p.Detail)
			if tc.status == 405 {
				assert.NotEmpty(t, w.Header().Get("Allow"), "405 without Allow")
			}
		})
	}
	// Nothing was stored by any of them: the customer still does not exist.
	problemOf(t, e.do(t, "GET", "/customers/a/m365", tokenAll, nil), http.StatusNotFound)
	problemOf(t, e.do(t, "GET", "/customers/a", tokenAll, nil), http.StatusNotFound)
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"bad filter", map[string]any{"tenant": "contoso.onmicrosoft.com", "userFilter": "UsageLocation -eq"}, []string{"userFilter"}},
		{"unknown filter attribute", map[string]any{"tenant": "contoso.onmicrosoft.com", "userFilter": "Shoesize -eq '42'"}, []string{"userFilter"}},
		{"bad tenant and mode", map[string]any{"tenant": "not a tenant!", "authMode": "magic"}, []string{"tenant", "authMode"}},
		{"app registration without client", map[string]any{"tenant": "contoso.onmicrosoft.com", "authMode": "appRegistration"}, []string{"clientId"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := problemOf(t, e.do(t, "PUT", "/customers/a/m365", tokenA, tc.body), http.StatusUnprocessableEntity)
			assert.Equal(t, codeValidation, p.Code, "code")
			for _, f := range tc.fields {
				found := false
				for _, fe := range p.Fields {
					if fe.Field == f && fe.Message != "" && fe.Code != "" {
						found = true
					}
				}
				assert.True(t, found, "no field error (with a message and a code) for %s in %+v", f, p.Fields)
			}
		})
	}
	// A refused save writes nothing: no settings, no fleet record.
	problemOf(t, e.do(t, "GET", "/customers/a/m365", tokenA, nil), http.StatusNotFound)
	problemOf(t, e.do(t, "GET", "/customers/a", tokenA, nil), http.StatusNotFound)
	page := decode[customerPageJSON](t, e.do(t, "GET", "/customers", tokenAll, nil), http.StatusOK)
	assert.Empty(t, page.Customers, "a refused save enrolled the customer")
	// An invitation to an invalid address names "to".
	e.saveToken(t, "a", e.contoso)
	p := problemOf(t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{"to": "not an address\r\nBcc: x@evil.example"}), 422)
	if assert.NotEmpty(t, p.Fields, "invitation field errors") {
		assert.Equal(t, "to", p.Fields[0].Field, "invitation field errors %+v", p.Fields)
	}
}

func TestSecretsAreWriteOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const secret = "Sup3r-Secret-Client-Value~0123456789"
	const qoeSecret = "QoE-Secret-Value~9876543210abcdef"
	const password = "Legacy-Passw0rd-Value!"
	w := e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]any{
		"tenant": e.contoso.Domain(), "authMode": "appRegistration", "serviceAccount": e.contoso.AdminUPN(),
		"clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": secret, "password": password,
	})
	s := decode[settingsJSON](t, w, 200)
	assert.True(t, s.ClientSecretSet, "client secret not reported set: %+v", s)
	assert.True(t, s.PasswordSet, "password not reported set: %+v", s)
	bodies := []string{w.Body.String()}
	w = e.do(t, "PUT", "/customers/a/m365/qoe", tokenA, map[string]any{"appId": "22222222-2222-3333-4444-555555555555", "clientSecret": qoeSecret})
	q := decode[qoeJSON](t, w, 200)
	assert.True(t, q.ClientSecretSet, "QoE secret not reported set: %+v", q)
	bodies = append(bodies, w.Body.String())
	for _, path := range []string{"/customers/a/m365", "/customers/a/m365/qoe", "/customers/a/m365/status"} {
		bodies = append(bodies, e.do(t, "GET", path, tokenA, nil).Body.String())
	}
	bodies = append(bodies, e.do(t, "POST", "/customers/a/m365/validate", tokenA, nil).Body.String())
	for _, b := range append(bodies, e.logs.String()) {
		for _, sec := range []string{secret, qoeSecret, password} {
			assert.False(t, strings.Contains(b, sec), "secret %q appears in %s", sec[:6], b)
		}
	}
}

func TestOpenAPIMatchesMux(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	doc := decode[struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}](t, e.do(t, "GET", "/openapi.json", tokenA, nil), 200)
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3."), "openapi %q", doc.OpenAPI)
	a, err := newAdmin(e.cfg)
	require.NoError(t, err)
	// Every documented operation is served by the mux under exactly that
	// pattern ...
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			pattern := strings.ToUpper(method) + " " + path
			documented[pattern] = true
			concrete := strings.NewReplacer("{customer}", "c1", "{id}", "i1", "{user}", "u1", "{event}", "e1", "{endpoint}", "p1", "{profile}", "p1").Replace(path)
			_, got := a.mux.Handler(httptest.NewRequest(strings.ToUpper(method), concrete, nil))
			assert.Equal(t, pattern, got, "the mux pattern serving documented %s", pattern)
			id, _ := op["operationId"].(string)
			assert.NotEmpty(t, id, "%s: an operation without an operationId: %v", pattern, op)
			assert.NotNil(t, op["responses"], "%s: incomplete operation %v", pattern, op)
		}
	}
	// ... and every route the mux serves is documented: probe each method
	// on each documented path and on the paths of the design's table.
	probe := []string{"/customers/c1/m365", "/customers/c1/m365/validate", "/customers/c1/m365/invitations",
		"/customers/c1/m365/invitations/i1", "/customers/c1/m365/refresh-token", "/customers/c1/m365/switch-to-token",
		"/customers/c1/m365/consent", "/customers/c1/m365/status", "/customers/c1/m365/qoe", "/customers/c1/users/sync",
		"/customers/c1/users", "/customers/c1/users/scope-preview", "/openapi.json", "/customers", "/customers/c1", "/customers/c1/m365/invitations/i1/x",
		"/customers/c1/qoe/summary", "/customers/c1/qoe/calls", "/customers/c1/qoe/pstn", "/customers/c1/m365/qoe/validate",
		"/audit", "/customers/c1/audit", "/customers/c1/audit/verify", "/customers/c1/events", "/webhooks/deliveries", "/events",
		"/customers/c1/webhooks/deliveries/e1/p1/replay",
		"/customers/c1/voice/numbers", "/customers/c1/voice/numbers/refresh", "/customers/c1/voice/ranges", "/customers/c1/users/u1/voice",
		"/customers/c1/voice/operations", "/customers/c1/voice/operations/i1", "/customers/c1/voice/operations/i1/cancel",
		"/customers/c1/voice/profiles", "/customers/c1/voice/profiles/p1", "/customers/c1/voice/plans", "/customers/c1/voice/plans/i1", "/customers/c1/voice/plans/i1/apply",
		"/voice"}
	served := 0
	for _, p := range probe {
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			_, pattern := a.mux.Handler(httptest.NewRequest(m, p, nil))
			if pattern == "" || pattern == "/" {
				continue
			}
			key := pattern // HEAD is served by GET patterns
			assert.True(t, documented[key], "%s %s is served by %s, which the document lacks", m, p, pattern)
			if m != "HEAD" {
				served++
			}
		}
	}
	assert.Equal(t, len(documented), served, "operations the mux serves against those the document has")
	// The document is valid JSON with schemas for every $ref.
	raw := e.do(t, "GET", "/openapi.json", tokenA, nil).Body.String()
	var full map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &full))
	for _, part := range strings.Split(raw, `"$ref":"#/components/schemas/`)[1:] {
		name := part[:strings.IndexByte(part, '"')]
		assert.Contains(t, schemas, name, "$ref to missing schema")
	}
}

func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := httptest.NewRequest("PUT", testPublic+"/customers/a/m365", strings.NewReader(`{"tenant":"contoso.onmicrosoft.com"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tokenA)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	assert.Equal(t, codeCrossOrigin, problemOf(t, w, http.StatusForbidden).Code, "code")
	// The same request from the same origin passes.
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Body = http.NoBody
	w = e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]string{"tenant": "contoso.onmicrosoft.com"})
	decode[settingsJSON](t, w, 200)
}
