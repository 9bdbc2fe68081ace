package httpapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tenantgate/tenantgate/qoe"
)

// QoE is what the handlers use of a *qoe.Service, which satisfies it.
type QoE interface {
	Summary(ctx context.Context, customer string, from, to time.Time) (qoe.Summary, error)
	Calls(ctx context.Context, customer string, q qoe.CallQuery) (qoe.CallPage, error)
	PSTN(ctx context.Context, customer string, from, to time.Time) (qoe.PSTNReport, error)
	Validate(ctx context.Context, customer string) (*qoe.Report, error)
	Status(ctx context.Context, customer string) (qoe.SubscriptionStatus, error)
	EnsureSubscription(ctx context.Context, customer string) error
	DeleteSubscription(ctx context.Context, customer string) error
	Handler() http.Handler
}

// OpValidateQoE validates a customer's QoE integration.
const OpValidateQoE Operation = "qoe.validate"

// defaultQoEDays is the range of a summary without from.
const defaultQoEDays = 30

// qoeSummaryJSON is GET qoe/summary.
type qoeSummaryJSON struct {
	Calls        int                 `json:"calls"`
	PoorCalls    int                 `json:"poorCalls"`
	PoorRate     float64             `json:"poorRate"`
	PoorByReason qoeByReasonJSON     `json:"poorByReason"`
	Days         []qoeDayJSON        `json:"days"`
	Subscription qoeSubscriptionJSON `json:"subscription"`
}

type qoeByReasonJSON struct {
	Jitter     int `json:"jitter"`
	PacketLoss int `json:"packetLoss"`
	RoundTrip  int `json:"roundTrip"`
}

type qoeDayJSON struct {
	Date      string `json:"date"`
	Calls     int    `json:"calls"`
	PoorCalls int    `json:"poorCalls"`
}

// qoeSubscriptionJSON is the state of the call records subscription.
type qoeSubscriptionJSON struct {
	State          string     `json:"state"`
	SubscriptionID string     `json:"subscriptionId,omitempty"`
	ExpiresAt      *time.Time `json:"expiresAt,omitempty"`
	RenewedAt      *time.Time `json:"renewedAt,omitempty"`
	LastError      string     `json:"lastError,omitempty"`
	LastCallAt     *time.Time `json:"lastCallAt,omitempty"`
	Rejected       int64      `json:"rejected"`
}

func subscriptionJSON(st qoe.SubscriptionStatus) qoeSubscriptionJSON {
	return qoeSubscriptionJSON{State: string(st.State), SubscriptionID: st.SubscriptionID, ExpiresAt: st.ExpiresAt,
		RenewedAt: st.RenewedAt, LastError: safeText(st.LastError, 300), LastCallAt: st.LastCallStart, Rejected: st.Rejected}
}

// qoeCallPageJSON is GET qoe/calls.
type qoeCallPageJSON struct {
	Calls []qoeCallJSON `json:"calls"`
	Next  string        `json:"next,omitempty"`
}

type qoeCallJSON struct {
	ID          string    `json:"id"`
	StartedAt   time.Time `json:"startedAt"`
	EndedAt     time.Time `json:"endedAt"`
	Quality     string    `json:"quality"`
	PoorReasons []string  `json:"poorReasons"`
	Caller      string    `json:"caller"`
	Callee      string    `json:"callee"`
}

// qoePSTNJSON is GET qoe/pstn.
type qoePSTNJSON struct {
	Trunks      []qoeTrunkJSON     `json:"trunks"`
	CallingPlan qoeCallingPlanJSON `json:"callingPlan"`
	PulledAt    *time.Time         `json:"pulledAt,omitempty"`
}

type qoeTrunkJSON struct {
	FQDN      string           `json:"fqdn"`
	Attempts  int              `json:"attempts"`
	Successes int              `json:"successes"`
	Minutes   float64          `json:"minutes"`
	SIPCodes  []qoeSIPCodeJSON `json:"sipCodes"`
}

type qoeSIPCodeJSON struct {
	Code  int `json:"code"`
	Count int `json:"count"`
}

type qoeCallingPlanJSON struct {
	Calls   int     `json:"calls"`
	Minutes float64 `json:"minutes"`
}

// qoeReportJSON is POST m365/qoe/validate.
type qoeReportJSON struct {
	OK           bool                `json:"ok"`
	Checks       []qoeCheckJSON      `json:"checks"`
	Subscription qoeSubscriptionJSON `json:"subscription"`
}

type qoeCheckJSON struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Required bool   `json:"required"`
	Detail   string `json:"detail"`
	Action   string `json:"action,omitempty"`
}

var number = map[string]any{"type": "number"}

func init() {
	maps.Copy(schemas, map[string]any{
		"QoESubscription": obj(map[string]any{"state": enum("none", "active", "expiring", "expired", "failed"), "subscriptionId": str,
			"expiresAt": when, "renewedAt": when, "lastError": str, "lastCallAt": when, "rejected": integer}, "state", "rejected"),
		"QoESummary": obj(map[string]any{"calls": integer, "poorCalls": integer, "poorRate": number,
			"poorByReason": obj(map[string]any{"jitter": integer, "packetLoss": integer, "roundTrip": integer}, "jitter", "packetLoss", "roundTrip"),
			"days":         map[string]any{"type": "array", "items": obj(map[string]any{"date": str, "calls": integer, "poorCalls": integer}, "date", "calls", "poorCalls")},
			"subscription": ref("QoESubscription")}, "calls", "poorCalls", "poorRate", "poorByReason", "days", "subscription"),
		"QoECallPage": obj(map[string]any{"calls": map[string]any{"type": "array", "items": obj(map[string]any{
			"id": str, "startedAt": when, "endedAt": when, "quality": enum("good", "poor", "unclassified"),
			"poorReasons": map[string]any{"type": "array", "items": enum("jitter", "packetLoss", "roundTrip")}, "caller": str, "callee": str,
		}, "id", "startedAt", "endedAt", "quality", "poorReasons", "caller", "callee")}, "next": str}, "calls"),
		"QoEPSTN": obj(map[string]any{"trunks": map[string]any{"type": "array", "items": obj(map[string]any{
			"fqdn": str, "attempts": integer, "successes": integer, "minutes": number,
			"sipCodes": map[string]any{"type": "array", "items": obj(map[string]any{"code": integer, "count": integer}, "code", "count")},
		}, "fqdn", "attempts", "successes", "minutes", "sipCodes")},
			"callingPlan": obj(map[string]any{"calls": integer, "minutes": number}, "calls", "minutes"), "pulledAt": when}, "trunks", "callingPlan"),
		"QoEValidationReport": obj(map[string]any{"ok": boolean, "checks": map[string]any{"type": "array", "items": obj(map[string]any{
			"name": str, "ok": boolean, "required": boolean, "detail": str, "action": str}, "name", "ok", "required", "detail")},
			"subscription": ref("QoESubscription")}, "ok", "checks", "subscription"),
	})
}

// qoeRoutes are the QoE routes of the admin API.
func (a *admin) qoeRoutes() []route {
	const c = "/customers/{customer}"
	rangeParams := []queryParam{{"from", "string", "first day, YYYY-MM-DD or RFC 3339 (UTC day; default 29 days before to)"},
		{"to", "string", "last day, YYYY-MM-DD or RFC 3339 (UTC day; default today)"}}
	return []route{
		{method: "GET", path: c + "/qoe/summary", op: OpReadQoE, summary: "Call quality: calls, poor calls, poor rate, poor calls by reason and per day, and the subscription's state",
			response: "QoESummary", status: 200, handle: a.qoeSummary, query: rangeParams},
		{method: "GET", path: c + "/qoe/calls", op: OpReadQoE, summary: "Calls with their quality class and poor reasons, newest first, paged",
			response: "QoECallPage", status: 200, handle: a.qoeCalls,
			query: []queryParam{{"from", "string", "start at or after, RFC 3339 or YYYY-MM-DD (default 7 days ago)"},
				{"to", "string", "start before, RFC 3339 or YYYY-MM-DD (a day means its end; default now)"},
				{"poor", "boolean", "only poor calls"}, {"limit", "integer", "page size, 1 to 1000 (default 100)"},
				{"after", "string", "the next cursor of the previous page"}}},
		{method: "GET", path: c + "/qoe/pstn", op: OpReadQoE, summary: "Direct Routing PSTN calls per SBC (attempts, successes, final SIP codes, minutes) and Calling Plan calls",
			response: "QoEPSTN", status: 200, handle: a.qoePSTN, query: rangeParams},
		{method: "POST", path: c + "/m365/qoe/validate", op: OpValidateQoE, summary: "Validate QoE: a token for the QoE app, the CallRecords.Read.All role, a healthy subscription; each failure with its action",
			response: "QoEValidationReport", status: 200, handle: a.qoeValidate},
	}
}

func (a *admin) qoeConfigured(w http.ResponseWriter) bool {
	if a.c.QoE == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "QoE is not configured"})
		return false
	}
	return true
}

func badQuery(w http.ResponseWriter, field, msg string) {
	writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadQuery, Detail: msg,
		Fields: []FieldError{{Field: field, Code: "invalid", Message: msg}}})
}

// parseDay reads a query time: YYYY-MM-DD (midnight UTC; dayEnd moves it
// to the next midnight) or RFC 3339.
func parseDay(v string, dayEnd bool) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if dayEnd {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t.UTC(), err == nil
}

// dayRange reads from and to as UTC days, to defaulting to today and
// from to 29 days before to.
func dayRange(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	q := r.URL.Query()
	to := time.Now().UTC()
	if v := q.Get("to"); v != "" {
		t, ok := parseDay(v, false)
		if !ok {
			badQuery(w, "to", "to must be YYYY-MM-DD or an RFC 3339 time")
			return time.Time{}, time.Time{}, false
		}
		to = t
	}
	from := to.AddDate(0, 0, -(defaultQoEDays - 1))
	if v := q.Get("from"); v != "" {
		t, ok := parseDay(v, false)
		if !ok {
			badQuery(w, "from", "from must be YYYY-MM-DD or an RFC 3339 time")
			return time.Time{}, time.Time{}, false
		}
		from = t
	}
	return from, to, true
}

func (a *admin) qoeFail(w http.ResponseWriter, r *http.Request, op string, err error) {
	switch {
	case errors.Is(err, qoe.ErrBadRange):
		badQuery(w, "from", "from must not be after to, and the range at most 366 days")
	case errors.Is(err, qoe.ErrBadCursor):
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadCursor, Detail: "after must be the next cursor of a previous page",
			Fields: []FieldError{{Field: "after", Code: "invalid", Message: "not a cursor this API returned"}}})
	default:
		a.c.fail(w, r, op, err)
	}
}

func (a *admin) qoeSummary(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.qoeConfigured(w) {
		return
	}
	from, to, ok := dayRange(w, r)
	if !ok {
		return
	}
	s, err := a.c.QoE.Summary(r.Context(), customer, from, to)
	if err != nil {
		a.qoeFail(w, r, "qoe summary", err)
		return
	}
	st, err := a.c.QoE.Status(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "qoe status", err)
		return
	}
	out := qoeSummaryJSON{Calls: s.Calls, PoorCalls: s.PoorCalls, PoorRate: s.PoorRate,
		PoorByReason: qoeByReasonJSON(s.PoorByReason), Days: make([]qoeDayJSON, len(s.Days)), Subscription: subscriptionJSON(st)}
	for i, d := range s.Days {
		out.Days[i] = qoeDayJSON(d)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) qoeCalls(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.qoeConfigured(w) {
		return
	}
	q := r.URL.Query()
	cq := qoe.CallQuery{To: time.Now().UTC(), After: q.Get("after")}
	if v := q.Get("to"); v != "" {
		t, ok := parseDay(v, true)
		if !ok {
			badQuery(w, "to", "to must be YYYY-MM-DD or an RFC 3339 time")
			return
		}
		cq.To = t
	}
	cq.From = cq.To.AddDate(0, 0, -7)
	if v := q.Get("from"); v != "" {
		t, ok := parseDay(v, false)
		if !ok {
			badQuery(w, "from", "from must be YYYY-MM-DD or an RFC 3339 time")
			return
		}
		cq.From = t
	}
	if v := q.Get("poor"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			badQuery(w, "poor", "poor must be true or false")
			return
		}
		cq.Poor = b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			badQuery(w, "limit", "limit must be 1 to 1000")
			return
		}
		cq.Limit = n
	}
	if !cq.To.After(cq.From) {
		badQuery(w, "from", "from must be before to")
		return
	}
	page, err := a.c.QoE.Calls(r.Context(), customer, cq)
	if err != nil {
		a.qoeFail(w, r, "qoe calls", err)
		return
	}
	out := qoeCallPageJSON{Calls: make([]qoeCallJSON, len(page.Calls)), Next: page.Next}
	for i, c := range page.Calls {
		rs := make([]string, len(c.PoorReasons))
		for j, r := range c.PoorReasons {
			rs[j] = string(r)
		}
		out.Calls[i] = qoeCallJSON{ID: c.ID, StartedAt: c.StartDateTime, EndedAt: c.EndDateTime, Quality: string(c.Quality),
			PoorReasons: rs, Caller: c.Caller, Callee: c.Callee}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) qoePSTN(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.qoeConfigured(w) {
		return
	}
	from, to, ok := dayRange(w, r)
	if !ok {
		return
	}
	rep, err := a.c.QoE.PSTN(r.Context(), customer, from, to)
	if err != nil {
		a.qoeFail(w, r, "qoe pstn", err)
		return
	}
	out := qoePSTNJSON{Trunks: make([]qoeTrunkJSON, len(rep.Trunks)), CallingPlan: qoeCallingPlanJSON(rep.CallingPlan), PulledAt: rep.PulledAt}
	for i, t := range rep.Trunks {
		tj := qoeTrunkJSON{FQDN: t.FQDN, Attempts: t.Attempts, Successes: t.Successes, Minutes: t.Minutes, SIPCodes: []qoeSIPCodeJSON{}}
		for _, k := range slices.Sorted(maps.Keys(t.SIPCodes)) {
			code, _ := strconv.Atoi(k)
			tj.SIPCodes = append(tj.SIPCodes, qoeSIPCodeJSON{Code: code, Count: t.SIPCodes[k]})
		}
		out.Trunks[i] = tj
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) qoeValidate(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.qoeConfigured(w) {
		return
	}
	rep, err := a.c.QoE.Validate(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "validate qoe", err)
		return
	}
	st, err := a.c.QoE.Status(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "qoe status", err)
		return
	}
	out := qoeReportJSON{OK: rep.OK, Checks: make([]qoeCheckJSON, len(rep.Checks)), Subscription: subscriptionJSON(st)}
	for i, c := range rep.Checks {
		out.Checks[i] = qoeCheckJSON{Name: c.Name, OK: c.OK, Required: c.Required, Detail: safeText(c.Detail, 500), Action: c.Action}
	}
	writeJSON(w, http.StatusOK, out)
}

// syncQoESubscription brings the subscription in line with freshly saved
// QoE settings; a failure is logged and shows in the subscription's
// state (GET qoe/summary, POST m365/qoe/validate), the save stands.
func (a *admin) syncQoESubscription(r *http.Request, customer string) {
	if a.c.QoE == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 20*time.Second)
	defer cancel()
	if err := a.c.QoE.EnsureSubscription(ctx, customer); err != nil {
		a.c.Logger.WarnContext(ctx, "httpapi: the QoE subscription could not be brought up to date", "customer", customer, "err", err.Error())
	}
}

// dropQoESubscription deletes the subscription while the QoE credentials
// still exist, before an update clears them.
func (a *admin) dropQoESubscription(r *http.Request, customer string, in qoeUpdateJSON) {
	if a.c.QoE == nil {
		return
	}
	clears := (in.AppID != nil && *in.AppID == "") || (in.ClientSecret != nil && *in.ClientSecret == "")
	if !clears {
		return
	}
	if err := a.c.QoE.DeleteSubscription(r.Context(), customer); err != nil {
		a.c.Logger.WarnContext(r.Context(), "httpapi: deleting the QoE subscription failed", "customer", customer, "err", err.Error())
	}
}
