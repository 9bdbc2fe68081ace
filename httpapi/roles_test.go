package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roleAuthorizer admits the bearer tokens "viewer", "operator" and
// "admin" with that role, as a host's Authorizer built on Role does.
func roleAuthorizer() Authorizer {
	return AuthorizerFunc(func(_ context.Context, r *http.Request, _ string, op Operation) error {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return ErrUnauthenticated
		}
		role, err := ParseRole(tok)
		if err != nil {
			return ErrUnauthenticated
		}
		return CheckRole(role, op)
	})
}

func TestRoleAllows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		op                      Operation
		viewer, operator, admin bool
	}{
		{OpReadSettings, true, true, true},
		{OpListCustomers, true, true, true},
		{OpReadAudit, true, true, true},
		{OpReadEvents, true, true, true},
		{OpReadVoice, true, true, true},
		{OpValidate, false, true, true},
		{OpSync, false, true, true},
		{OpInvite, false, true, true},
		{OpWriteVoice, false, true, true},
		{OpValidateQoE, false, true, true},
		{OpWriteSettings, false, false, true},
		{OpWriteQoE, false, false, true},
		{OpSwitchMode, false, false, true},
		{OpOffboard, false, false, true},
		{OpReplayWebhook, false, true, true},
		{Operation("webhooks.endpoints.write"), false, false, true}, // unknown: admin only
	}
	for _, c := range cases {
		t.Run(string(c.op), func(t *testing.T) {
			assert.Equal(t, c.viewer, RoleViewer.Allows(c.op), "viewer")
			assert.Equal(t, c.operator, RoleOperator.Allows(c.op), "operator")
			assert.Equal(t, c.admin, RoleAdmin.Allows(c.op), "admin")
			assert.False(t, Role("").Allows(c.op), "no role")
			assert.False(t, Role("root").Allows(c.op), "not a role")
		})
	}
}

func TestParseAndHighestRole(t *testing.T) {
	t.Parallel()
	r, err := ParseRole(" Operator ")
	require.NoError(t, err)
	assert.Equal(t, RoleOperator, r)
	_, err = ParseRole("superuser")
	require.Error(t, err)
	for _, c := range []struct {
		in   []string
		want Role
		ok   bool
	}{
		{nil, "", false},
		{[]string{"Reader", "Task.Write"}, "", false},
		{[]string{"viewer"}, RoleViewer, true},
		{[]string{"viewer", "admin", "operator"}, RoleAdmin, true},
		{[]string{"operator", "junk"}, RoleOperator, true},
	} {
		got, ok := HighestRole(c.in)
		assert.Equal(t, c.want, got, "%v", c.in)
		assert.Equal(t, c.ok, ok, "%v", c.in)
	}
}

// TestRolesOnEveryRoute sends every admin route as each role: a role the
// route's operation needs more than answers 403 forbidden naming the
// role needed, and a refused change is audited as denied; an allowed
// role gets past the Authorizer (whatever the route answers then, for a
// customer that does not exist, it is no 401 or 403).
func TestRolesOnEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Authorizer = roleAuthorizer() })
	a, err := newAdmin(e.cfg)
	require.NoError(t, err)
	classes := map[Role]int{}
	for _, rt := range a.routes {
		need := RequiredRole(rt.op)
		classes[need]++
		path := strings.NewReplacer("{customer}", "nosuch", "{id}", "x1", "{user}", "user1@nosuch.example", "{profile}", "p1").Replace(rt.path)
		for _, role := range Roles {
			t.Run(string(role)+" "+rt.method+" "+rt.path, func(t *testing.T) {
				w := e.do(t, rt.method, path, string(role), "{}")
				if role.Allows(rt.op) {
					assert.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, w.Code, w.Body.String())
					return
				}
				p := problemOf(t, w, http.StatusForbidden)
				assert.Equal(t, codeForbidden, p.Code)
				assert.Contains(t, p.Detail, "needs the "+string(need)+" role; you have "+string(role))
			})
		}
	}
	// Every class of route exists: reads, the day's work, administration.
	for _, role := range Roles {
		assert.Positive(t, classes[role], "routes needing %s", role)
	}
	// No role: 401.
	problemOf(t, e.do(t, "GET", "/customers", "nobody", nil), http.StatusUnauthorized)
}
