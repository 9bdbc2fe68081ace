package m365access

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
)

// RecordRefusal implements graphhttp.RefusalRecorder: Graph refused a
// request made with one of the customer's tokens (user sync, voice, any
// host code sending requests through tenantgate's Graph pipeline), and the
// customer's connection state follows what Graph said:
//
//   - a 403 to a read the connection needs (users, the organization, Teams
//     user configurations, the signed-in account) records
//     StateConsentRequired: the permissions are not granted, whatever a
//     token acquisition says;
//   - a 401 that a token renewed from Entra ID did not cure records
//     StateReauthorizationRequired.
//
// A 403 to anything else (an optional capability such as Teams Phone
// provisioning) leaves the state alone: Validate reports capabilities.
// Only a Validate whose checks all pass proves the connection again.
func (c *credential) RecordRefusal(ctx context.Context, r graphhttp.Refusal) {
	c.m.recordRefusal(ctx, c.customer, r)
}

// refusalRepeat is how long a refusal equal to the recorded one (same
// state, same Graph code) is not written again: a sync refused on every
// request writes the status once.
const refusalRepeat = time.Minute

func (m *Manager) recordRefusal(ctx context.Context, customer string, r graphhttp.Refusal) {
	area := graphArea(r.Path)
	op := "Graph " + r.Method + " " + area
	e := ParseGraphError(op, customer, r.Status, r.Header, r.Body)
	var state State
	switch {
	case r.Status == http.StatusUnauthorized:
		state = StateReauthorizationRequired
	case r.Status == http.StatusForbidden && requiredRead(r.Method, area):
		state = StateConsentRequired
		e.Action = ActionGrantConsent
	default:
		m.log.InfoContext(ctx, "m365access: Graph refused a request outside the connection's required permissions",
			"customer", customer, "op", op, "status", r.Status, "graphCode", e.GraphCode)
		return
	}
	if st, _, err := m.loadStatus(ctx, customer); err == nil && st.State == state && st.LastError != nil &&
		st.LastError.GraphCode == e.GraphCode && time.Since(st.LastError.At) < refusalRepeat {
		return
	}
	m.recordFailureState(ctx, customer, op, e, state)
}

// graphArea returns a Graph request path without its version segment and
// object IDs beyond the first: "/v1.0/users/abc/licenseDetails" ->
// "/users".
func graphArea(path string) string {
	p := path
	for _, v := range []string{"/v1.0/", "/beta/"} {
		if i := strings.Index(p, v); i >= 0 {
			p = p[i+len(v)-1:]
			break
		}
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "admin" && parts[1] == "teams":
		return "/" + strings.Join(parts[:3], "/")
	case len(parts) >= 1:
		return "/" + parts[0]
	}
	return p
}

// requiredRead reports whether a request reads what every connection
// needs (DefaultAppPermissions, the delegated scopes): a refusal of it
// means the connection's permissions are not granted.
func requiredRead(method, area string) bool {
	if method != http.MethodGet {
		return false
	}
	switch strings.ToLower(area) {
	case "/users", "/organization", "/me", "/admin/teams/userconfigurations":
		return true
	}
	return false
}
