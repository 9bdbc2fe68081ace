package httpapi

import (
	"context"
	"net/http"
)

// Operation names the operation an admin request asks to perform: what the
// Authorizer authorizes. (m365access.Action, by contrast, is the remediation
// a person must carry out after a failure.)
type Operation string

// The operations of the admin API; the OpenAPI document names each route's
// operation in its x-operation field.
const (
	OpReadSettings  Operation = "settings.read"
	OpWriteSettings Operation = "settings.write"
	OpValidate      Operation = "auth.validate"
	OpReadStatus    Operation = "auth.status"
	OpInvite        Operation = "invitations.write"
	OpListInvites   Operation = "invitations.read"
	OpRefreshToken  Operation = "auth.refresh"
	OpSwitchMode    Operation = "auth.switch"
	OpConsent       Operation = "auth.consent"
	OpReadQoE       Operation = "qoe.read"
	OpWriteQoE      Operation = "qoe.write"
	OpSync          Operation = "users.sync"
	OpReadUsers     Operation = "users.read"
	OpReadAPIDocs   Operation = "openapi.read"
	// OpListCustomers reads the fleet: GET /customers (customer "") and
	// GET /customers/{customer}.
	OpListCustomers Operation = "customers.read"
	// OpOffboard erases a customer: DELETE /customers/{customer}.
	OpOffboard Operation = "customers.offboard"
	// OpReadAudit reads the audit trail: GET /audit (customer "") and
	// GET /customers/{customer}/audit.
	OpReadAudit Operation = "audit.read"
	// OpReadEvents reads a customer's events (GET
	// /customers/{customer}/events) and the webhook delivery log (GET
	// /webhooks/deliveries, customer "" or the customer asked for).
	OpReadEvents Operation = "events.read"
	// OpReplayWebhook sends a customer's failed webhook delivery again:
	// POST /customers/{customer}/webhooks/deliveries/{event}/{endpoint}/replay.
	OpReplayWebhook Operation = "webhooks.replay"
)

// ActorNamer is implemented by an Authorizer that can name the principal
// behind a request it authorized (an admin's e-mail, a session, a
// service): the actor of the audit trail. An empty name, or an Authorizer
// without the method, falls back to Config.Actor, which also names the
// sender on invitations.
type ActorNamer interface {
	Actor(r *http.Request) string
}

// Authorizer decides whether the provider admin behind r may perform op on
// customer. It is the host's: tenantgate has no login of its own.
// Returning a non-nil error denies the request; an error wrapping
// ErrUnauthenticated answers 401, any other 403. customer is "" for routes
// that belong to no customer (the OpenAPI document), and for the listings
// of every customer (GET /customers, GET /audit, GET /webhooks/deliveries
// without customer): when it refuses "" for a listing (other than with
// ErrUnauthenticated), the listing is served filtered, each item shown
// only if it allows the item's customer, so an admin of some customers
// sees theirs. GET /webhooks/deliveries?customer=B asks about B.
type Authorizer interface {
	Authorize(ctx context.Context, r *http.Request, customer string, op Operation) error
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, r *http.Request, customer string, op Operation) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, r *http.Request, customer string, op Operation) error {
	return f(ctx, r, customer, op)
}
