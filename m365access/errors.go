package m365access

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Error is a failure reported by Entra ID or Microsoft Graph, reduced to
// what callers branch on: the AADSTS codes or the Graph code, whether a
// retry can help and the action a person must take. It never holds a
// secret, token, authorization code or verifier; its message holds no
// server text beyond the codes.
type Error struct {
	// Op is what failed, for example "refresh token" or "exchange code".
	Op string
	// Customer is the host's customer ID, when known.
	Customer string
	// HTTPStatus is the response status, 0 when there was no response.
	HTTPStatus int
	// OAuthError is the OAuth error ("invalid_grant", ...), if any.
	OAuthError string
	// Codes are Entra's error_codes (AADSTS numbers), if any.
	Codes []int
	// GraphCode is Microsoft Graph's error code, if any.
	GraphCode string
	// Description is the server's error_description or message, for people
	// only: never branch on it.
	Description string
	// Action is what a person must do.
	Action Action
	// Hint says, for people, what to do about the AADSTS code when the
	// library knows more than Action (for example "enable the account in
	// Entra ID"); empty otherwise.
	Hint string
	// Retryable reports whether retrying the same call later can succeed.
	Retryable bool
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	// Err is the underlying cause when it is not a server answer (network
	// failure, cancelled context); nil otherwise.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("m365access: ")
	b.WriteString(e.Op)
	if e.Customer != "" {
		fmt.Fprintf(&b, " for customer %q", e.Customer)
	}
	b.WriteString(" failed")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	if e.OAuthError != "" {
		b.WriteString(": " + e.OAuthError)
	}
	for _, c := range e.Codes {
		b.WriteString(" AADSTS" + strconv.Itoa(c))
	}
	if e.GraphCode != "" {
		b.WriteString(": " + e.GraphCode)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Action != ActionNone {
		b.WriteString("; action: " + string(e.Action))
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// Unwrap returns the non-server cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// HasCode reports whether Entra reported the AADSTS code.
func (e *Error) HasCode(code int) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// State is the connection state this failure puts a customer in.
func (e *Error) State() State {
	for _, c := range e.Codes {
		if m, ok := entraCodes[c]; ok {
			return m.state
		}
	}
	if m, ok := graphCodes[e.GraphCode]; ok {
		return m.state
	}
	return StateDegraded
}

// ActionOf returns the action carried by the first *Error in err's chain,
// or ActionNone.
func ActionOf(err error) Action {
	var e *Error
	if errors.As(err, &e) {
		return e.Action
	}
	var f *FlowError
	if errors.As(err, &f) {
		return f.Action()
	}
	return ActionNone
}

// IsRetryable reports whether err (or a wrapped *Error) may succeed when
// retried later.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// codeMeaning is what one error code means to the library.
type codeMeaning struct {
	action    Action
	retryable bool
	state     State
	hint      string
}

// entraCodes maps Entra's error_codes (AADSTS numbers) to their meaning.
// Branch on these codes, never on message text.
var entraCodes = map[int]codeMeaning{
	// The refresh token or grant is gone: re-invite.
	70008:  {ActionReInvite, false, StateReauthorizationRequired, ""}, // grant expired (inactivity)
	700082: {ActionReInvite, false, StateReauthorizationRequired, ""}, // refresh token expired (inactivity)
	50173:  {ActionReInvite, false, StateReauthorizationRequired, ""}, // grant revoked (password change/reset)
	70043:  {ActionReInvite, false, StateReauthorizationRequired, ""}, // refresh token expired by Conditional Access sign-in frequency
	54005:  {ActionReInvite, false, StateReauthorizationRequired, ""}, // authorization code already redeemed
	// Interaction, MFA or Conditional Access.
	50076: {ActionCompleteMFAOrSwitchToToken, false, StateReauthorizationRequired, ""}, // MFA required (location)
	50078: {ActionCompleteMFAOrSwitchToToken, false, StateReauthorizationRequired, ""}, // presented MFA expired
	50079: {ActionCompleteMFAOrSwitchToToken, false, StateReauthorizationRequired, ""}, // MFA enrollment required
	53003: {ActionCompleteMFAOrSwitchToToken, false, StateReauthorizationRequired, ""}, // blocked by Conditional Access
	// Consent.
	65001:  {ActionGrantConsent, false, StateConsentRequired, ""}, // consent not granted
	65004:  {ActionGrantConsent, false, StateConsentRequired, ""}, // user declined consent
	90094:  {ActionGrantConsent, false, StateConsentRequired, ""}, // admin consent required
	500011: {ActionGrantConsent, false, StateConsentRequired, ""}, // resource principal not found in tenant
	700016: {ActionGrantConsent, false, StateConsentRequired, ""}, // application not found in tenant
	// Credentials.
	7000215: {ActionRotateSecret, false, StateCredentialExpired, ""},      // invalid client secret
	7000222: {ActionRotateSecret, false, StateCredentialExpired, ""},      // client secret expired
	700027:  {ActionRotateCertificate, false, StateCredentialExpired, ""}, // certificate assertion invalid
	// Back off.
	50196: {ActionWaitAndRetry, true, StateDegraded, ""}, // loop detected
	90055: {ActionWaitAndRetry, true, StateDegraded, ""}, // too many requests
	// Wrong tenant.
	90002: {ActionFixTenant, false, StateNotConnected, ""}, // tenant not found
	// Legacy password flow.
	50126: {ActionFixCredentials, false, StateCredentialExpired, ""}, // invalid user name or password
	50034: {ActionFixSettings, false, StateNotConnected, ""},         // user not found in directory
	// The password grant on an app that does not allow public client flows.
	7000218: {ActionFixSettings, false, StateNotConnected, ""},
	// The account itself: a person must fix it in Entra ID.
	50057: {ActionFixAccount, false, StateAccountBlocked, "the account is disabled: enable it in Entra ID"},
	50053: {ActionFixAccount, false, StateAccountBlocked, "the account is locked after too many failed sign-ins, or sign-in from a blocked IP address: unlock it in Entra ID or wait for the lockout to end"},
	50055: {ActionFixAccount, false, StateAccountBlocked, "the account's password expired: the account's owner must change it, then sign in again"},
	50105: {ActionFixAccount, false, StateAccountBlocked, "the account is not assigned to the app, which requires assignment: assign it in the enterprise application's Users and groups"},
	53000: {ActionFixAccount, false, StateAccountBlocked, "Conditional Access requires a compliant or managed device: sign in from one, or adjust the policy"},
	53001: {ActionFixAccount, false, StateAccountBlocked, "Conditional Access requires a domain-joined device: sign in from one, or adjust the policy"},
	53002: {ActionFixAccount, false, StateAccountBlocked, "Conditional Access requires an approved client app: sign in with one, or adjust the policy"},
	// The session ended with a password change: sign in again.
	50132: {ActionReInvite, false, StateReauthorizationRequired, "the session is no longer valid (the password changed or the session expired): sign in again"},
	50133: {ActionReInvite, false, StateReauthorizationRequired, "the session is no longer valid after a recent password change: sign in again"},
	// A scope that does not exist on the resource (a misspelt
	// ProviderConfig.Scopes entry).
	650053: {ActionFixSettings, false, StateNotConnected, "a requested permission does not exist in Microsoft Graph: check the spelling of the configured scopes"},
	// The app is disabled in the tenant.
	70001:   {ActionEnableApp, false, StateAccountBlocked, "the app is disabled in the tenant: enable its enterprise application in Entra ID"},
	7000112: {ActionEnableApp, false, StateAccountBlocked, "the app is disabled in the tenant: enable its enterprise application in Entra ID"},
}

// graphCodes maps Microsoft Graph error codes to their meaning.
var graphCodes = map[string]codeMeaning{
	"Request_UnsupportedQuery":       {ActionFixFilter, false, StateDegraded, ""},
	"Authorization_RequestDenied":    {ActionGrantConsent, false, StateConsentRequired, ""},
	"Authorization_IdentityNotFound": {ActionGrantConsent, false, StateConsentRequired, ""},
	"InvalidAuthenticationToken":     {ActionWaitAndRetry, true, StateDegraded, ""},
	"TooManyRequests":                {ActionWaitAndRetry, true, StateDegraded, ""},
	"activityLimitReached":           {ActionWaitAndRetry, true, StateDegraded, ""},
	"serviceNotAvailable":            {ActionWaitAndRetry, true, StateDegraded, ""},
	"generalException":               {ActionWaitAndRetry, true, StateDegraded, ""},
	"Request_ResourceNotFound":       {ActionFixTenant, false, StateDegraded, ""},
	"Request_BadRequest":             {ActionFixSettings, false, StateDegraded, ""},
	// A page link used after its skip token expired: read again from the
	// first page.
	"Directory_ExpiredPageToken": {ActionWaitAndRetry, true, StateDegraded, ""},
}

// classify fills Action and Retryable from the codes and status.
func (e *Error) classify() {
	for _, c := range e.Codes {
		if m, ok := entraCodes[c]; ok {
			e.Action, e.Retryable, e.Hint = m.action, m.retryable, m.hint
			return
		}
	}
	if m, ok := graphCodes[e.GraphCode]; ok {
		e.Action, e.Retryable = m.action, m.retryable
		return
	}
	switch {
	case e.HTTPStatus == 429 || e.HTTPStatus >= 500:
		e.Action, e.Retryable = ActionWaitAndRetry, true
	case e.OAuthError == "invalid_client":
		e.Action = ActionRotateSecret
	case e.OAuthError == "invalid_grant" || e.OAuthError == "interaction_required":
		e.Action = ActionReInvite
	case e.OAuthError == "consent_required":
		e.Action = ActionGrantConsent
	case e.HTTPStatus == 0 && e.Err != nil:
		e.Action, e.Retryable = ActionWaitAndRetry, true
	}
}
