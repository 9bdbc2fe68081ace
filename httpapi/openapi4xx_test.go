package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvery4xxIsDocumented: each route is sent the requests that earn a
// 4xx (no credentials, another customer's admin, an unknown query
// parameter, a bad page size or cursor, an unknown or invalid customer,
// a body of the wrong type, malformed, too large or with an unknown
// field) and every 4xx it answers is among the operation's documented
// responses.
func TestEvery4xxIsDocumented(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	a, err := newAdmin(e.cfg)
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(e.do(t, "GET", "/openapi.json", tokenAll, nil).Body.Bytes(), &doc))
	type probe struct {
		name, customer, query, ctype, tok string
		body                              string
	}
	huge := `{"tenant":"` + strings.Repeat("x", 2<<20) + `"}`
	probes := []probe{
		{name: "no credentials", customer: "a"},
		{name: "another customer's admin", customer: "a", tok: tokenB},
		{name: "unknown query parameter", customer: "a", tok: tokenAll, query: "bogus=1"},
		{name: "bad page size", customer: "a", tok: tokenAll, query: "limit=0"},
		{name: "forged cursor", customer: "a", tok: tokenAll, query: "after=forged"},
		{name: "unknown customer", customer: "nosuch", tok: tokenAll},
		{name: "invalid customer", customer: "_tenantgate.x", tok: tokenAll},
		{name: "text body", customer: "a", tok: tokenAll, ctype: "text/plain", body: "hello"},
		{name: "malformed body", customer: "a", tok: tokenAll, ctype: "application/json", body: "{"},
		{name: "unknown field", customer: "a", tok: tokenAll, ctype: "application/json", body: `{"color":"blue"}`},
		{name: "too large", customer: "a", tok: tokenAll, ctype: "application/json", body: huge},
	}
	answered := map[int]bool{}
	for _, rt := range a.routes {
		op := doc.Paths[rt.path][strings.ToLower(rt.method)]
		require.NotNil(t, op.Responses, rt.method+" "+rt.path)
		for _, p := range probes {
			path := strings.NewReplacer("{customer}", p.customer, "{id}", "x1", "{user}", "user00001@contoso.onmicrosoft.com",
				"{event}", "msg_none", "{endpoint}", "default").Replace(rt.path)
			if p.query != "" {
				path += "?" + p.query
			}
			var body *strings.Reader
			if p.body != "" {
				body = strings.NewReader(p.body)
			} else {
				body = strings.NewReader("")
			}
			r := httptest.NewRequest(rt.method, testPublic+path, body)
			if p.ctype != "" {
				r.Header.Set("Content-Type", p.ctype)
			}
			if p.tok != "" {
				r.Header.Set("Authorization", "Bearer "+p.tok)
			}
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code < 400 || w.Code >= 500 {
				continue
			}
			answered[w.Code] = true
			assert.Contains(t, op.Responses, itoa(w.Code), "%s %s (%s) answered %d: %s", rt.method, rt.path, p.name, w.Code, w.Body.String())
		}
	}
	got := slices.Sorted(func(yield func(int) bool) {
		for c := range answered {
			if !yield(c) {
				return
			}
		}
	})
	for _, want := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType} {
		assert.Contains(t, got, want, "the probes earn every kind of 4xx")
	}
}
