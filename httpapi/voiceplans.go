package httpapi

import (
	"context"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantgate/tenantgate/voice"
)

// VoicePlans is what the profile and plan routes use of a
// *voice.Service, which satisfies it. Config.Voice serves them when it
// implements it too; otherwise they answer 501.
type VoicePlans interface {
	Profiles(ctx context.Context, customer string) ([]voice.Profile, error)
	Profile(ctx context.Context, customer, name string) (voice.Profile, error)
	PutProfile(ctx context.Context, customer string, p voice.Profile, actor string) (voice.Profile, error)
	DeleteProfile(ctx context.Context, customer, name, actor string) error
	PlanProfile(ctx context.Context, customer string, req voice.PlanRequest, actor string) (*voice.Plan, error)
	PlanCSV(ctx context.Context, customer string, r io.Reader, actor string) (*voice.Plan, error)
	GetPlan(ctx context.Context, customer, id string, q voice.PlanItemQuery) (*voice.Plan, error)
	ApplyPlan(ctx context.Context, customer, id, actor string) (*voice.Operation, error)
}

var _ VoicePlans = (*voice.Service)(nil)

// maxCSVBytes bounds a plan's CSV body (50,000 rows of about 160 bytes).
const maxCSVBytes = 8 << 20

func init() {
	arr := func(items any) map[string]any { return map[string]any{"type": "array", "items": items} }
	numberType := enum("directRouting", "callingPlan", "operatorConnect")
	policies := map[string]any{"type": "object", "additionalProperties": str, "description": `policy type -> policy name; "Global" removes the direct assignment`}
	profile := map[string]any{"name": str, "range": str, "numberType": numberType, "licenses": enum("auto", ""), "policies": policies,
		"locationId": str, "filter": map[string]any{"type": "string", "description": "the users the profile is for, in the Get-CsOnlineUser filter language"},
		"joiners": boolean, "leavers": boolean, "dryRun": boolean, "updatedAt": when}
	put := maps.Clone(profile)
	delete(put, "updatedAt")
	delete(put, "name")
	step := obj(map[string]any{"step": str, "status": enum("pending", "running", "succeeded", "failed", "unchanged", "canceled", "skipped"),
		"detail": str, "number": str}, "step", "status")
	maps.Copy(schemas, map[string]any{
		"VoiceProfile":    obj(profile, "name", "joiners", "leavers", "dryRun"),
		"VoiceProfilePut": obj(put),
		"VoiceProfiles":   obj(map[string]any{"profiles": arr(ref("VoiceProfile"))}, "profiles"),
		"VoicePlanRequest": obj(map[string]any{"profile": str,
			"filter": map[string]any{"type": "string", "description": "users to plan for, with the profile's filter (both must match)"}}, "profile"),
		"VoicePlan": obj(map[string]any{"id": str, "customer": str, "source": enum("profile", "csv"), "profile": str, "filter": str,
			"readAt": when, "expiresAt": when, "users": integer, "changes": integer, "unchanged": integer, "errors": integer,
			"licenses":  arr(obj(map[string]any{"sku": str, "needed": integer, "free": integer}, "sku", "needed", "free")),
			"operation": str, "actor": str, "next": str,
			"items": arr(obj(map[string]any{"row": integer, "user": str, "userId": str, "status": enum("change", "unchanged", "error"),
				"current": obj(map[string]any{"accountEnabled": boolean, "usageLocation": str, "licenses": arr(str), "enterpriseVoiceEnabled": boolean,
					"numbers": arr(str), "policies": map[string]any{"type": "object", "additionalProperties": str}}),
				"target": obj(map[string]any{"number": str, "range": str, "numberType": numberType, "locationId": str, "licenses": arr(str), "policies": policies}),
				"steps":  arr(step),
				"error":  obj(map[string]any{"code": str, "field": str, "detail": str, "action": str}, "code", "detail"),
			}, "user", "status", "target")),
		}, "id", "source", "readAt", "expiresAt", "users", "changes", "unchanged", "errors", "items"),
	})
}

// voicePlanRoutes are the voice profile and plan routes.
func (a *admin) voicePlanRoutes() []route {
	const c = "/customers/{customer}"
	return []route{
		{method: "GET", path: c + "/voice/profiles", op: OpReadVoice, summary: "The customer's voice profiles",
			response: "VoiceProfiles", status: 200, handle: a.voiceProfiles},
		{method: "GET", path: c + "/voice/profiles/{profile}", op: OpReadVoice, summary: "One voice profile",
			response: "VoiceProfile", status: 200, handle: a.voiceProfile},
		{method: "PUT", path: c + "/voice/profiles/{profile}", op: OpWriteVoice, summary: "Create or replace a voice profile: range or numberType, licenses, policies, locationId, and optionally filter with joiners and leavers (off by default) and dryRun",
			request: "VoiceProfilePut", response: "VoiceProfile", status: 200, handle: a.putVoiceProfile},
		{method: "DELETE", path: c + "/voice/profiles/{profile}", op: OpWriteVoice, summary: "Delete a voice profile (changes nothing at Microsoft)",
			status: 204, handle: a.deleteVoiceProfile},
		{method: "POST", path: c + "/voice/plans", op: OpWriteVoice, summary: "Make a plan, changing nothing: from a profile and a filter (JSON), or from a CSV (text/csv); per user the current state, the target, the steps and each row's error",
			request: "VoicePlanRequest", response: "VoicePlan", status: 201, handle: a.createVoicePlan,
			requestCSV: "a header row (user,number,range,numberType,licenses,locationId and policy types such as OnlineVoiceRoutingPolicy,TenantDialPlan,TeamsCallingPolicy), then one user a row; number may be next with a range"},
		{method: "GET", path: c + "/voice/plans/{id}", op: OpReadVoice, summary: "A plan with a page of its items",
			response: "VoicePlan", status: 200, handle: a.voicePlan,
			query: []queryParam{{"status", "string", "change, unchanged or error"}, {"limit", "integer", "page size (at most 1000)"}, {"after", "string", "the next cursor of the previous page"}}},
		{method: "POST", path: c + "/voice/plans/{id}/apply", op: OpWriteVoice, summary: "Apply a plan's valid items as one operation: 202 with Location; applying again returns the same operation and changes nothing; a stale plan is read again first",
			response: "VoiceOperation", status: 202, handle: a.applyVoicePlan},
	}
}

func (a *admin) voicePlans(w http.ResponseWriter) (VoicePlans, bool) {
	if !a.voiceConfigured(w) {
		return nil, false
	}
	vp, ok := a.c.Voice.(VoicePlans)
	if !ok {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "voice profiles and plans are not configured"})
	}
	return vp, ok
}

// profileName reads {profile}.
func profileName(w http.ResponseWriter, r *http.Request) (string, bool) {
	n := strings.TrimSpace(r.PathValue("profile"))
	if n == "" || len(n) > 64 {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: "invalid_profile", Detail: "{profile} must be a profile name of 1 to 64 characters",
			Fields: []FieldError{{Field: "profile", Code: "invalid", Message: "1 to 64 characters"}}})
		return "", false
	}
	return n, true
}

// profilesJSON is GET voice/profiles.
type profilesJSON struct {
	Profiles []voice.Profile `json:"profiles"`
}

func (a *admin) voiceProfiles(w http.ResponseWriter, r *http.Request, customer string) {
	vp, ok := a.voicePlans(w)
	if !ok {
		return
	}
	ps, err := vp.Profiles(r.Context(), customer)
	if err != nil {
		a.voiceFail(w, r, "voice profiles", err)
		return
	}
	writeJSON(w, http.StatusOK, profilesJSON{Profiles: ps})
}

func (a *admin) voiceProfile(w http.ResponseWriter, r *http.Request, customer string) {
	vp, ok := a.voicePlans(w)
	if !ok {
		return
	}
	name, ok := profileName(w, r)
	if !ok {
		return
	}
	p, err := vp.Profile(r.Context(), customer, name)
	if err != nil {
		a.voiceFail(w, r, "voice profile", err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// profilePutJSON is the body of PUT voice/profiles/{profile}.
type profilePutJSON struct {
	RangeName  string            `json:"range,omitempty"`
	NumberType voice.NumberType  `json:"numberType,omitempty"`
	Licenses   string            `json:"licenses,omitempty"`
	Policies   map[string]string `json:"policies,omitempty"`
	LocationID string            `json:"locationId,omitempty"`
	Filter     string            `json:"filter,omitempty"`
	Joiners    bool              `json:"joiners,omitempty"`
	Leavers    bool              `json:"leavers,omitempty"`
	DryRun     bool              `json:"dryRun,omitempty"`
}

func (a *admin) putVoiceProfile(w http.ResponseWriter, r *http.Request, customer string) {
	vp, ok := a.voicePlans(w)
	if !ok {
		return
	}
	name, ok := profileName(w, r)
	if !ok {
		return
	}
	var in profilePutJSON
	if p := decodeJSON(w, r, &in); p != nil {
		writeProblem(w, *p)
		return
	}
	p, err := vp.PutProfile(r.Context(), customer, voice.Profile{Name: name, Range: in.RangeName, NumberType: in.NumberType, Licenses: in.Licenses,
		Policies: in.Policies, LocationID: in.LocationID, Filter: in.Filter, Joiners: in.Joiners, Leavers: in.Leavers, DryRun: in.DryRun}, a.c.actor(r))
	if err != nil {
		a.voiceFail(w, r, "put voice profile", err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *admin) deleteVoiceProfile(w http.ResponseWriter, r *http.Request, customer string) {
	vp, ok := a.voicePlans(w)
	if !ok {
		return
	}
	name, ok := profileName(w, r)
	if !ok {
		return
	}
	if err := vp.DeleteProfile(r.Context(), customer, name, a.c.actor(r)); err != nil {
		a.voiceFail(w, r, "delete voice profile", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) createVoicePlan(w http.ResponseWriter, r *http.Request, customer string) {
	vp, ok := a.voicePlans(w)
	if !ok {
		return
	}
	var plan *voice.Plan
	var err error
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "text/csv" {
		body := http.MaxBytesReader(w, r.Body, maxCSVBytes)
		plan, err = vp.PlanCSV(r.Context(), customer, body, a.c.actor(r))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, Problem{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Detail: "a plan's CSV is limited to " + strconv.Itoa(maxCSVBytes>>20) + " MiB: split it"})
			return
		}
	} else {
		var in voice.PlanRequest
		if p := decodeJSON(w, r, &in); p != nil {
			if p.Status == http.StatusUnsupportedMediaType {
				p.Detail = "send the plan request as application/json ({\"profile\", \"filter\"}) or text/csv"
			}
			writeProblem(w, *p)
			return
		}
		if strings.TrimSpace(in.Profile) == "" {
			writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation, Detail: "profile is required (or send a CSV)",
				Fields: []FieldError{{Field: "/profile", Code: "required", Message: "required"}}})
			return
		}
		plan, err = vp.PlanProfile(r.Context(), customer, in, a.c.actor(r))
	}
	if e, ok := voice.AsError(err); ok && e.Code == voice.CodeMalformedCSV {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: "malformed_csv", Detail: safeText(e.Detail, 500),
			Fields: []FieldError{{Field: e.Field, Code: "malformed_csv", Message: safeText(e.Detail, 300)}}})
		return
	}
	if e, ok := voice.AsError(err); ok && e.Code == voice.CodeNotFound {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: "unknown_profile", Detail: safeText(e.Detail, 300),
			Fields: []FieldError{{Field: "/profile", Code: "unknown", Message: safeText(e.Detail, 300)}}})
		return
	}
	if err != nil {
		a.voiceFail(w, r, "voice plan", err)
		return
	}
	w.Header().Set("Location", customerLocation(r, customer)+"/voice/plans/"+url.PathEscape(plan.ID))
	writeJSON(w, http.StatusCreated, plan)
}

func (a *admin) voicePlan(w http.ResponseWriter, r *http.Request, customer string) {
	vp, ok := a.voicePlans(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	pq := voice.PlanItemQuery{Status: voice.PlanStatus(q.Get("status")), After: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			badQuery(w, "limit", "limit must be 1 to 1000")
			return
		}
		pq.Limit = n
	}
	plan, err := vp.GetPlan(r.Context(), customer, r.PathValue("id"), pq)
	if e, ok := voice.AsError(err); ok && e.Code == voice.CodeInvalid {
		badQuery(w, e.Field, e.Detail)
		return
	}
	if err != nil {
		a.voiceFail(w, r, "voice plan", err)
		return
	}
	writeJSON(w, http.StatusOK, plan)
}

func (a *admin) applyVoicePlan(w http.ResponseWriter, r *http.Request, customer string) {
	vp, ok := a.voicePlans(w)
	if !ok {
		return
	}
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	op, err := vp.ApplyPlan(r.Context(), customer, r.PathValue("id"), a.c.actor(r))
	if err != nil {
		a.voiceFail(w, r, "apply voice plan", err)
		return
	}
	status := http.StatusAccepted
	if op.State.Done() {
		status = http.StatusOK
	} else {
		w.Header().Set("Location", customerLocation(r, customer)+"/voice/operations/"+url.PathEscape(op.ID))
	}
	writeJSON(w, status, operationOf(op))
}
