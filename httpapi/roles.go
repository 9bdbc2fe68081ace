package httpapi

import (
	"fmt"
	"strings"
)

// Role is what a provider's person or script may do through the admin
// API, coarser than an Operation: a host gives each principal one role
// (from an app role in its sign-in token, from an API token's record) and
// asks Role.Allows in its Authorizer. The roles are ordered: an operator
// may do all a viewer may, an admin all an operator may.
type Role string

// The roles.
const (
	// RoleViewer reads: settings (secrets only say whether they are
	// set), status, the fleet, users, invitations, call quality, voice,
	// the audit trail, events and deliveries, the OpenAPI document.
	RoleViewer Role = "viewer"
	// RoleOperator also runs the day's work: validates, syncs users
	// (and cancels a sync), sends and revokes invitations, hands out
	// sign-in and consent links (Refresh Token Now, Grant Consent),
	// validates QoE, applies voice changes (numbers, policies, plans),
	// replays a failed webhook delivery (the event as it was first sent,
	// to the endpoint it failed at).
	RoleOperator Role = "operator"
	// RoleAdmin also changes settings (Microsoft 365 and QoE, creating
	// customers, switching the auth mode), offboards customers and
	// manages API tokens and webhook endpoints: every operation, including ones
	// this version does not know.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, least to most privileged.
var Roles = []Role{RoleViewer, RoleOperator, RoleAdmin}

// operationRoles is the least role of each known operation. An
// operation missing here (one a newer route or a host adds) needs
// RoleAdmin: unknown means most privileged, never open.
var operationRoles = map[Operation]Role{
	OpReadSettings:  RoleViewer,
	OpReadStatus:    RoleViewer,
	OpListInvites:   RoleViewer,
	OpReadQoE:       RoleViewer,
	OpReadUsers:     RoleViewer,
	OpReadAPIDocs:   RoleViewer,
	OpListCustomers: RoleViewer,
	OpReadAudit:     RoleViewer,
	OpReadEvents:    RoleViewer,
	OpReadVoice:     RoleViewer,

	OpValidate:      RoleOperator,
	OpInvite:        RoleOperator,
	OpRefreshToken:  RoleOperator,
	OpConsent:       RoleOperator,
	OpSync:          RoleOperator,
	OpValidateQoE:   RoleOperator,
	OpWriteVoice:    RoleOperator,
	OpReplayWebhook: RoleOperator,

	OpWriteSettings: RoleAdmin,
	OpSwitchMode:    RoleAdmin,
	OpWriteQoE:      RoleAdmin,
	OpOffboard:      RoleAdmin,
}

// RequiredRole returns the least role that may perform op: RoleAdmin for
// an operation it does not know.
func RequiredRole(op Operation) Role {
	if r, ok := operationRoles[op]; ok {
		return r
	}
	return RoleAdmin
}

// rank orders the roles; 0 is no valid role.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether r may perform op. A role that is not one of
// Roles allows nothing.
func (r Role) Allows(op Operation) bool {
	return r.rank() > 0 && r.rank() >= RequiredRole(op).rank()
}

// AtLeast reports whether r is want or a more privileged role.
func (r Role) AtLeast(want Role) bool { return r.rank() > 0 && r.rank() >= want.rank() }

// ParseRole reads a role name, case-insensitively.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fmt.Errorf("httpapi: unknown role %.40q (want viewer, operator or admin)", s)
	}
	return r, nil
}

// HighestRole returns the most privileged of the role names (an id_token's
// roles claim may carry several; names that are no role are skipped), and
// false when none is a role.
func HighestRole(names []string) (Role, bool) {
	var best Role
	for _, n := range names {
		if r, err := ParseRole(n); err == nil && r.rank() > best.rank() {
			best = r
		}
	}
	return best, best != ""
}

// RoleError is the error an Authorizer returns when the principal's role
// does not allow the operation: the API answers 403 with the detail
// naming the role needed.
type RoleError struct {
	// Have is the principal's role, Need the least role the operation
	// needs.
	Have, Need Role
	// Op is the operation refused.
	Op Operation
}

// Error names the operation and the roles.
func (e *RoleError) Error() string {
	return fmt.Sprintf("%s needs the %s role; you have %s", e.Op, e.Need, e.Have)
}

// CheckRole returns nil when have allows op, else a *RoleError.
func CheckRole(have Role, op Operation) error {
	if have.Allows(op) {
		return nil
	}
	return &RoleError{Have: have, Need: RequiredRole(op), Op: op}
}
