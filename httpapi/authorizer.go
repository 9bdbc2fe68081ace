package httpapi

import (
	"context"
	"net/http"
)

// Action names what an admin request wants to do, for the Authorizer.
type Action string

// The actions of the admin API.
const (
	ActionReadSettings  Action = "settings.read"
	ActionWriteSettings Action = "settings.write"
	ActionValidate      Action = "auth.validate"
	ActionReadStatus    Action = "auth.status"
	ActionInvite        Action = "invitations.write"
	ActionListInvites   Action = "invitations.read"
	ActionRefreshToken  Action = "auth.refresh"
	ActionSwitchMode    Action = "auth.switch"
	ActionConsent       Action = "auth.consent"
	ActionReadQoE       Action = "qoe.read"
	ActionWriteQoE      Action = "qoe.write"
	ActionSync          Action = "users.sync"
	ActionReadUsers     Action = "users.read"
	ActionReadAPIDocs   Action = "openapi.read"
)

// Authorizer decides whether the provider admin behind r may perform action
// on customer. It is the host's: tenantgate has no login of its own.
// Returning a non-nil error denies the request; an error wrapping
// ErrUnauthenticated answers 401, any other 403. customer is "" for routes
// that belong to no customer (the OpenAPI document).
type Authorizer interface {
	Authorize(ctx context.Context, r *http.Request, customer string, action Action) error
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, r *http.Request, customer string, action Action) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, r *http.Request, customer string, action Action) error {
	return f(ctx, r, customer, action)
}
