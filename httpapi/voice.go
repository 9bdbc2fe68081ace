package httpapi

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tenantgate/tenantgate/voice"
)

// Voice is what the handlers use of a *voice.Service, which satisfies it.
type Voice interface {
	Numbers(ctx context.Context, customer string, q voice.NumberQuery) (voice.NumberPage, error)
	StartRefresh(ctx context.Context, customer, actor string) (*voice.Operation, error)
	RangeStats(ctx context.Context, customer string) ([]voice.RangeStats, error)
	PutRanges(ctx context.Context, customer string, rs []voice.Range) ([]voice.Range, error)
	Voice(ctx context.Context, customer, user string) (voice.UserVoice, error)
	SetVoice(ctx context.Context, customer, user string, req voice.SetRequest, actor string) (*voice.Operation, error)
	Release(ctx context.Context, customer, user string, req voice.ReleaseRequest, actor string) (*voice.Operation, error)
	Operations(ctx context.Context, customer string, q voice.OperationQuery) (voice.OperationPage, error)
	Operation(ctx context.Context, customer, id string) (*voice.Operation, error)
	Cancel(ctx context.Context, customer, id, actor string) (*voice.Operation, error)
}

// The operations of the voice routes, for the Authorizer.
const (
	OpReadVoice  Operation = "voice.read"
	OpWriteVoice Operation = "voice.write"
)

func init() {
	arr := func(items any) map[string]any { return map[string]any{"type": "array", "items": items} }
	numberType := enum("directRouting", "callingPlan", "operatorConnect")
	userRef := obj(map[string]any{"id": str, "userPrincipalName": str}, "id")
	rangeProps := map[string]any{"name": str, "from": str, "to": str, "type": numberType, "locationId": str, "quarantineDays": integer}
	statsProps := maps.Clone(rangeProps)
	maps.Copy(statsProps, map[string]any{"numbers": integer, "free": integer, "assigned": integer, "reserved": integer, "quarantined": integer})
	maps.Copy(schemas, map[string]any{
		"VoiceNumberPage": obj(map[string]any{"numbers": arr(obj(map[string]any{
			"number": str, "type": numberType, "status": enum("assigned", "unassigned"), "assignmentStatus": str, "activationState": str,
			"user": userRef, "category": str, "city": str, "country": str,
			"locationId": str, "range": str, "reserved": boolean, "quarantinedUntil": when, "refreshedAt": when,
		}, "number", "type", "status", "reserved")), "next": str, "total": integer}, "numbers", "total"),
		"VoiceRanges":    obj(map[string]any{"ranges": arr(obj(statsProps, "name", "from", "to", "type", "quarantineDays"))}, "ranges"),
		"VoiceRangesPut": obj(map[string]any{"ranges": arr(obj(rangeProps, "name", "from", "to", "type"))}, "ranges"),
		"UserVoice": obj(map[string]any{"user": userRef, "accountEnabled": boolean, "usageLocation": str, "licenses": arr(str),
			"enterpriseVoiceEnabled": boolean,
			"numbers":                arr(obj(map[string]any{"number": str, "type": numberType, "category": str, "activationState": str, "locationId": str}, "number", "type")),
			"policies":               map[string]any{"type": "object", "additionalProperties": str, "description": "policy type -> name; null when the Global policy applies"}, "ready": boolean,
			"checks": arr(obj(map[string]any{"name": str, "ok": boolean, "detail": str,
				"action": enum("assignLicense", "assignNumber", "assignPolicy", "setLocation", "setUsageLocation", "enableAccount", "grantConsent")}, "name", "ok")),
		}, "user", "licenses", "enterpriseVoiceEnabled", "numbers", "policies", "ready", "checks"),
		"UserVoiceSet": obj(map[string]any{"number": map[string]any{"type": "string", "description": `an E.164 number of the tenant, or "next" (the range's lowest free number)`},
			"range": str, "numberType": numberType, "category": enum("primary", "private", "alternate"), "locationId": str,
			"policies": map[string]any{"type": "object", "additionalProperties": str, "description": `policy type -> policy name; "Global" removes the direct assignment`},
			"licenses": enum("auto")}),
		"VoiceOperation": obj(map[string]any{"id": str, "kind": enum("set", "release", "apply", "refresh"),
			"state": enum("queued", "running", "succeeded", "failed", "partial", "canceled"), "actor": str,
			"total": integer, "succeeded": integer, "failed": integer, "progress": map[string]any{"type": "number"},
			"customer": str, "createdAt": when, "updatedAt": when, "finishedAt": when,
			"created":  map[string]any{"type": "string", "format": "date-time", "description": "createdAt under the name design.md fixes for the operation shape"},
			"finished": map[string]any{"type": "string", "format": "date-time", "description": "finishedAt under the name design.md fixes for the operation shape"},
			"items": arr(obj(map[string]any{"user": str, "userId": str, "state": str, "steps": arr(obj(map[string]any{
				"step":   map[string]any{"type": "string", "description": "license, number or policy:<type>"},
				"status": enum("pending", "running", "succeeded", "failed", "unchanged", "canceled", "skipped"), "detail": str, "number": str,
			}, "step", "status"))}, "user", "userId", "state", "steps")),
		}, "id", "kind", "state", "total", "succeeded", "failed", "progress", "createdAt", "created", "updatedAt", "items"),
		"VoiceOperationPage": obj(map[string]any{"operations": arr(ref("VoiceOperation")), "next": str}, "operations"),
	})
}

// voiceRoutes are the Teams Phone provisioning routes.
func (a *admin) voiceRoutes() []route {
	const c = "/customers/{customer}"
	page := []queryParam{{"limit", "integer", "page size"}, {"after", "string", "the next cursor of the previous page"}}
	return []route{
		{method: "GET", path: c + "/voice/numbers", op: OpReadVoice, summary: "The number inventory as last read from Microsoft, with the provider's range, reservation and quarantine; paged by number",
			response: "VoiceNumberPage", status: 200, handle: a.voiceNumbers,
			query: append([]queryParam{{"status", "string", "assigned or unassigned"}, {"type", "string", "directRouting, callingPlan or operatorConnect"},
				{"prefix", "string", "numbers starting with it (+3902)"}, {"range", "string", "numbers of this range"},
				{"user", "string", "numbers assigned to this user (object ID or UPN)"}}, page...)},
		{method: "POST", path: c + "/voice/numbers/refresh", op: OpWriteVoice, summary: "Read the inventory from Microsoft again as an operation (kind refresh; its inventory step says how many numbers were read): 202 with Location; a refresh already queued or running is answered instead of a second (the fleet also reads every inventory on a schedule)",
			response: "VoiceOperation", status: 202, handle: a.voiceRefresh},
		{method: "GET", path: c + "/voice/ranges", op: OpReadVoice, summary: "The provider's number ranges for the customer, with free, assigned, reserved and quarantined counts",
			response: "VoiceRanges", status: 200, handle: a.voiceRanges},
		{method: "PUT", path: c + "/voice/ranges", op: OpWriteVoice, summary: "Replace the customer's number ranges (overlapping ranges are refused)",
			request: "VoiceRangesPut", response: "VoiceRanges", status: 200, handle: a.voicePutRanges},
		{method: "GET", path: c + "/users/{user}/voice", op: OpReadVoice, summary: "The user's voice as Microsoft holds it now and its readiness: each failed check with its action ({user}: UPN or object ID)",
			response: "UserVoice", status: 200, handle: a.userVoice},
		{method: "PUT", path: c + "/users/{user}/voice", op: OpWriteVoice, summary: "Set the user's voice (licenses, number, policies) as an operation: 202 with Location; 200 when already so; 409/422 refused with nothing changed",
			request: "UserVoiceSet", response: "VoiceOperation", status: 202, handle: a.setUserVoice},
		{method: "DELETE", path: c + "/users/{user}/voice", op: OpWriteVoice, summary: "Release the user's voice: unassign the numbers (to quarantine), remove direct voice policies; ?licenses=remove also the voice licenses",
			response: "VoiceOperation", status: 202, handle: a.releaseUserVoice,
			query: []queryParam{{"licenses", "string", "remove: also remove the voice licenses"}}},
		{method: "GET", path: c + "/voice/operations", op: OpReadVoice, summary: "Voice operations, newest first, paged",
			response: "VoiceOperationPage", status: 200, handle: a.voiceOperations,
			query: append([]queryParam{{"state", "string", "only operations in this state"}}, page...)},
		{method: "GET", path: c + "/voice/operations/{id}", op: OpReadVoice, summary: "One voice operation with each user's steps",
			response: "VoiceOperation", status: 200, handle: a.voiceOperation},
		{method: "POST", path: c + "/voice/operations/{id}/cancel", op: OpWriteVoice, summary: "Cancel a queued or running operation (steps not started never run)",
			response: "VoiceOperation", status: 200, handle: a.cancelVoiceOperation},
	}
}

func (a *admin) voiceConfigured(w http.ResponseWriter) bool {
	if a.c.Voice == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "Teams Phone provisioning is not configured"})
		return false
	}
	return true
}

// snake turns a voice error code (numberTaken) into the API's style
// (number_taken).
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// voiceFail answers a voice error: a refused request with its code,
// field and action; bad ranges with every field.
func (a *admin) voiceFail(w http.ResponseWriter, r *http.Request, op string, err error) {
	var fes []*voice.FieldError
	collect := func(e error) {
		var fe *voice.FieldError
		if errors.As(e, &fe) {
			fes = append(fes, fe)
		}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collect(e)
		}
	} else {
		collect(err)
	}
	if len(fes) > 0 {
		p := Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation, Detail: "the ranges are not valid"}
		for _, fe := range fes {
			p.Fields = append(p.Fields, FieldError{Field: fe.Field, Code: "invalid", Message: safeText(fe.Reason, 300)})
		}
		writeProblem(w, p)
		return
	}
	if e, ok := voice.AsError(err); ok && e.Code != voice.CodePolicyTypeRefused || ok && e.Field != "" {
		p := Problem{Status: e.HTTPStatus(), Code: snake(string(e.Code)), Detail: safeText(e.Detail, 500), Action: string(e.Action)}
		if p.Status == http.StatusBadGateway {
			p.Status = http.StatusUnprocessableEntity
		}
		if e.Field != "" {
			p.Fields = []FieldError{{Field: e.Field, Code: snake(string(e.Code)), Message: safeText(e.Detail, 300)}}
		}
		a.c.Logger.InfoContext(r.Context(), "httpapi: voice request refused", "op", op, "customer", r.PathValue("customer"), "code", string(e.Code))
		writeProblem(w, p)
		return
	}
	a.c.fail(w, r, op, err)
}

func (a *admin) voiceNumbers(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	q := r.URL.Query()
	nq := voice.NumberQuery{Status: q.Get("status"), Type: voice.NumberType(q.Get("type")), Prefix: q.Get("prefix"),
		Range: q.Get("range"), User: q.Get("user"), After: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			badQuery(w, "limit", "limit must be 1 to 1000")
			return
		}
		nq.Limit = n
	}
	page, err := a.c.Voice.Numbers(r.Context(), customer, nq)
	if e, ok := voice.AsError(err); ok && e.Code == voice.CodeInvalid {
		badQuery(w, e.Field, e.Detail)
		return
	}
	if err != nil {
		a.voiceFail(w, r, "voice numbers", err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *admin) voiceRefresh(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	op, err := a.c.Voice.StartRefresh(r.Context(), customer, a.c.actor(r))
	if err != nil {
		a.voiceFail(w, r, "voice refresh", err)
		return
	}
	a.writeOperation(w, r, op, http.StatusAccepted)
}

// rangesJSON is GET and PUT voice/ranges.
type rangesJSON struct {
	Ranges []rangeJSON `json:"ranges"`
}

// rangesPutJSON is the body of PUT voice/ranges.
type rangesPutJSON struct {
	Ranges []voice.Range `json:"ranges"`
}

// rangeJSON is a range with its counts.
type rangeJSON struct {
	Name           string           `json:"name"`
	From           string           `json:"from"`
	To             string           `json:"to"`
	Type           voice.NumberType `json:"type"`
	LocationID     string           `json:"locationId,omitempty"`
	QuarantineDays int              `json:"quarantineDays"`
	Numbers        int              `json:"numbers"`
	Free           int              `json:"free"`
	Assigned       int              `json:"assigned"`
	Reserved       int              `json:"reserved"`
	Quarantined    int              `json:"quarantined"`
}

func (a *admin) writeRanges(w http.ResponseWriter, r *http.Request, customer string) {
	st, err := a.c.Voice.RangeStats(r.Context(), customer)
	if err != nil {
		a.voiceFail(w, r, "voice ranges", err)
		return
	}
	out := rangesJSON{Ranges: make([]rangeJSON, len(st))}
	for i, s := range st {
		out.Ranges[i] = rangeJSON{Name: s.Name, From: s.From, To: s.To, Type: s.Type, LocationID: s.LocationID,
			QuarantineDays: s.QuarantineDays, Numbers: s.Numbers, Free: s.Free, Assigned: s.Assigned, Reserved: s.Reserved, Quarantined: s.Quarantined}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) voiceRanges(w http.ResponseWriter, r *http.Request, customer string) {
	if a.voiceConfigured(w) {
		a.writeRanges(w, r, customer)
	}
}

func (a *admin) voicePutRanges(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	var in rangesPutJSON
	if p := decodeJSON(w, r, &in); p != nil {
		writeProblem(w, *p)
		return
	}
	if in.Ranges == nil {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation, Detail: "ranges is required ([] removes every range)",
			Fields: []FieldError{{Field: "/ranges", Code: "required", Message: "required"}}})
		return
	}
	if _, err := a.c.Voice.PutRanges(r.Context(), customer, in.Ranges); err != nil {
		a.voiceFail(w, r, "voice put ranges", err)
		return
	}
	a.writeRanges(w, r, customer)
}

// userKey reads {user}: a UPN or an object ID.
func userKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	u := strings.TrimSpace(r.PathValue("user"))
	if u == "" || len(u) > 256 || strings.ContainsFunc(u, func(c rune) bool { return c < 0x21 || c == 0x7f || c == '/' || c == '?' || c == '#' }) {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: "invalid_user", Detail: "{user} must be a user principal name or an object ID",
			Fields: []FieldError{{Field: "user", Code: "invalid", Message: "a user principal name or an object ID"}}})
		return "", false
	}
	return u, true
}

func (a *admin) userVoice(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	u, ok := userKey(w, r)
	if !ok {
		return
	}
	v, err := a.c.Voice.Voice(r.Context(), customer, u)
	if err != nil {
		a.voiceFail(w, r, "user voice", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// operationJSON is an operation with its progress (0 to 1).
type operationJSON struct {
	ID         string              `json:"id"`
	Customer   string              `json:"customer"`
	Kind       voice.OperationKind `json:"kind"`
	State      voice.State         `json:"state"`
	Actor      string              `json:"actor,omitempty"`
	Total      int                 `json:"total"`
	Succeeded  int                 `json:"succeeded"`
	Failed     int                 `json:"failed"`
	Progress   float64             `json:"progress"`
	CreatedAt  time.Time           `json:"createdAt"`
	UpdatedAt  time.Time           `json:"updatedAt"`
	FinishedAt *time.Time          `json:"finishedAt,omitempty"`
	// Created and Finished repeat CreatedAt and FinishedAt under the
	// names design.md fixes for the operation shape.
	Created  time.Time    `json:"created"`
	Finished *time.Time   `json:"finished,omitempty"`
	Items    []voice.Item `json:"items"`
}

func operationOf(op *voice.Operation) operationJSON {
	return operationJSON{ID: op.ID, Customer: op.Customer, Kind: op.Kind, State: op.State, Actor: op.Actor, Total: op.Total,
		Succeeded: op.Succeeded, Failed: op.Failed, Progress: op.Progress(), CreatedAt: op.Created, UpdatedAt: op.Updated,
		FinishedAt: op.Finished, Created: op.Created, Finished: op.Finished, Items: op.Items}
}

// operationPageJSON is GET voice/operations.
type operationPageJSON struct {
	Operations []operationJSON `json:"operations"`
	Next       string          `json:"next,omitempty"`
}

// writeOperation answers an operation: 202 with Location while it is
// queued, else status.
func (a *admin) writeOperation(w http.ResponseWriter, r *http.Request, op *voice.Operation, status int) {
	if !op.State.Done() && status == http.StatusAccepted {
		w.Header().Set("Location", customerLocation(r, op.Customer)+"/voice/operations/"+url.PathEscape(op.ID))
	} else if status == http.StatusAccepted {
		status = http.StatusOK
	}
	writeJSON(w, status, operationOf(op))
}

func (a *admin) setUserVoice(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	u, ok := userKey(w, r)
	if !ok {
		return
	}
	var in voice.SetRequest
	if p := decodeJSON(w, r, &in); p != nil {
		writeProblem(w, *p)
		return
	}
	op, err := a.c.Voice.SetVoice(r.Context(), customer, u, in, a.c.actor(r))
	if err != nil {
		a.voiceFail(w, r, "set user voice", err)
		return
	}
	a.writeOperation(w, r, op, http.StatusAccepted)
}

func (a *admin) releaseUserVoice(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	u, ok := userKey(w, r)
	if !ok {
		return
	}
	var req voice.ReleaseRequest
	switch v := r.URL.Query().Get("licenses"); v {
	case "":
	case "remove":
		req.RemoveLicenses = true
	default:
		badQuery(w, "licenses", "licenses must be remove or absent")
		return
	}
	op, err := a.c.Voice.Release(r.Context(), customer, u, req, a.c.actor(r))
	if err != nil {
		a.voiceFail(w, r, "release user voice", err)
		return
	}
	a.writeOperation(w, r, op, http.StatusAccepted)
}

func (a *admin) voiceOperations(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	q := r.URL.Query()
	oq := voice.OperationQuery{State: voice.State(q.Get("state")), After: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			badQuery(w, "limit", "limit must be 1 to 500")
			return
		}
		oq.Limit = n
	}
	page, err := a.c.Voice.Operations(r.Context(), customer, oq)
	if e, ok := voice.AsError(err); ok && e.Code == voice.CodeInvalid {
		badQuery(w, e.Field, e.Detail)
		return
	}
	if err != nil {
		a.voiceFail(w, r, "voice operations", err)
		return
	}
	out := operationPageJSON{Operations: make([]operationJSON, len(page.Operations)), Next: page.Next}
	for i, op := range page.Operations {
		out.Operations[i] = operationOf(op)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) voiceOperation(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	op, err := a.c.Voice.Operation(r.Context(), customer, r.PathValue("id"))
	if err != nil {
		a.voiceFail(w, r, "voice operation", err)
		return
	}
	writeJSON(w, http.StatusOK, operationOf(op))
}

func (a *admin) cancelVoiceOperation(w http.ResponseWriter, r *http.Request, customer string) {
	if !a.voiceConfigured(w) {
		return
	}
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	op, err := a.c.Voice.Cancel(r.Context(), customer, r.PathValue("id"), a.c.actor(r))
	if err != nil {
		a.voiceFail(w, r, "cancel voice operation", err)
		return
	}
	writeJSON(w, http.StatusOK, operationOf(op))
}
