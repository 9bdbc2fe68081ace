package m365test

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// AppRole is an app role an app registration defines for users (the
// manifest's appRoles with allowedMemberTypes ["User"]): an assigned
// user's id_token for the app carries its Value in the roles claim.
type AppRole struct {
	// ID is the role's GUID; empty derives a stable one from the app and
	// Value.
	ID string
	// Value is what the roles claim carries, such as "admin". Required:
	// Entra ID leaves roles without a value out of tokens, so the fake
	// does not take them.
	Value string
	// DisplayName is the role's name in the portal's assignment pages.
	DisplayName string
}

// appRoleValueOK reports whether v is a value Entra ID accepts for an app
// role: 1 to 120 characters, no spaces, none starting with a dot
// (Microsoft Graph's appRole.value).
func appRoleValueOK(v string) bool {
	if v == "" || len(v) > 120 || strings.HasPrefix(v, ".") {
		return false
	}
	for _, r := range v {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// AssignAppRole assigns the app role value of the app clientID to the user
// upn of the tenant (an appRoleAssignment on the app's service principal,
// as an admin's "Users and groups" page makes). From then on the user's
// id_tokens for the app carry value in the roles claim. The app must
// define the role and have a service principal in the tenant.
func (s *Server) AssignAppRole(tenant, clientID, upn, value string) error {
	return s.changeAppRole(tenant, clientID, upn, value, true)
}

// RemoveAppRoleAssignment takes the app role value of the app clientID
// away from the user upn of the tenant; the user's next id_token no longer
// carries it.
func (s *Server) RemoveAppRoleAssignment(tenant, clientID, upn, value string) error {
	return s.changeAppRole(tenant, clientID, upn, value, false)
}

func (s *Server) changeAppRole(tenant, clientID, upn, value string, add bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: app role assignment: unknown tenant %q", tenant)
	}
	a := s.apps[strings.ToLower(clientID)]
	if a == nil {
		return fmt.Errorf("m365test: app role assignment: unknown app %q", clientID)
	}
	if !slices.ContainsFunc(a.userRoles, func(r AppRole) bool { return r.Value == value }) {
		return fmt.Errorf("m365test: app role assignment: app %s defines no app role %q", a.ClientID, value)
	}
	if !s.servicePrincipalLocked(t, a) {
		return fmt.Errorf("m365test: app role assignment: app %s has no service principal in tenant %s", a.ClientID, t.ID)
	}
	u, ok := t.dir.User(upn)
	if !ok {
		return fmt.Errorf("m365test: app role assignment: no user %q in tenant %s", upn, t.ID)
	}
	if t.roleAssignments == nil {
		t.roleAssignments = map[string][]string{}
	}
	key := a.ClientID + "\x00" + u.ID
	have := t.roleAssignments[key]
	i := slices.Index(have, value)
	switch {
	case add && i < 0:
		t.roleAssignments[key] = append(have, value)
	case !add && i >= 0:
		t.roleAssignments[key] = slices.Delete(slices.Clone(have), i, i+1)
	}
	return nil
}

// assignedRolesLocked returns the values of the app roles of a assigned
// to user u in t, in assignment order; nil when none.
func (s *Server) assignedRolesLocked(t *Tenant, a *App, u directory.User) []string {
	return slices.Clone(t.roleAssignments[a.ClientID+"\x00"+u.ID])
}

// assignedRoles is assignedRolesLocked taking the lock.
func (s *Server) assignedRoles(t *Tenant, a *App, u directory.User) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assignedRolesLocked(t, a, u)
}

// appRoleID derives a stable GUID for the role value of an app.
func appRoleID(clientID, value string) string {
	sum := sha256.Sum256([]byte("tenantgate m365test appRole\x00" + strings.ToLower(clientID) + "\x00" + value))
	sum[6] = (sum[6] & 0x0f) | 0x40
	sum[8] = (sum[8] & 0x3f) | 0x80
	return formatGUID(sum[:16])
}

// MemberOptions describes a named member user added to a tenant besides
// its generated users: a person such as a provider's technician.
type MemberOptions struct {
	// UserPrincipalName is name@domain, the domain one of the tenant's.
	// Required.
	UserPrincipalName string
	// DisplayName is the user's name; empty uses the local part.
	DisplayName string
	// JobTitle and Department are shown as given.
	JobTitle, Department string
}

// Member is a member user added with [Server.AddMember].
type Member struct {
	// ID is the user's object ID (stable: derived from tenant and UPN).
	ID string
	// UserPrincipalName is the sign-in name.
	UserPrincipalName string
}

// AddMember adds a named member user (userType Member, account enabled,
// the tenant's password, no licenses and no phone number) to the tenant,
// listed after the generated users and the guests added before it. The
// generated users, their numbers and licenses are unchanged.
func (s *Server) AddMember(tenant string, o MemberOptions) (Member, error) {
	t, ok := s.Tenant(tenant)
	if !ok {
		return Member{}, fmt.Errorf("m365test: AddMember: unknown tenant %q", tenant)
	}
	local, domain, ok := strings.Cut(o.UserPrincipalName, "@")
	if !ok || local == "" || !slices.ContainsFunc(t.Domains, func(d string) bool { return strings.EqualFold(d, domain) }) {
		return Member{}, fmt.Errorf("m365test: AddMember: %q is not name@ one of the tenant's domains", o.UserPrincipalName)
	}
	name := o.DisplayName
	if name == "" {
		name = local
	}
	upn := strings.ToLower(o.UserPrincipalName)
	u, err := t.dir.AddCustom(directory.User{
		ID: guestGUID("member", t.ID, upn), AccountEnabled: true, BusinessPhones: []string{}, DisplayName: name, Mail: upn,
		MailNickname: local, ProxyAddresses: []string{"SMTP:" + upn}, UserPrincipalName: upn, UserType: "Member",
		JobTitle: o.JobTitle, Department: o.Department, CompanyName: t.DisplayName,
	})
	if err != nil {
		return Member{}, fmt.Errorf("m365test: AddMember: %w", err)
	}
	cfg := generatedTeams(t.ID, -1)
	cfg.ID, cfg.UserPrincipalName, cfg.AccountType = u.ID, u.UserPrincipalName, "user"
	cfg.FeatureTypes = []string{"Teams"}
	t.voice.markGuest(u.Index) // unlicensed and without a number, as guests are
	t.teamsMu.Lock()
	t.teams[u.Index] = &cfg
	t.teamsMu.Unlock()
	return Member{ID: u.ID, UserPrincipalName: u.UserPrincipalName}, nil
}
