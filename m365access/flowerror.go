package m365access

import "fmt"

// Reason says why a sign-in or consent callback was rejected.
type Reason string

// The reasons a FlowError can carry.
const (
	ReasonStateUnknown     Reason = "stateUnknown"     // no such transaction
	ReasonStateExpired     Reason = "stateExpired"     // older than its lifetime
	ReasonStateReused      Reason = "stateReused"      // already completed once
	ReasonBindingMismatch  Reason = "bindingMismatch"  // another browser
	ReasonNonceMismatch    Reason = "nonceMismatch"    // id_token nonce differs
	ReasonTenantMismatch   Reason = "tenantMismatch"   // signed in to another tenant
	ReasonWrongAccount     Reason = "wrongAccount"     // not the service account
	ReasonScopesMissing    Reason = "scopesMissing"    // granted scopes do not cover the required ones
	ReasonDenied           Reason = "denied"           // the callback carried an error
	ReasonMissingCode      Reason = "missingCode"      // the callback carried no code
	ReasonNotConfigured    Reason = "notConfigured"    // the provider app or settings are missing
	ReasonWrongMode        Reason = "wrongMode"        // the operation does not fit the auth mode
	ReasonPermissionsShort Reason = "permissionsShort" // app-only token lacks required roles
	// ReasonConsentPropagating: consent was granted but fresh app-only
	// tokens still lack its roles (Entra ID is replicating the grant).
	ReasonConsentPropagating Reason = "consentPropagating"
	ReasonIDTokenInvalid     Reason = "idTokenInvalid" // the id_token fails signature, issuer, audience or time checks
	ReasonNotAdmin           Reason = "notAdmin"       // no service account set and the account holds no admin role
	ReasonInvitationGone     Reason = "invitationGone" // the invitation the sign-in started from was revoked, expired or used
)

// FlowError is a rejection by the library itself (not by Entra ID) of a
// token connection, consent or credential request. errors.Is matches it
// against the Err* sentinels by Reason.
type FlowError struct {
	Reason   Reason
	Customer string
	// Detail is a safe, human explanation (never a secret or token).
	Detail string
}

func (e *FlowError) Error() string {
	s := "m365access: " + string(e.Reason)
	if e.Customer != "" {
		s += fmt.Sprintf(" (customer %q)", e.Customer)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is matches sentinels with the same Reason.
func (e *FlowError) Is(target error) bool {
	t, ok := target.(*FlowError)
	return ok && t.Reason == e.Reason && t.Customer == "" && t.Detail == ""
}

// Action is what a person must do about the rejection.
func (e *FlowError) Action() Action {
	switch e.Reason {
	case ReasonTenantMismatch:
		return ActionFixTenant
	case ReasonScopesMissing, ReasonDenied, ReasonPermissionsShort:
		return ActionGrantConsent
	case ReasonNotConfigured, ReasonWrongMode:
		return ActionFixSettings
	case ReasonConsentPropagating:
		return ActionWaitAndRetry
	case ReasonInvitationGone:
		return ActionReInvite
	default:
		return ActionRestartConnection
	}
}

// Sentinels for errors.Is on a *FlowError.
var (
	ErrStateUnknown       = &FlowError{Reason: ReasonStateUnknown}
	ErrStateExpired       = &FlowError{Reason: ReasonStateExpired}
	ErrStateReused        = &FlowError{Reason: ReasonStateReused}
	ErrBindingMismatch    = &FlowError{Reason: ReasonBindingMismatch}
	ErrNonceMismatch      = &FlowError{Reason: ReasonNonceMismatch}
	ErrTenantMismatch     = &FlowError{Reason: ReasonTenantMismatch}
	ErrWrongAccount       = &FlowError{Reason: ReasonWrongAccount}
	ErrScopesMissing      = &FlowError{Reason: ReasonScopesMissing}
	ErrDenied             = &FlowError{Reason: ReasonDenied}
	ErrMissingCode        = &FlowError{Reason: ReasonMissingCode}
	ErrNotConfigured      = &FlowError{Reason: ReasonNotConfigured}
	ErrWrongMode          = &FlowError{Reason: ReasonWrongMode}
	ErrPermissionsMissing = &FlowError{Reason: ReasonPermissionsShort}
	ErrConsentPropagating = &FlowError{Reason: ReasonConsentPropagating}
	ErrIDTokenInvalid     = &FlowError{Reason: ReasonIDTokenInvalid}
	ErrNotAdmin           = &FlowError{Reason: ReasonNotAdmin}
	ErrInvitationGone     = &FlowError{Reason: ReasonInvitationGone}
)
