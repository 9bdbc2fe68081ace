package m365test

import (
	"fmt"
	"strings"
	"time"
)

// grant is the consent state of one app in one tenant: its service
// principal exists once a grant exists.
type grant struct {
	admin    bool                       // admin consent given
	scopes   map[string]bool            // delegated scopes consented for all users (lower-case)
	roles    map[string]time.Time       // application permissions (lower-case) -> when granted
	users    map[string]map[string]bool // user oid -> delegated scopes the user consented to
	original map[string]string          // lower-case -> canonical spelling
}

func newGrant() *grant {
	return &grant{scopes: map[string]bool{}, roles: map[string]time.Time{}, users: map[string]map[string]bool{}, original: map[string]string{}}
}

// adminOnlyScopes are the delegated Graph permissions only an admin can
// consent to.
var adminOnlyScopes = map[string]bool{
	"user.read.all": true, "user.readwrite.all": true, "directory.read.all": true,
	"directory.readwrite.all": true, "group.read.all": true, "group.readwrite.all": true,
	"auditlog.read.all": true, "callrecords.read.all": true, "organization.read.all": true,
	"teamsuserconfiguration.read.all": true,
}

// servicePrincipalLocked reports whether app has a service principal in t.
func (s *Server) servicePrincipalLocked(t *Tenant, a *App) bool {
	return a.homeTenant == t.ID || t.grants[a.ClientID] != nil
}

// grantAdminLocked records admin consent of app in t for the given
// delegated scopes and app roles, granted at the server's current time:
// app-only tokens carry the new roles once the replication delay passed.
func (s *Server) grantAdminLocked(t *Tenant, a *App, scopes, roles []string) {
	s.grantAdminAtLocked(t, a, scopes, roles, s.nowLocked())
}

// grantAdminAtLocked is grantAdminLocked with the grant time given. A role
// granted before keeps its original time.
func (s *Server) grantAdminAtLocked(t *Tenant, a *App, scopes, roles []string, at time.Time) {
	g := t.grants[a.ClientID]
	if g == nil {
		g = newGrant()
		t.grants[a.ClientID] = g
	}
	g.admin = true
	for _, sc := range scopes {
		g.scopes[strings.ToLower(sc)] = true
		g.original[strings.ToLower(sc)] = sc
	}
	for _, r := range roles {
		k := strings.ToLower(r)
		if old, ok := g.roles[k]; !ok || at.Before(old) {
			g.roles[k] = at
		}
		g.original[k] = r
	}
}

// grantUserLocked records a user's own consent for delegated scopes.
func (s *Server) grantUserLocked(t *Tenant, a *App, oid string, scopes []string) {
	g := t.grants[a.ClientID]
	if g == nil {
		g = newGrant()
		t.grants[a.ClientID] = g
	}
	m := g.users[oid]
	if m == nil {
		m = map[string]bool{}
		g.users[oid] = m
	}
	for _, sc := range scopes {
		m[strings.ToLower(sc)] = true
		g.original[strings.ToLower(sc)] = sc
	}
}

// consentedLocked returns the scopes among want that are not granted to
// user oid (the missing ones).
func (s *Server) missingConsentLocked(t *Tenant, a *App, oid string, want []string) []string {
	g := t.grants[a.ClientID]
	var missing []string
	for _, sc := range want {
		k := strings.ToLower(sc)
		if g != nil && (g.scopes[k] || g.users[oid][k]) {
			continue
		}
		missing = append(missing, sc)
	}
	return missing
}

// delegatedGrantedLocked returns every delegated scope user oid holds.
func (s *Server) delegatedGrantedLocked(t *Tenant, a *App, oid string) []string {
	g := t.grants[a.ClientID]
	if g == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for k := range g.scopes {
		seen[k] = true
		out = append(out, g.original[k])
	}
	for k := range g.users[oid] {
		if !seen[k] {
			out = append(out, g.original[k])
		}
	}
	return out
}

// rolesLocked returns the app roles granted to app in t, as an app-only
// token issued now carries them: a role granted less than
// Options.ConsentReplicationDelay ago is not in it yet.
func (s *Server) rolesLocked(t *Tenant, a *App) []string {
	g := t.grants[a.ClientID]
	if g == nil {
		return nil
	}
	now := s.nowLocked()
	out := make([]string, 0, len(g.roles))
	for k, at := range g.roles {
		if now.Sub(at) < s.opts.ConsentReplicationDelay {
			continue
		}
		out = append(out, g.original[k])
	}
	return out
}

// GrantAdminConsent records admin consent of the app clientID in the
// tenant for all its required permissions, as if the tenant's Global Admin
// had accepted the admin consent page long enough ago for the grant to
// have replicated: app-only tokens carry the roles at once. Consent given
// through the admin consent page, the sign-in page or
// [Server.GrantAdminConsentNow] waits Options.ConsentReplicationDelay.
func (s *Server) GrantAdminConsent(tenant, clientID string) error {
	return s.grantAdminConsent(tenant, clientID, false)
}

// GrantAdminConsentNow records admin consent of the app clientID in the
// tenant at the server's current time, as the admin consent page does:
// app-only tokens lack the new roles until Options.ConsentReplicationDelay
// has passed.
func (s *Server) GrantAdminConsentNow(tenant, clientID string) error {
	return s.grantAdminConsent(tenant, clientID, true)
}

func (s *Server) grantAdminConsent(tenant, clientID string, now bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: GrantAdminConsent: unknown tenant %q", tenant)
	}
	a := s.apps[strings.ToLower(clientID)]
	if a == nil {
		return fmt.Errorf("m365test: GrantAdminConsent: unknown app %q", clientID)
	}
	at := s.nowLocked()
	if !now {
		at = at.Add(-s.opts.ConsentReplicationDelay)
	}
	s.grantAdminAtLocked(t, a, a.delegated, a.appRoles, at)
	return nil
}

// WithdrawConsent removes every consent (admin and user) of the app
// clientID in the tenant and its service principal, as deleting the
// enterprise application does: refresh fails with AADSTS65001 and app-only
// tokens with AADSTS700016.
func (s *Server) WithdrawConsent(tenant, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: WithdrawConsent: unknown tenant %q", tenant)
	}
	delete(t.grants, strings.ToLower(clientID))
	return nil
}

// Consent describes the consent state of one app in one tenant.
type Consent struct {
	// Admin reports whether an admin consented for the organisation.
	Admin bool
	// Scopes are the delegated scopes consented for all users.
	Scopes []string
	// Roles are the application permissions granted, replicated or not.
	Roles []string
	// Propagating are the granted roles app-only tokens do not carry yet
	// (granted less than Options.ConsentReplicationDelay ago).
	Propagating []string
	// Users is the number of users who consented for themselves.
	Users int
}

// Consent returns the consent state of the app clientID in the tenant; ok
// is false when there is none.
func (s *Server) Consent(tenant, clientID string) (c Consent, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return Consent{}, false
	}
	g := t.grants[strings.ToLower(clientID)]
	if g == nil {
		return Consent{}, false
	}
	c.Admin = g.admin
	for k := range g.scopes {
		c.Scopes = append(c.Scopes, g.original[k])
	}
	now := s.nowLocked()
	for k, at := range g.roles {
		c.Roles = append(c.Roles, g.original[k])
		if now.Sub(at) < s.opts.ConsentReplicationDelay {
			c.Propagating = append(c.Propagating, g.original[k])
		}
	}
	c.Users = len(g.users)
	return c, true
}
