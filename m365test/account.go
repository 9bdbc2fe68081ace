package m365test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// AADSTS codes of accounts and apps a person must fix.
const (
	CodeAccountDisabled      = 50057   // the user account is disabled
	CodeAccountLocked        = 50053   // the account is locked (too many failed sign-ins)
	CodePasswordExpired      = 50055   // the password is expired
	CodeSessionInvalid       = 50133   // session invalid after a recent password change
	CodeNotAssigned          = 50105   // the user is not assigned to the app, which requires assignment
	CodeDeviceNotCompliant   = 53000   // Conditional Access requires a compliant or managed device
	CodeDeviceNotDomainJoin  = 53001   // Conditional Access requires a domain-joined device
	CodeApprovedClientNeeded = 53002   // Conditional Access requires an approved client app
	CodeAppDisabled          = 7000112 // the application is disabled in the tenant
)

// AccountState is a state of a user account that Entra ID refuses to sign
// in or to issue tokens for (the zero value, AccountEnabled, is a normal
// account).
type AccountState int

// The account states and the AADSTS code each produces on sign-in, on
// the password grant and on refresh.
const (
	AccountEnabled               AccountState = iota
	AccountDisabled                           // AADSTS50057
	AccountLocked                             // AADSTS50053
	AccountPasswordExpired                    // AADSTS50055
	AccountPasswordChanged                    // AADSTS50133 on refresh; sign-in works
	AccountDeviceNotCompliant                 // AADSTS53000
	AccountDeviceNotDomainJoined              // AADSTS53001
	AccountClientAppNotApproved               // AADSTS53002
)

// accountErrors are the errors of each state: OAuth error and text.
var accountErrors = map[AccountState]struct {
	code int
	msg  string
}{
	AccountDisabled:              {CodeAccountDisabled, "The user account is disabled."},
	AccountLocked:                {CodeAccountLocked, "You've tried to sign in too many times with an incorrect user ID or password."},
	AccountPasswordExpired:       {CodePasswordExpired, "The password is expired."},
	AccountPasswordChanged:       {CodeSessionInvalid, "The session is invalid due to expiration or recent password change."},
	AccountDeviceNotCompliant:    {CodeDeviceNotCompliant, "Your device is required to be managed to access this resource."},
	AccountDeviceNotDomainJoined: {CodeDeviceNotDomainJoin, "Your device is required to be Domain Joined to access this resource."},
	AccountClientAppNotApproved:  {CodeApprovedClientNeeded, "Application needed to enforce Intune protection policies."},
}

// SetAccountState puts the user upn of the tenant in state: sign-in, the
// password grant and refresh fail with its AADSTS code until the state is
// set back to AccountEnabled.
func (s *Server) SetAccountState(tenant, upn string, state AccountState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: SetAccountState: unknown tenant %q", tenant)
	}
	if _, ok := t.dir.User(upn); !ok {
		return fmt.Errorf("m365test: SetAccountState: no user %q in tenant %s", upn, t.ID)
	}
	if _, ok := accountErrors[state]; !ok && state != AccountEnabled {
		return fmt.Errorf("m365test: SetAccountState: unknown state %d", state)
	}
	if t.accounts == nil {
		t.accounts = map[string]AccountState{}
	}
	if state == AccountEnabled {
		delete(t.accounts, strings.ToLower(upn))
	} else {
		t.accounts[strings.ToLower(upn)] = state
	}
	return nil
}

// RequireAssignment makes the app clientID in the tenant require user
// assignment, with the users upns assigned: any other user's sign-in or
// token fails with AADSTS50105. Calling it with no users assigns none;
// RequireAssignment is undone by [Server.AllowAllUsers].
func (s *Server) RequireAssignment(tenant, clientID string, upns ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: RequireAssignment: unknown tenant %q", tenant)
	}
	if t.assigned == nil {
		t.assigned = map[string]map[string]bool{}
	}
	m := map[string]bool{}
	for _, u := range upns {
		m[strings.ToLower(u)] = true
	}
	t.assigned[strings.ToLower(clientID)] = m
	return nil
}

// AllowAllUsers ends RequireAssignment for the app clientID in the tenant.
func (s *Server) AllowAllUsers(tenant, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: AllowAllUsers: unknown tenant %q", tenant)
	}
	delete(t.assigned, strings.ToLower(clientID))
	return nil
}

// SetAppEnabled enables or disables the app clientID's enterprise
// application in the tenant: while disabled, every sign-in and token
// request of the app there fails with AADSTS7000112.
func (s *Server) SetAppEnabled(tenant, clientID string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: SetAppEnabled: unknown tenant %q", tenant)
	}
	if t.disabledApps == nil {
		t.disabledApps = map[string]bool{}
	}
	if enabled {
		delete(t.disabledApps, strings.ToLower(clientID))
	} else {
		t.disabledApps[strings.ToLower(clientID)] = true
	}
	return nil
}

// appDisabled returns AADSTS7000112 when app is disabled in t.
func (s *Server) appDisabled(t *Tenant, a *App) *entraError {
	s.mu.Lock()
	off := t.disabledApps[a.ClientID]
	s.mu.Unlock()
	if !off {
		return nil
	}
	return newEntraError(http.StatusBadRequest, "unauthorized_client", CodeAppDisabled,
		"Application '%s'(%s) is disabled.", a.ClientID, a.DisplayName)
}

// accountRefusal returns the error Entra ID answers for user u of t and
// app a, or nil: the app disabled, the account's state, or a missing
// assignment. refresh says the request redeems a refresh token (a
// password change ends sessions but not new sign-ins).
func (s *Server) accountRefusal(t *Tenant, a *App, u directory.User, refresh bool) *entraError {
	if e := s.appDisabled(t, a); e != nil {
		return e
	}
	upn := strings.ToLower(u.UserPrincipalName)
	s.mu.Lock()
	state := t.accounts[upn]
	assigned, restricted := t.assigned[a.ClientID]
	s.mu.Unlock()
	if state != AccountEnabled && (state != AccountPasswordChanged || refresh) {
		ae := accountErrors[state]
		e := newEntraError(http.StatusBadRequest, "invalid_grant", ae.code, "%s", ae.msg)
		if state == AccountPasswordChanged || state >= AccountDeviceNotCompliant {
			e.sub = "basic_action"
		}
		return e
	}
	if restricted && !assigned[upn] {
		return newEntraError(http.StatusBadRequest, "invalid_grant", CodeNotAssigned,
			"Your administrator has configured the application %s ('%s') to block users unless they are specifically granted ('assigned') access to the application. The signed in user '{EUII Hidden}' is blocked because they are not a direct member of a group with access, nor had access directly assigned by an administrator. Please contact your administrator to assign access to this application.", a.DisplayName, a.ClientID)
	}
	return nil
}
