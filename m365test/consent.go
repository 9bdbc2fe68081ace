package m365test

import (
	"fmt"
	"strings"
)

// grant is the consent state of one app in one tenant: its service
// principal exists once a grant exists.
type grant struct {
	admin    bool                       // admin consent given
	scopes   map[string]bool            // delegated scopes consented for all users (lower-case)
	roles    map[string]bool            // application permissions (lower-case)
	users    map[string]map[string]bool // user oid -> delegated scopes the user consented to
	original map[string]string          // lower-case -> canonical spelling
}

func newGrant() *grant {
	return &grant{scopes: map[string]bool{}, roles: map[string]bool{}, users: map[string]map[string]bool{}, original: map[string]string{}}
}

// adminOnlyScopes are the delegated Graph permissions only an admin can
// consent to.
var adminOnlyScopes = map[string]bool{
	"user.read.all": true, "user.readwrite.all": true, "directory.read.all": true,
	"directory.readwrite.all": true, "group.read.all": true, "group.readwrite.all": true,
	"auditlog.read.all": true, "callrecords.read.all": true, "organization.read.all": true,
}

// servicePrincipalLocked reports whether app has a service principal in t.
func (s *Server) servicePrincipalLocked(t *Tenant, a *App) bool {
	return a.homeTenant == t.ID || t.grants[a.ClientID] != nil
}

// grantAdminLocked records admin consent of app in t for the given
// delegated scopes and app roles.
func (s *Server) grantAdminLocked(t *Tenant, a *App, scopes, roles []string) {
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
		g.roles[strings.ToLower(r)] = true
		g.original[strings.ToLower(r)] = r
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

// rolesLocked returns the app roles granted to app in t.
func (s *Server) rolesLocked(t *Tenant, a *App) []string {
	g := t.grants[a.ClientID]
	if g == nil {
		return nil
	}
	out := make([]string, 0, len(g.roles))
	for k := range g.roles {
		out = append(out, g.original[k])
	}
	return out
}

// GrantAdminConsent records admin consent of the app clientID in the
// tenant for all its required permissions, as if the tenant's Global Admin
// had accepted the admin consent page.
func (s *Server) GrantAdminConsent(tenant, clientID string) error {
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
	s.grantAdminLocked(t, a, a.delegated, a.appRoles)
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
	// Roles are the application permissions granted.
	Roles []string
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
	for k := range g.roles {
		c.Roles = append(c.Roles, g.original[k])
	}
	c.Users = len(g.users)
	return c, true
}
