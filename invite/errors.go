package invite

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors that callers branch on with errors.Is. Redeem and Complete return
// them for links that cannot be used; the customer-facing page should tell
// the person to ask the provider for a new invitation.
var (
	// ErrInvalidToken: the link's token is malformed or belongs to no
	// invitation. The two are deliberately indistinguishable.
	ErrInvalidToken = errors.New("invite: invalid or unknown invitation link")
	// ErrExpired: the invitation expired; ask the provider for a new one.
	ErrExpired = errors.New("invite: invitation expired")
	// ErrRevoked: the invitation was revoked, superseded by a newer one or
	// never delivered; ask the provider for a new one.
	ErrRevoked = errors.New("invite: invitation revoked")
	// ErrCompleted: the invitation was already used to connect; it cannot
	// start another connection.
	ErrCompleted = errors.New("invite: invitation already used")
	// ErrNotFound: no invitation with that customer and ID.
	ErrNotFound = errors.New("invite: invitation not found")
)

// errForStatus returns the error that explains why an invitation in status
// s cannot be redeemed, or nil when it is live.
func errForStatus(s Status) error {
	switch s {
	case StatusPending, StatusOpened:
		return nil
	case StatusExpired:
		return ErrExpired
	case StatusCompleted:
		return ErrCompleted
	default: // revoked, failed
		return ErrRevoked
	}
}

// FieldError is one invalid input field.
type FieldError struct {
	// Field names the offending field as in SendRequest, for example
	// "Recipient".
	Field string
	// Problem says what is wrong, for a person to correct.
	Problem string
}

// Error returns "Field: problem".
func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

// ValidationError reports invalid input; nothing was stored or sent. Fields
// lists every offending field so that a form can mark them all at once.
type ValidationError struct {
	Fields []FieldError
}

// Error lists every offending field.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "invite: invalid input: " + strings.Join(parts, "; ")
}

// RateLimitError reports that a rate limit refused the call; nothing was
// sent or redeemed. Retry after RetryAfter.
type RateLimitError struct {
	// Scope is the limit that refused: "customer" or "recipient" for
	// sends, "redeem" for redeem guesses from one client, "start" for
	// sign-ins started from one invitation.
	Scope string
	// RetryAfter is how long until the limit allows one more call.
	RetryAfter time.Duration
}

// Error says which limit refused and when to try again.
func (e *RateLimitError) Error() string {
	var what string
	switch e.Scope {
	case ScopeCustomer:
		what = "too many invitations for this customer"
	case ScopeRecipient:
		what = "too many invitations to this recipient"
	case ScopeStart:
		what = "too many sign-ins started from this invitation"
	default:
		what = "too many invitation link attempts from this client"
	}
	return fmt.Sprintf("invite: %s; try again in %s", what, e.RetryAfter.Round(time.Second))
}

// The scopes of RateLimitError.
const (
	ScopeCustomer  = "customer"
	ScopeRecipient = "recipient"
	ScopeRedeem    = "redeem"
	// ScopeStart: too many sign-ins started from one invitation.
	ScopeStart = "start"
)

// DeliveryError reports that the mailer failed. The invitation is marked
// StatusFailed and its link does not work; send a new one once the mail
// problem is solved. Err is the mailer's error.
type DeliveryError struct {
	// InvitationID is the ID of the failed invitation.
	InvitationID string
	Err          error
}

// Error names the failed invitation and the mailer's error.
func (e *DeliveryError) Error() string {
	return "invite: sending invitation " + e.InvitationID + " failed, the invitation was not left live: " + e.Err.Error()
}

// Unwrap returns the mailer's error.
func (e *DeliveryError) Unwrap() error { return e.Err }
