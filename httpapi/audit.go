package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
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

// EventLog records events and lists them and their webhook deliveries;
// an *events.Bus satisfies it.
type EventLog interface {
	Emit(ctx context.Context, e events.Event) error
	Recent(ctx context.Context, q events.Query) ([]events.Event, error)
	Deliveries(ctx context.Context, q events.Query) ([]events.Delivery, error)
}

// RequestIDHeader carries a request's ID: taken from the request when it
// is 1 to 64 letters, digits, '-', '_' or '.' that the audit keeps as
// they are (up to 23 characters, or up to 32 hex digits, or a GUID;
// longer runs look like a pasted token, which the audit would redact),
// generated (24 hex digits) otherwise, and echoed in the response. Audit
// entries and logs carry it, so the ID a client got is the one the audit
// trail holds.
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
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Customer  string    `json:"customer"`
	Outcome   string    `json:"outcome"`
	RequestID string    `json:"requestId,omitempty"`
	Detail    string    `json:"detail,omitempty"`
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
	page, err := a.c.Audit.List(r.Context(), audit.Query{Customer: customer, Limit: limit, After: q.Get("after")})
	if errors.Is(err, audit.ErrBadCursor) {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadCursor, Detail: "after must be the next cursor of a previous page"})
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
		out.Entries = append(out.Entries, auditEntryJSON{At: e.At, Actor: e.Actor, Action: e.Action, Customer: e.Customer,
			Outcome: string(e.Outcome), RequestID: e.RequestID, Detail: e.Detail})
	}
	writeJSON(w, http.StatusOK, out)
}

// eventListJSON is the EventList resource.
type eventListJSON struct {
	Events []events.Event `json:"events"`
}

// deliveryListJSON is the DeliveryList resource.
type deliveryListJSON struct {
	Deliveries []events.Delivery `json:"deliveries"`
}

func (a *admin) noEvents(w http.ResponseWriter) bool {
	if a.c.Events == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "events are not configured"})
		return true
	}
	return false
}

func (a *admin) listEvents(w http.ResponseWriter, r *http.Request, customer string) {
	if a.noEvents(w) {
		return
	}
	limit, ok := pageLimit(w, r.URL.Query().Get("limit"), 500, 50)
	if !ok {
		return
	}
	evs, err := a.c.Events.Recent(r.Context(), events.Query{Customer: customer, Limit: limit})
	if err != nil {
		a.c.fail(w, r, "list events", err)
		return
	}
	if evs == nil {
		evs = []events.Event{}
	}
	writeJSON(w, http.StatusOK, eventListJSON{Events: evs})
}

func (a *admin) listDeliveries(w http.ResponseWriter, r *http.Request, _ string) {
	if a.noEvents(w) {
		return
	}
	q := r.URL.Query()
	limit, ok := pageLimit(w, q.Get("limit"), 500, 50)
	if !ok {
		return
	}
	ds, err := a.c.Events.Deliveries(r.Context(), events.Query{Customer: q.Get("customer"), Limit: limit})
	if err != nil {
		a.c.fail(w, r, "list webhook deliveries", err)
		return
	}
	ds = slices.DeleteFunc(ds, func(d events.Delivery) bool { return !a.visible(r, d.Customer, OpReadEvents) })
	if ds == nil {
		ds = []events.Delivery{}
	}
	writeJSON(w, http.StatusOK, deliveryListJSON{Deliveries: ds})
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
