package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/redact"
)

// AuditTrail keeps and lists the audit trail; an *audit.Log satisfies it.
type AuditTrail interface {
	Append(ctx context.Context, e audit.Entry) error
	List(ctx context.Context, q audit.Query) (audit.Page, error)
}

// EventLog records events and lists them and their webhook deliveries,
// a page at a time; an *events.Bus satisfies it.
type EventLog interface {
	Emit(ctx context.Context, e events.Event) error
	ListEvents(ctx context.Context, q events.Query) (events.EventPage, error)
	ListDeliveries(ctx context.Context, q events.Query) (events.DeliveryPage, error)
}

// WebhookReplayer sends a customer's failed webhook delivery again; an
// *events.Bus satisfies it. An EventLog that is one serves POST
// /customers/{customer}/webhooks/deliveries/{event}/{endpoint}/replay.
type WebhookReplayer interface {
	Replay(ctx context.Context, customer, eventID, endpoint string) (events.Delivery, error)
}

// RequestIDHeader carries a request's ID, echoed in every admin API
// response; audit entries and logs keep it as the client got it. A
// request's own ID is taken when it is 1 to 64 letters, digits, '-', '_'
// or '.' and not shaped like a token (the audit trail would have to
// redact it: 24 or more characters other than up to 32 hex digits or a
// GUID); otherwise one is generated (24 hex digits).
const RequestIDHeader = "X-Request-Id"

// requestID returns the request's ID (see RequestIDHeader).
func requestID(r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); validRequestID(id) && redact.ID(id) == id {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// actor names who is behind r: the Authorizer if it is an ActorNamer and
// names someone, else Config.Actor.
func (c *checked) actor(r *http.Request) string {
	if n, ok := c.Authorizer.(ActorNamer); ok {
		if name := n.Actor(r); name != "" {
			return name
		}
	}
	return c.Actor(r)
}

// changes reports whether a route's method changes something, so that
// its requests are audited.
func changes(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodDelete
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// audit appends one entry for a request of rt that ended with status.
func (a *admin) audit(r *http.Request, rt route, customer, reqID string, status int) {
	outcome := audit.Failed
	switch {
	case status >= 200 && status < 300:
		outcome = audit.Succeeded
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		outcome = audit.Denied
	}
	if err := a.appendAudit(r, rt, customer, reqID, outcome, rt.method+" "+rt.path+" "+strconv.Itoa(status)); err != nil {
		a.c.Logger.ErrorContext(r.Context(), "httpapi: the audit trail refused an entry", "operation", string(rt.op),
			"customer", customer, "request", reqID, "err", err.Error())
	}
}

// appendAudit appends one entry; nil without an audit trail.
func (a *admin) appendAudit(r *http.Request, rt route, customer, reqID string, outcome audit.Outcome, detail string) error {
	if a.c.Audit == nil {
		return nil
	}
	return a.c.Audit.Append(r.Context(), audit.Entry{At: time.Now(), Actor: a.c.actor(r), Action: string(rt.op), Customer: customer,
		Outcome: outcome, RequestID: reqID, Detail: detail})
}

// AuditVerifier verifies a customer's audit hash chain; an *audit.Log
// satisfies it. An AuditTrail that is one serves
// GET /customers/{customer}/audit/verify.
type AuditVerifier interface {
	Verify(ctx context.Context, customer string) (audit.ChainReport, error)
}

func (a *admin) verifyAudit(w http.ResponseWriter, r *http.Request, customer string) {
	v, ok := a.c.Audit.(AuditVerifier)
	if !ok {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "the audit trail cannot be verified"})
		return
	}
	rep, err := v.Verify(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "verify the audit trail", err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// auditEntryJSON is the AuditEntry resource.
type auditEntryJSON struct {
	OccurredAt time.Time `json:"occurredAt"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Customer   string    `json:"customer"`
	Outcome    string    `json:"outcome"`
	RequestID  string    `json:"requestId,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

// auditPageJSON is the AuditPage resource.
type auditPageJSON struct {
	Entries []auditEntryJSON `json:"entries"`
	Next    string           `json:"next"`
}

func (a *admin) listAudit(w http.ResponseWriter, r *http.Request, customer string) {
	if a.c.Audit == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "the audit trail is not configured"})
		return
	}
	q := r.URL.Query()
	limit, ok := pageLimit(w, q.Get("limit"), 500, 50)
	if !ok {
		return
	}
	from, to, ok := timeRange(w, q)
	if !ok {
		return
	}
	aq := audit.Query{Customer: customer, Action: q.Get("action"), Outcome: audit.Outcome(q.Get("outcome")), From: from, To: to,
		Limit: limit, After: q.Get("after")}
	if !oneOf(w, "outcome", string(aq.Outcome), string(audit.Attempted), string(audit.Succeeded), string(audit.Failed), string(audit.Denied)) {
		return
	}
	page, err := a.c.Audit.List(r.Context(), aq)
	if errors.Is(err, audit.ErrBadCursor) {
		badCursor(w)
		return
	}
	if err != nil {
		a.c.fail(w, r, "list the audit trail", err)
		return
	}
	out := auditPageJSON{Entries: make([]auditEntryJSON, 0, len(page.Entries)), Next: page.Next}
	for _, e := range page.Entries {
		if customer == "" && !a.visible(r, e.Customer, OpReadAudit) {
			continue
		}
		out.Entries = append(out.Entries, auditEntryJSON{OccurredAt: e.At, Actor: e.Actor, Action: e.Action, Customer: e.Customer,
			Outcome: string(e.Outcome), RequestID: e.RequestID, Detail: e.Detail})
	}
	writeJSON(w, http.StatusOK, out)
}

// badCursor answers 400 for an after that is not the next cursor of the
// same query.
func badCursor(w http.ResponseWriter) {
	writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadCursor,
		Detail: "after must be the next cursor of a previous page of the same query (same filters)",
		Fields: []FieldError{{Field: "after", Code: "invalid", Message: "not a cursor this listing returned for these filters"}}})
}

// timeRange reads the from and to query parameters (RFC 3339, or
// YYYY-MM-DD for midnight UTC); zero when absent.
func timeRange(w http.ResponseWriter, q url.Values) (from, to time.Time, ok bool) {
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, ok := parseDay(v, false)
		if !ok {
			badQuery(w, p.name, p.name+" must be an RFC 3339 time or YYYY-MM-DD")
			return time.Time{}, time.Time{}, false
		}
		*p.t = t
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		badQuery(w, "from", "from must be before to")
		return time.Time{}, time.Time{}, false
	}
	return from, to, true
}

// oneOf answers 400 unless v is empty or one of vals.
func oneOf(w http.ResponseWriter, field, v string, vals ...string) bool {
	if v == "" || slices.Contains(vals, v) {
		return true
	}
	badQuery(w, field, field+" must be one of "+strings.Join(vals, ", "))
	return false
}

// eventListJSON is the EventList resource.
type eventListJSON struct {
	Events []eventJSON `json:"events"`
	Next   string      `json:"next"`
}

// eventJSON is the Event resource: the webhook payload's type and data
// with the event's ID, its time named as every time of the API is
// (occurredAt; the webhook body keeps Standard Webhooks' "timestamp").
type eventJSON struct {
	ID         string      `json:"id"`
	Type       events.Type `json:"type"`
	OccurredAt time.Time   `json:"occurredAt"`
	Data       events.Data `json:"data"`
}

// deliveryListJSON is the DeliveryList resource.
type deliveryListJSON struct {
	Deliveries []events.Delivery `json:"deliveries"`
	Next       string            `json:"next"`
}

func (a *admin) noEvents(w http.ResponseWriter) bool {
	if a.c.Events == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "events are not configured"})
		return true
	}
	return false
}

// eventQuery reads the filters and paging of the events and deliveries
// listings.
func eventQuery(w http.ResponseWriter, r *http.Request, customer string) (events.Query, bool) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, q.Get("limit"), 500, 50)
	if !ok {
		return events.Query{}, false
	}
	from, to, ok := timeRange(w, q)
	if !ok {
		return events.Query{}, false
	}
	eq := events.Query{Customer: customer, Type: events.Type(q.Get("type")), State: events.DeliveryState(q.Get("state")),
		From: from, To: to, Limit: limit, After: q.Get("after")}
	if !oneOf(w, "type", string(eq.Type), eventTypes()...) ||
		!oneOf(w, "state", string(eq.State), string(events.DeliveryPending), string(events.DeliveryQueued), string(events.DeliveryRetrying),
			string(events.DeliveryDelivered), string(events.DeliveryFailed)) {
		return events.Query{}, false
	}
	return eq, true
}

func (a *admin) listEvents(w http.ResponseWriter, r *http.Request, customer string) {
	if a.noEvents(w) {
		return
	}
	q, ok := eventQuery(w, r, customer)
	if !ok {
		return
	}
	page, err := a.c.Events.ListEvents(r.Context(), q)
	if errors.Is(err, events.ErrBadCursor) {
		badCursor(w)
		return
	}
	if err != nil {
		a.c.fail(w, r, "list events", err)
		return
	}
	out := eventListJSON{Events: make([]eventJSON, 0, len(page.Events)), Next: page.Next}
	for _, e := range page.Events {
		if customer == "" && !a.visible(r, e.Data.Customer, OpReadEvents) {
			continue
		}
		out.Events = append(out.Events, eventJSON{ID: e.ID, Type: e.Type, OccurredAt: e.Time.UTC(), Data: e.Data})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) listDeliveries(w http.ResponseWriter, r *http.Request, customer string) {
	if a.noEvents(w) {
		return
	}
	q, ok := eventQuery(w, r, customer)
	if !ok {
		return
	}
	page, err := a.c.Events.ListDeliveries(r.Context(), q)
	if errors.Is(err, events.ErrBadCursor) {
		badCursor(w)
		return
	}
	if err != nil {
		a.c.fail(w, r, "list webhook deliveries", err)
		return
	}
	ds := slices.DeleteFunc(page.Deliveries, func(d events.Delivery) bool { return customer == "" && !a.visible(r, d.Customer, OpReadEvents) })
	if ds == nil {
		ds = []events.Delivery{}
	}
	writeJSON(w, http.StatusOK, deliveryListJSON{Deliveries: ds, Next: page.Next})
}

func (a *admin) replayDelivery(w http.ResponseWriter, r *http.Request, customer string) {
	if a.noEvents(w) {
		return
	}
	rp, ok := a.c.Events.(WebhookReplayer)
	if !ok {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "webhook deliveries cannot be replayed"})
		return
	}
	d, err := rp.Replay(r.Context(), customer, r.PathValue("event"), r.PathValue("endpoint"))
	switch {
	case errors.Is(err, events.ErrNoDelivery):
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "the customer has no delivery of that event to that endpoint"})
	case errors.Is(err, events.ErrNotFailed):
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeDeliveryNotFailed,
			Detail: "only a failed delivery is replayed; this one is " + string(d.State)})
	case errors.Is(err, events.ErrEndpointGone):
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeEndpointGone,
			Detail: "the delivery's webhook endpoint is no longer configured", Action: "configure the endpoint again, then replay"})
	case errors.Is(err, events.ErrNoRunner):
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Code: codeNotImplemented, Detail: "no job runner sends webhook deliveries in this process"})
	case err != nil:
		a.c.fail(w, r, "replay a webhook delivery", err)
	default:
		writeJSON(w, http.StatusOK, d)
	}
}

// pageLimit parses a limit query parameter, answering 400 when it is not
// 1 to max; empty means def.
func pageLimit(w http.ResponseWriter, s string, max, def int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadQuery, Detail: "some query parameters are invalid",
			Fields: []FieldError{{Field: "limit", Code: "invalid", Message: "limit must be 1 to " + strconv.Itoa(max)}}})
		return 0, false
	}
	return n, true
}
