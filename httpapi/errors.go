package httpapi

import (
	"context"
	"errors"
	"github.com/tenantgate/tenantgate/internal/fence"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// The stable problem codes of the admin API, besides those of decodeJSON
// (unsupported_media_type, body_too_large, malformed_json, invalid_field,
// empty_body).
const (
	codeUnauthenticated  = "unauthenticated"
	codeForbidden        = "forbidden"
	codeBadCustomer      = "invalid_customer"
	codeNotFound         = "not_found"
	codeValidation       = "validation_failed"
	codeConflict         = "conflict"
	codeVersionMismatch  = "version_mismatch"
	codeRateLimited      = "rate_limited"
	codeFlow             = "connection_rejected"
	codeUpstream         = "microsoft_error"
	codeUpstreamBusy     = "microsoft_unavailable"
	codeDelivery         = "delivery_failed"
	codeInternal         = "internal"
	codeNotImplemented   = "not_configured"
	codeCompleted        = "invitation_completed"
	codeSyncRunning      = "sync_running"
	codeBadCursor        = "invalid_cursor"
	codeBadQuery         = "invalid_query"
	codeCrossOrigin      = "cross_origin"
	codeMethodNotAllowed = "method_not_allowed"
	codeShuttingDown     = "shutting_down"
	codeOffboarding      = "offboarding"
	codeErased           = "customer_erased"
	codeAuditUnavailable = "audit_unavailable"
	codeCustomerExists   = "customer_exists"
	codeStorageFull      = "storage_full"
	// codeDeliveryNotFailed: a replay of a webhook delivery that has
	// not failed.
	codeDeliveryNotFailed = "delivery_not_failed"
	// codeEndpointGone: a replay to a webhook endpoint no longer
	// configured.
	codeEndpointGone = "endpoint_gone"
)

// fieldNames maps m365access's field paths to the API's JSON names.
var fieldNames = map[string]string{
	"mode":                                  "authMode",
	"appRegistration.clientId":              "clientId",
	"appRegistration.clientSecret":          "clientSecret",
	"appRegistration.clientSecretExpiresAt": "clientSecretExpiresAt",
	"appRegistration.certificate":           "certificatePem",
	"qoe.appId":                             "qoe.appId",
	"qoe.clientSecret":                      "qoe.clientSecret",
	"qoe.clientSecretExpiresAt":             "qoe.clientSecretExpiresAt",
}

// inviteFieldNames maps invite.SendRequest's field names to the API's.
var inviteFieldNames = map[string]string{
	"Recipient":    "to",
	"Customer":     "customer",
	"CustomerName": "customerName",
	"Tenant":       "tenant",
	"SentBy":       "sentBy",
}

// apiField returns the JSON name of a library field path.
func apiField(m map[string]string, f string) string {
	if n, ok := m[f]; ok {
		return n
	}
	return f
}

// problemFor turns an error of the libraries into the problem the client
// sees. Internal error text never reaches the client: only messages the
// libraries write for people (field errors, flow details) do.
func problemFor(err error) Problem {
	var (
		mv   *m365access.ValidationError
		iv   *invite.ValidationError
		rl   *invite.RateLimitError
		fe   *m365access.FlowError
		me   *m365access.Error
		de   *invite.DeliveryError
		conf *tokenstore.ConflictError
	)
	switch {
	case errors.As(err, &mv):
		p := Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation,
			Detail: "some fields are invalid", Action: string(m365access.ActionFixSettings)}
		for _, f := range mv.Errors {
			p.Fields = append(p.Fields, FieldError{Field: apiField(fieldNames, f.Field), Code: f.Code, Message: f.Message})
		}
		return p
	case errors.As(err, &iv):
		p := Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation, Detail: "some fields are invalid"}
		for _, f := range iv.Fields {
			p.Fields = append(p.Fields, FieldError{Field: apiField(inviteFieldNames, f.Field), Code: "invalid", Message: f.Problem})
		}
		return p
	case errors.As(err, &rl):
		return Problem{Status: http.StatusTooManyRequests, Code: codeRateLimited,
			Detail: "too many requests; retry later", Action: string(m365access.ActionWaitAndRetry),
			retryAfter: rl.RetryAfter}
	case errors.Is(err, invite.ErrNotFound), errors.Is(err, tokenstore.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "no such resource for this customer"}
	case fence.Is(err):
		return Problem{Status: http.StatusConflict, Code: codeErased,
			Detail: "the customer was offboarded: nothing is stored for it until it is created again (POST /customers)"}
	case errors.Is(err, invite.ErrCompleted):
		return Problem{Status: http.StatusConflict, Code: codeCompleted,
			Detail: "the invitation was already used to connect"}
	case errors.As(err, &conf):
		return Problem{Status: http.StatusConflict, Code: codeConflict,
			Detail: "the resource was changed meanwhile; read it again and retry"}
	case errors.As(err, &fe):
		return Problem{Status: http.StatusConflict, Code: codeFlow, Detail: fe.Detail,
			Action: string(fe.Action()), Reason: string(fe.Reason)}
	case errors.As(err, &me):
		p := Problem{Status: http.StatusBadGateway, Code: codeUpstream,
			Detail: "Microsoft refused the request", Action: string(me.Action)}
		if me.Retryable {
			p.Status, p.Code, p.Detail = http.StatusServiceUnavailable, codeUpstreamBusy, "Microsoft is unavailable or throttling; retry later"
			p.retryAfter = me.RetryAfter
		}
		return p
	case errors.As(err, &de):
		return Problem{Status: http.StatusBadGateway, Code: codeDelivery,
			Detail: "the invitation email could not be sent; check the mail settings and send a new invitation"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Problem{Status: http.StatusServiceUnavailable, Code: codeUpstreamBusy, Detail: "the request was cancelled or timed out"}
	}
	if sqldb.IsStorageFull(err) {
		return Problem{Status: http.StatusInsufficientStorage, Code: codeStorageFull,
			Detail: "the server's database storage is full; nothing was saved: free space on its disk, then try again"}
	}
	if a := m365access.ActionOf(err); a != m365access.ActionNone {
		return Problem{Status: http.StatusBadGateway, Code: codeUpstream, Detail: "the request failed", Action: string(a)}
	}
	return Problem{Status: http.StatusInternalServerError, Code: codeInternal, Detail: "an internal error occurred; it was logged"}
}

// fail logs err (server-side only) and writes its problem.
func (c *checked) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away: nothing failed on this side, and no one
		// reads the answer.
		c.Logger.DebugContext(r.Context(), "httpapi: client went away", "op", op, "route", r.Pattern,
			"customer", r.PathValue("customer"))
		w.WriteHeader(statusClientClosed)
		return
	}
	p := problemFor(err)
	level := slog.LevelInfo
	if p.Status >= 500 {
		level = slog.LevelError
	}
	// Library errors hold no secrets (m365access and invite promise it);
	// the URL path may hold an invitation token, so log only the pattern.
	attrs := []any{"op", op, "route", r.Pattern, "customer", r.PathValue("customer"), "status", p.Status, "code", p.Code}
	var me *m365access.Error
	if errors.As(err, &me) {
		if len(me.Codes) > 0 {
			attrs = append(attrs, "aadsts", me.Codes)
		}
		if me.GraphCode != "" {
			attrs = append(attrs, "graphCode", me.GraphCode)
		}
	}
	c.Logger.Log(r.Context(), level, "httpapi: request failed", append(attrs, "err", err.Error())...)
	writeProblemTo(w, p)
}

// statusClientClosed is the status recorded (never read) for a request
// whose client went away, as nginx's 499.
const statusClientClosed = 499

// writeProblemTo writes p, with Retry-After when it has one.
func writeProblemTo(w http.ResponseWriter, p Problem) {
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(p.retryAfter.Seconds()))))
	}
	writeProblem(w, p)
}

// safeText keeps a person-facing message to one short line.
func safeText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max]
	}
	return s
}
