package httpapi

import (
	"context"
	"maps"
	"net/http"

	"github.com/tenantgate/tenantgate/voice"
)

// VoiceFleet is what GET /voice uses of a *voice.Service, which
// satisfies it; the route is served when Config.Voice is one.
type VoiceFleet interface {
	Fleet(ctx context.Context, q voice.FleetQuery) (voice.FleetPage, error)
}

var _ VoiceFleet = (*voice.Service)(nil)

func init() {
	arr := func(items any) map[string]any { return map[string]any{"type": "array", "items": items} }
	maps.Copy(schemas, map[string]any{
		"VoiceFleetPage": obj(map[string]any{"customers": arr(obj(map[string]any{
			"customer": str, "name": str, "users": integer, "ready": integer, "notReadyTotal": integer,
			"notReady": map[string]any{"type": "object", "additionalProperties": integer,
				"description": "users not ready by their first failed check (accountEnabled, usageLocation, teamsPhoneLicense, enterpriseVoice, primaryNumber, voiceRoutingPolicy, callingPlanLicense, emergencyLocation)"},
			"summarizedAt": map[string]any{"type": []any{"string", "null"}, "format": "date-time", "description": "when the users were counted (after a user sync); null before"},
			"ranges": arr(obj(map[string]any{"name": str, "type": enum("directRouting", "callingPlan", "operatorConnect"), "numbers": integer,
				"free": integer, "reserved": integer, "quarantined": integer,
				"level": map[string]any{"type": "string", "enum": []any{"ok", "low", "exhausted", ""}, "description": "empty when the tenant holds none of the range's numbers"}},
				"name", "type", "numbers", "free", "level")),
			"rangesAt": map[string]any{"type": []any{"string", "null"}, "format": "date-time"},
			"running":  integer,
		}, "customer", "users", "ready", "notReady", "notReadyTotal", "summarizedAt", "ranges", "rangesAt", "running")),
			"next": str, "total": integer}, "customers", "total"),
	})
}

// voiceFleetRoutes are the fleet-wide voice routes.
func (a *admin) voiceFleetRoutes() []route {
	return []route{
		{method: "GET", path: "/voice", op: OpReadVoice, list: true, response: "VoiceFleetPage", status: 200, handle: a.voiceFleet,
			summary: "Across the fleet: per customer, voice users, ready and not ready by first failed check (as of its last user sync), free numbers per range and their level, running operations; searched, filtered, sorted and paged",
			query: []queryParam{{"search", "string", "customers whose ID or name contains it, in any case"},
				{"notReady", "boolean", "true: only customers with users not ready"}, {"low", "boolean", "true: only customers with a range low or exhausted"},
				{"running", "boolean", "true: only customers with operations queued or running"},
				{"sort", "string", "customer (default), notReady (most first), free (fewest free numbers in a range first), users (most first) or running (most first)"},
				{"limit", "integer", "page size (at most 500)"}, {"after", "string", "the next cursor of the previous page"}}},
	}
}

func (a *admin) voiceFleet(w http.ResponseWriter, r *http.Request, _ string) {
	if !a.voiceConfigured(w) {
		return
	}
	vf, ok := a.c.Voice.(VoiceFleet)
	if !ok {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "the fleet's voice view is not configured"})
		return
	}
	q := r.URL.Query()
	limit, ok := pageLimit(w, q.Get("limit"), 500, 50)
	if !ok {
		return
	}
	fq := voice.FleetQuery{Search: q.Get("search"), Sort: q.Get("sort"), Limit: limit, After: q.Get("after"),
		Visible: func(c string) bool { return a.visible(r, c, OpReadVoice) },
		Name:    func(c string) string { return a.c.CustomerName(r.Context(), c) }}
	for name, dst := range map[string]*bool{"notReady": &fq.NotReady, "low": &fq.Low, "running": &fq.Running} {
		switch q.Get(name) {
		case "", "false":
		case "true":
			*dst = true
		default:
			badQuery(w, name, name+" must be true or false")
			return
		}
	}
	if !oneOf(w, "sort", fq.Sort, voice.FleetSortCustomer, voice.FleetSortNotReady, voice.FleetSortFree, voice.FleetSortUsers, voice.FleetSortRunning) {
		return
	}
	page, err := vf.Fleet(r.Context(), fq)
	if e, ok := voice.AsError(err); ok && e.Code == voice.CodeInvalid && e.Field == "after" {
		badCursor(w)
		return
	}
	if err != nil {
		a.voiceFail(w, r, "voice fleet", err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
