package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// route is one admin API operation: its ServeMux pattern, the action the
// Authorizer is asked about and what the OpenAPI document says of it.
type route struct {
	method  string
	path    string // relative to the mount point, with {customer} etc.
	op      Operation
	summary string
	// request and response name schemas of the OpenAPI document ("" for
	// none); status is the success status.
	request, response string
	// requestCSV, when set, describes a text/csv body the route takes
	// besides its JSON request.
	requestCSV string
	status     int
	query      []queryParam
	// bodyCustomer: the customer is named by the request body's
	// "customer" field (POST /customers), not by the path.
	bodyCustomer bool
	// queryCustomer: the customer is named by the "customer" query
	// parameter (GET /webhooks/deliveries?customer=...).
	queryCustomer bool
	// list: a listing of every customer's items (GET /customers, GET
	// /audit, GET /webhooks/deliveries without customer). When the
	// Authorizer refuses customer "" (everything), it is served filtered
	// to the items of the customers it allows (see Authorizer).
	list   bool
	handle func(w http.ResponseWriter, r *http.Request, customer string)
}

// filteredKey marks a listing request served filtered (route.list).
type filteredKey struct{}

// visible reports whether a listing may show customer's items: always,
// unless the listing is filtered and the Authorizer refuses customer.
func (a *admin) visible(r *http.Request, customer string, op Operation) bool {
	if r.Context().Value(filteredKey{}) == nil {
		return true
	}
	return a.c.Authorizer.Authorize(r.Context(), r, customer, op) == nil
}

// queryParam is a query parameter of a route, for the OpenAPI document.
type queryParam struct {
	name, typ, description string
}

// admin is the admin API handler.
type admin struct {
	c      *checked
	mux    *http.ServeMux
	routes []route
	// closed is set by Handler.Close: no new sync runs.
	closed atomic.Bool
}

func newAdmin(cfg Config) (*admin, error) {
	c, err := cfg.check(true)
	if err != nil {
		return nil, err
	}
	a := &admin{c: c, mux: http.NewServeMux()}
	a.routes = append(append(append(append(a.table(), a.qoeRoutes()...), a.voiceRoutes()...), a.voicePlanRoutes()...), a.voiceFleetRoutes()...)
	for _, rt := range a.routes {
		a.mux.Handle(rt.method+" "+rt.path, a.guard(rt))
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "no such route"})
	})
	return a, nil
}

// ServeHTTP applies cross-origin protection, then routes.
func (a *admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := a.c.CrossOrigin.Check(r); err != nil {
		writeProblem(w, Problem{Status: http.StatusForbidden, Code: codeCrossOrigin,
			Detail: "cross-origin requests are refused"})
		return
	}
	// A 405 from the mux would be text/plain; answer problem+json.
	if _, pattern := a.mux.Handler(r); pattern == "" || pattern == "/" {
		if allowed := a.allowedMethods(r); allowed != "" {
			w.Header().Set("Allow", allowed)
			writeProblem(w, Problem{Status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed,
				Detail: "the route does not allow " + r.Method})
			return
		}
	}
	a.mux.ServeHTTP(w, r)
}

// allowedMethods returns the methods the mux would accept for r's path.
func (a *admin) allowedMethods(r *http.Request) string {
	var ms []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := a.mux.Handler(probe); p != "" && p != "/" {
			ms = append(ms, m)
		}
	}
	return strings.Join(ms, ", ")
}

// guard authorizes a request before its handler runs, gives it a
// request ID and, for a route that changes something, appends the
// outcome to the audit trail.
func (a *admin) guard(rt route) http.Handler {
	audited := changes(rt.method)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		customer := r.PathValue("customer")
		reqID := requestID(r)
		w.Header().Set(RequestIDHeader, reqID)
		if rt.bodyCustomer {
			customer = peekCustomer(w, r)
		}
		if rt.queryCustomer {
			customer = r.URL.Query().Get("customer")
		}
		err := a.c.Authorizer.Authorize(r.Context(), r, customer, rt.op)
		if err != nil && rt.list && customer == "" && !errors.Is(err, ErrUnauthenticated) {
			// Not everything: the customers it may see, one by one.
			r = r.WithContext(context.WithValue(r.Context(), filteredKey{}, true))
			err = nil
		}
		if err != nil {
			p := Problem{Status: http.StatusForbidden, Code: codeForbidden, Detail: "you may not do this for this customer"}
			var re *RoleError
			if errors.Is(err, ErrUnauthenticated) {
				p = Problem{Status: http.StatusUnauthorized, Code: codeUnauthenticated, Detail: "sign in first"}
			} else if errors.As(err, &re) {
				p.Detail = re.Error()
			}
			a.c.Logger.InfoContext(r.Context(), "httpapi: request denied", "route", rt.method+" "+rt.path,
				"customer", customer, "operation", string(rt.op), "status", p.Status, "request", reqID)
			// A refused change by someone signed in is audited; anonymous
			// refusals are not (anyone can make those).
			if audited && p.Status == http.StatusForbidden && validCustomer(customer) {
				a.audit(r, rt, customer, reqID, p.Status)
			}
			writeProblem(w, p)
			return
		}
		if p := unknownQuery(r, rt); p != nil {
			writeProblem(w, *p)
			return
		}
		if rt.bodyCustomer && customer == "" {
			p := Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation, Detail: "some fields are invalid",
				Fields: []FieldError{{Field: "customer", Code: m365access.CodeRequired, Message: "name the new customer's ID"}}}
			if bad := decodeJSON(w, r, &customerCreateJSON{}); bad != nil {
				p = *bad
			}
			writeProblem(w, p)
			return
		}
		if (rt.bodyCustomer || strings.Contains(rt.path, "{customer}")) && !validCustomer(customer) {
			writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadCustomer,
				Detail: "the customer ID is not valid"})
			return
		}
		var out http.ResponseWriter = w
		var rec *statusRecorder
		if audited {
			// No change without its audit entry: the attempt is recorded
			// first, and a trail that cannot record it stops the change.
			if err := a.appendAudit(r, rt, customer, reqID, audit.Attempted, rt.method+" "+rt.path); err != nil {
				a.c.Logger.ErrorContext(r.Context(), "httpapi: the audit trail refused an entry; the change is not made", "operation", string(rt.op),
					"customer", customer, "request", reqID, "err", err.Error())
				writeProblem(w, Problem{Status: http.StatusInternalServerError, Code: codeAuditUnavailable,
					Detail: "the change was not made: its audit entry could not be recorded", Action: "try again; if it persists, check the database the audit trail is kept in"})
				return
			}
			rec = &statusRecorder{ResponseWriter: w}
			out = rec
			defer func() {
				if rec.status == 0 {
					rec.status = http.StatusOK
				}
				a.audit(r, rt, customer, reqID, rec.status)
			}()
		}
		// An offboarded customer's reads answer 404 (its audit trail and
		// events stay readable); saving its settings onboards it again,
		// and offboarding again says what was done.
		if a.c.Fleet != nil && strings.Contains(rt.path, "{customer}") && rt.op != OpOffboard && rt.op != OpWriteSettings &&
			rt.op != OpReadAudit && rt.op != OpReadEvents {
			gone, err := a.c.Fleet.Offboarded(r.Context(), customer)
			if err != nil {
				a.c.fail(out, r, "read the customer", err)
				return
			}
			if gone {
				writeProblem(out, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "the customer was offboarded"})
				return
			}
		}
		// While a customer is being offboarded no change may add what the
		// erase is removing (QoE settings, invitations, links, consent):
		// it would survive the offboarding.
		if audited && a.c.Fleet != nil && strings.Contains(rt.path, "{customer}") && rt.op != OpOffboard {
			if c, err := a.c.Fleet.Customer(r.Context(), customer); err == nil && c.State == fleet.StateOffboarding {
				writeProblem(out, Problem{Status: http.StatusConflict, Code: codeOffboarding,
					Detail: "the customer is being offboarded; nothing can be changed until that finished"})
				return
			}
		}
		// Every route of a customer answers 404 for a customer that was
		// never created (POST /customers), but for PUT .../m365, which
		// creates one (documented), DELETE, which says so itself, and the
		// audit trail and events, which outlive the customer.
		if strings.Contains(rt.path, "{customer}") && rt.op != OpOffboard && rt.op != OpWriteSettings &&
			rt.op != OpReadAudit && rt.op != OpReadEvents {
			known, err := a.known(r.Context(), customer)
			if err != nil {
				a.c.fail(out, r, "read the customer", err)
				return
			}
			if !known {
				writeProblem(out, Problem{Status: http.StatusNotFound, Code: codeNotFound,
					Detail: "no such customer; create it with POST /customers"})
				return
			}
		}
		rt.handle(out, r, customer)
	})
}

// reservedPrefix starts the names of tenantgate's internal records
// (_tenantgate.pending, _tenantgate.index, _tenantgate.fleet, ...): no
// customer may be called so.
const reservedPrefix = "_tenantgate."

// validCustomer reports whether a customer ID can name stored records
// and be audited: at most audit.MaxCustomerLen bytes (the tokenstore's
// limit too), printable, and not an internal record name.
func validCustomer(c string) bool {
	if c == "" || len(c) > min(tokenstore.MaxKeyPartLen, audit.MaxCustomerLen) || !utf8.ValidString(c) || strings.HasPrefix(c, reservedPrefix) {
		return false
	}
	for _, r := range c {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return tokenstore.Key{Customer: c, Kind: "x", Name: "x"}.Validate() == nil
}

// table lists every admin route.
func (a *admin) table() []route {
	const c = "/customers/{customer}"
	return []route{
		{method: "GET", path: c + "/m365", op: OpReadSettings, summary: "Read the Microsoft 365 settings (secrets only say whether they are set)",
			response: "Settings", status: 200, handle: a.getSettings},
		{method: "PUT", path: c + "/m365", op: OpWriteSettings, summary: "Save the Microsoft 365 settings (absent fields keep their value; If-Match with the version guards concurrent saves)",
			request: "SettingsUpdate", response: "Settings", status: 200, handle: a.putSettings},
		{method: "POST", path: c + "/m365/validate", op: OpValidate, summary: "Validate the authentication (get a token, read the tenant, check permissions)",
			response: "ValidationReport", status: 200, handle: a.validate},
		{method: "POST", path: c + "/m365/invitations", op: OpInvite, summary: "Send an invitation to the customer's Global Admin or service account",
			request: "InvitationRequest", response: "Invitation", status: 201, handle: a.sendInvitation},
		{method: "GET", path: c + "/m365/invitations", op: OpListInvites, summary: "List the customer's invitations, newest first",
			response: "InvitationList", status: 200, handle: a.listInvitations},
		{method: "DELETE", path: c + "/m365/invitations/{id}", op: OpInvite, summary: "Revoke an invitation",
			response: "Invitation", status: 200, handle: a.revokeInvitation},
		{method: "POST", path: c + "/m365/refresh-token", op: OpRefreshToken, summary: "Refresh the token now: a new wizard link for the service account to sign in again",
			response: "WizardLink", status: 201, handle: a.refreshToken},
		{method: "POST", path: c + "/m365/switch-to-token", op: OpSwitchMode, summary: "Switch to token authentication: the sign-in link whose completion flips the mode (open it in this browser)",
			response: "SignInLink", status: 200, handle: a.switchToToken},
		{method: "POST", path: c + "/m365/consent", op: OpConsent, summary: "Grant consent: the admin consent links of the app the customer's connection uses (its own app registration in appRegistration mode, else the provider's app): url for this browser, shareUrl for the customer's administrator",
			response: "ConsentLink", status: 200, handle: a.consent},
		{method: "GET", path: c + "/m365/status", op: OpReadStatus, summary: "The authentication status and its expiry forecasts",
			response: "Status", status: 200, handle: a.status},
		{method: "GET", path: c + "/m365/qoe", op: OpReadQoE, summary: "Read the QoE integration settings",
			response: "QoE", status: 200, handle: a.getQoE},
		{method: "PUT", path: c + "/m365/qoe", op: OpWriteQoE, summary: "Save the QoE integration settings",
			request: "QoEUpdate", response: "QoE", status: 200, handle: a.putQoE},
		{method: "POST", path: "/customers", op: OpWriteSettings, summary: "Create a customer with its Microsoft 365 settings; 409 when the ID is taken (PUT .../m365 replaces settings)",
			request: "CustomerCreate", response: "Settings", status: 201, bodyCustomer: true, handle: a.createCustomer},
		{method: "GET", path: "/customers", op: OpListCustomers, summary: "The fleet: every customer with its mode, state, the action a person must take, last validation and sync, nearest secret expiry; paged",
			response: "CustomerPage", status: 200, list: true, handle: a.listCustomers,
			query: []queryParam{{"limit", "integer", "page size, 1 to 500 (default 50)"}, {"after", "string", "the next cursor of the previous page"},
				{"state", "string", "only customers in this state"}, {"needsAction", "boolean", "only customers a person must act on"}}},
		{method: "GET", path: c, op: OpListCustomers, summary: "One customer of the fleet, with its next scheduled check and sync",
			response: "Customer", status: 200, handle: a.getCustomer},
		{method: "DELETE", path: c, op: OpOffboard, summary: "Offboard: revoke and erase everything held for the customer (tokens, secrets, invitations, subscriptions, synced users, call data), keeping its audit trail; idempotent",
			response: "Offboarding", status: 202, handle: a.offboard},
		{method: "POST", path: c + "/users/sync", op: OpSync, summary: "Start a user sync (a background job; a waiting scheduled sync is moved to now)",
			response: "SyncRun", status: 202, handle: a.startSync},
		{method: "GET", path: c + "/users/sync", op: OpReadUsers, summary: "The latest user sync: its progress while running, its result after",
			response: "SyncRun", status: 200, handle: a.getSync},
		{method: "DELETE", path: c + "/users/sync", op: OpSync, summary: "Cancel the queued or running user sync",
			response: "SyncRun", status: 202, handle: a.cancelSync},
		{method: "GET", path: c + "/users", op: OpReadUsers, summary: "The synced users, paged by UserPrincipalName",
			response: "UserPage", status: 200, handle: a.listUsers,
			query: []queryParam{{"limit", "integer", "page size, 1 to 1000 (default 100)"}, {"after", "string", "the next cursor of the previous page"},
				{"filter", "string", "a user filter (Get-CsOnlineUser syntax, Teams attributes included) evaluated on the stored users"},
				{"q", "string", "search text: users whose name, UPN or mail contains it, or whose phone number contains its digits; never changes the sync scope"}}},
		{method: "GET", path: c + "/users/scope-preview", op: OpReadUsers, summary: "Preview a new sync scope: how many synced users the next sync would remove if userFilter were saved; changes nothing",
			response: "ScopePreview", status: 200, handle: a.previewScope,
			query: []queryParam{{"userFilter", "string", "the sync scope to preview (Get-CsOnlineUser syntax; empty: everyone)"}}},
		{method: "GET", path: "/audit", op: OpReadAudit, summary: "The audit trail of every customer (or of the customer asked for): who changed what, newest first, paged",
			response: "AuditPage", status: 200, list: true, queryCustomer: true, handle: a.listAudit,
			query: append([]queryParam{{"customer", "string", "only this customer's entries"}}, auditParams...)},
		{method: "GET", path: c + "/audit", op: OpReadAudit, summary: "The customer's audit trail, newest first, paged (kept after offboarding)",
			response: "AuditPage", status: 200, handle: a.listAudit, query: auditParams},
		{method: "GET", path: c + "/audit/verify", op: OpReadAudit, summary: "Verify the hash chain of the customer's audit trail: intact, or the first entry changed, removed or inserted behind the trail's back",
			response: "AuditChainReport", status: 200, handle: a.verifyAudit},
		{method: "GET", path: c + "/events", op: OpReadEvents, summary: "The customer's lifecycle events (the webhook payloads), newest first, paged",
			response: "EventList", status: 200, handle: a.listEvents, query: eventParams},
		{method: "GET", path: "/events", op: OpReadEvents, summary: "The lifecycle events of every customer (or of the customer asked for), newest first, paged",
			response: "EventList", status: 200, list: true, queryCustomer: true, handle: a.listEvents,
			query: append([]queryParam{{"customer", "string", "only this customer's events"}}, eventParams...)},
		{method: "GET", path: "/webhooks/deliveries", op: OpReadEvents, summary: "The webhook delivery log: each event's delivery to each endpoint, its state and attempts, newest first, paged",
			response: "DeliveryList", status: 200, list: true, queryCustomer: true, handle: a.listDeliveries,
			query: append([]queryParam{{"customer", "string", "only this customer's deliveries"},
				{"state", "string", "only deliveries in this state: pending, queued, retrying, delivered, failed"}}, eventParams...)},
		{method: "POST", path: c + "/webhooks/deliveries/{event}/{endpoint}/replay", op: OpReplayWebhook,
			summary:  "Send a failed webhook delivery again: the same event (same webhook-id and body) to the same endpoint, with a fresh set of attempts; 409 unless it failed",
			response: "Delivery", status: 200, handle: a.replayDelivery},
		{method: "GET", path: "/openapi.json", op: OpReadAPIDocs, summary: "This OpenAPI document",
			status: 200, handle: a.openAPI},
	}
}

// The filters and paging of the audit, events and deliveries listings.
var (
	pageParams = []queryParam{{"limit", "integer", "page size, 1 to 500 (default 50)"},
		{"after", "string", "the next cursor of the previous page of the same query (another query's cursor is refused)"},
		{"from", "string", "only items at or after this time (RFC 3339, or YYYY-MM-DD for midnight UTC)"},
		{"to", "string", "only items before this time (RFC 3339, or YYYY-MM-DD for midnight UTC)"}}
	auditParams = append([]queryParam{{"action", "string", "only entries of this action (an Operation, such as settings.write)"},
		{"outcome", "string", "only entries with this outcome: succeeded, failed, denied, attempted"}}, pageParams...)
	eventParams = append([]queryParam{{"type", "string", "only events of this type"}}, pageParams...)
)

// unknownQuery refuses query parameters the route does not take (GET
// /audit?customer=x must not quietly answer every customer's rows).
func unknownQuery(r *http.Request, rt route) *Problem {
	var fields []FieldError
	for name := range r.URL.Query() {
		known := false
		for _, q := range rt.query {
			known = known || q.name == name
		}
		if !known {
			fields = append(fields, FieldError{Field: name, Code: "unknown", Message: "this route takes no query parameter " + safeText(name, 60)})
		}
	}
	if fields == nil {
		return nil
	}
	slices.SortFunc(fields, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	return &Problem{Status: http.StatusBadRequest, Code: codeBadQuery, Detail: "unknown query parameters", Fields: fields}
}
