package m365test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultNumberOperationDelay is how long an assignNumber or
// unassignNumber operation takes when Options.NumberOperationDelay is
// zero: a third of it notStarted, the rest running, then succeeded or
// failed. Microsoft documents no figure; a few seconds keeps a client from
// assuming the change is instant.
const DefaultNumberOperationDelay = 3 * time.Second

// VoiceControls are a tenant's Teams Phone fault switches, set with
// [Tenant.SetVoiceControls]. The zero value is a healthy service.
type VoiceControls struct {
	// NumbersUnavailable makes every number operation that completes
	// while it is set end failed with "service unavailable", as the
	// number service does when it is down; nothing changes.
	NumbersUnavailable bool
	// RefusePolicyTypes are policy types (e.g. "OnlineVoiceRoutingPolicy")
	// whose userAssignments assign and unassign answer 400, as Graph
	// answers a type it does not assign.
	RefusePolicyTypes []string
}

// SetVoiceControls replaces the tenant's Teams Phone fault switches.
func (t *Tenant) SetVoiceControls(c VoiceControls) {
	t.voice.mu.Lock()
	defer t.voice.mu.Unlock()
	c.RefusePolicyTypes = slices.Clone(c.RefusePolicyTypes)
	t.voice.cfg = c
}

// EmergencyLocationID returns the stable emergency location ID the tenant
// has for city (one of the demo data's ten cities, case-insensitive), or
// "" for another city. Calling Plan numbers carry their city's location.
func (t *Tenant) EmergencyLocationID(city string) string {
	for _, c := range demoCities {
		if strings.EqualFold(c, city) {
			return emergencyLocationID(t.ID, c)
		}
	}
	return ""
}

// isEmergencyLocation reports whether id is one of the tenant's emergency
// locations.
func (t *Tenant) isEmergencyLocation(id string) bool {
	return slices.ContainsFunc(demoCities[:], func(c string) bool { return strings.EqualFold(emergencyLocationID(t.ID, c), id) })
}

// VoiceEvent is one Teams Phone provisioning change the fake accepted: a
// license call, a number operation (with its outcome once settled) or a
// policy assignment. Tests use [Tenant.VoiceLog] to prove, for example,
// that a number was assigned once.
type VoiceEvent struct {
	Time time.Time
	// Kind is "assignLicense", "assignNumber", "unassignNumber",
	// "updateNumber", "assignPolicy" or "unassignPolicy".
	Kind string
	// UserID is the object ID of the user concerned ("" for
	// unassignNumber and updateNumber).
	UserID string
	// TelephoneNumber is the number of a number action.
	TelephoneNumber string
	// AddedSkus and RemovedSkus are the SKU IDs of an assignLicense call.
	AddedSkus, RemovedSkus []string
	// PolicyType and PolicyName are those of a policy assignment
	// (PolicyName "" for unassign).
	PolicyType, PolicyName string
	// OperationID and Status are a number operation's ID and its
	// outcome: "notStarted" until it settles, then "succeeded" or
	// "failed"; Detail is a failure's statusDetail.
	OperationID, Status, Detail string
}

// VoiceLog returns the tenant's accepted provisioning changes, oldest
// first. Number operations settle when the fake's clock passes their
// delay: a test reads the log after advancing it.
func (t *Tenant) VoiceLog() []VoiceEvent {
	t.settleOps()
	t.voice.mu.RLock()
	defer t.voice.mu.RUnlock()
	out := make([]VoiceEvent, len(t.voice.log))
	for i, e := range t.voice.log {
		out[i] = *e
		out[i].AddedSkus, out[i].RemovedSkus = slices.Clone(e.AddedSkus), slices.Clone(e.RemovedSkus)
	}
	return out
}

// Bounds of what a tenant keeps for a long-running fake (a demo portal):
// the newest maxVoiceLog events of VoiceLog and maxOperations operations
// (settled ones are forgotten first; Graph documents no retention).
const (
	maxVoiceLog   = 10_000
	maxOperations = 10_000
)

// logLocked appends e and returns it, for an operation to fill in its
// outcome; vs.mu is held for writing.
func (vs *voiceState) logLocked(e VoiceEvent) *VoiceEvent {
	vs.log = append(vs.log, &e)
	if len(vs.log) > 2*maxVoiceLog {
		vs.log = append([]*VoiceEvent(nil), vs.log[len(vs.log)-maxVoiceLog:]...)
	}
	return &e
}

// addOpLocked stores op and forgets the oldest settled operations past
// maxOperations; vs.mu is held for writing.
func (vs *voiceState) addOpLocked(op *numberOp) {
	vs.ops[op.id] = op
	vs.pending++
	vs.opOrder = append(vs.opOrder, op.id)
	if len(vs.opOrder) <= 2*maxOperations {
		return
	}
	keep := vs.opOrder[:0:0]
	for j, id := range vs.opOrder {
		if o := vs.ops[id]; o.settled && len(vs.opOrder)-j > maxOperations {
			delete(vs.ops, id)
			continue
		}
		keep = append(keep, id)
	}
	vs.opOrder = keep
}

// numberOp is one assignNumber or unassignNumber long-running operation.
type numberOp struct {
	id       string
	created  time.Time
	runAt    time.Time // status running from then
	doneAt   time.Time // settled from then
	unassign bool
	tel      string
	target   string // assignmentTargetId as sent
	numType  string
	category string
	location string
	ev       *VoiceEvent // its VoiceLog entry
	settled  bool
	status   string // when settled
	detail   string
	k        int // the number's inventory index, when found
}

var permNumbersWrite = perms{
	delegated: []string{"TeamsTelephoneNumber.ReadWrite.All"},
	app:       []string{"TeamsTelephoneNumber.ReadWrite.All"},
	forbidden: teamsForbidden("TeamsTelephoneNumber.ReadWrite.All"),
}

// numberActionBody is the body of assignNumber, unassignNumber and
// updateNumber; pointers tell absent from empty.
type numberActionBody struct {
	TelephoneNumber            *string   `json:"telephoneNumber"`
	AssignmentTargetID         *string   `json:"assignmentTargetId"`
	NumberType                 *string   `json:"numberType"`
	AssignmentCategory         *string   `json:"assignmentCategory"`
	LocationID                 *string   `json:"locationId"`
	NetworkSiteID              *string   `json:"networkSiteId"`
	ReverseNumberLookupOptions *[]string `json:"reverseNumberLookupOptions"`
}

// parseNumberAction decodes and checks the body of action (assignNumber,
// unassignNumber or updateNumber) as Graph's OData layer does: unknown
// parameters, missing required ones and enum values are 400.
func parseNumberAction(action string, body []byte) (numberActionBody, *graphError) {
	var b numberActionBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return b, badBody("The parameter %s in the request payload is not a valid parameter for the operation '%s'.", f, action)
		}
		return b, badBody("The request body of '%s' is not valid JSON: %s", action, clipText(err.Error()))
	}
	if dec.More() {
		return b, badBody("The request body of '%s' holds more than one JSON value.", action)
	}
	allowed := map[string][]string{
		"assignNumber":   {"telephoneNumber", "assignmentTargetId", "numberType", "assignmentCategory", "locationId"},
		"unassignNumber": {"telephoneNumber", "numberType"},
		"updateNumber":   {"telephoneNumber", "locationId", "networkSiteId", "reverseNumberLookupOptions"},
	}[action]
	given := map[string]bool{"telephoneNumber": b.TelephoneNumber != nil, "assignmentTargetId": b.AssignmentTargetID != nil,
		"numberType": b.NumberType != nil, "assignmentCategory": b.AssignmentCategory != nil, "locationId": b.LocationID != nil,
		"networkSiteId": b.NetworkSiteID != nil, "reverseNumberLookupOptions": b.ReverseNumberLookupOptions != nil}
	for _, name := range []string{"telephoneNumber", "assignmentTargetId", "numberType", "assignmentCategory", "locationId", "networkSiteId", "reverseNumberLookupOptions"} {
		if given[name] && !slices.Contains(allowed, name) {
			return b, badBody("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", name, action)
		}
	}
	var missing []string
	required := map[string][]string{"assignNumber": {"telephoneNumber", "assignmentTargetId", "numberType"},
		"unassignNumber": {"telephoneNumber", "numberType"}, "updateNumber": {"telephoneNumber"}}[action]
	for _, name := range required {
		if !given[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return b, badBody("One or more parameters of the operation '%s' are missing from the request payload. The missing parameters are: %s.", action, strings.Join(missing, ", "))
	}
	if *b.TelephoneNumber == "" {
		return b, badBody("The parameter 'telephoneNumber' of the operation '%s' must not be empty.", action)
	}
	if b.NumberType != nil {
		if err := checkNumberEnum("numberType", *b.NumberType); err != nil {
			return b, badBody("%s", err)
		}
	}
	if b.AssignmentCategory != nil {
		if err := checkNumberEnum("assignmentCategory", *b.AssignmentCategory); err != nil {
			return b, badBody("%s", err)
		}
	}
	if b.ReverseNumberLookupOptions != nil {
		for _, o := range *b.ReverseNumberLookupOptions {
			if err := checkNumberEnum("reverseNumberLookupOptions", o); err != nil {
				return b, badBody("%s", err)
			}
		}
	}
	if b.AssignmentTargetID != nil && !isGUID(*b.AssignmentTargetID) {
		return b, badBody("The assignmentTargetId '%s' is not an object ID: give the user's ID, not its user principal name.", clipText(*b.AssignmentTargetID))
	}
	return b, nil
}

// handleNumberAction serves POST .../numberAssignments/{action}.
func (s *Server) handleNumberAction(w http.ResponseWriter, r *http.Request, c *call) {
	action := r.PathValue("action")
	switch action {
	case "assignNumber", "unassignNumber", "updateNumber":
	default:
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest",
			msg: "Resource not found for the segment '" + action + "'."})
		return
	}
	p, ok := s.graphAuth(w, r, c, permNumbersWrite)
	if !ok {
		return
	}
	var raw json.RawMessage
	if err := readJSONBody(r, &raw); err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "The request body is not valid JSON."})
		return
	}
	b, ge := parseNumberAction(action, raw)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	t := p.tenant
	now := s.Now()
	if action == "updateNumber" {
		if ge := t.updateNumber(b, now); ge != nil {
			s.writeGraphError(w, r, ge)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	t.settleOps()
	op := &numberOp{id: newID(), created: now, unassign: action == "unassignNumber", tel: *b.TelephoneNumber,
		numType: *b.NumberType, category: "primary", k: -1}
	if b.AssignmentTargetID != nil {
		op.target = strings.ToLower(*b.AssignmentTargetID)
	}
	if b.AssignmentCategory != nil {
		op.category = *b.AssignmentCategory
	}
	if b.LocationID != nil {
		op.location = *b.LocationID
	}
	vs := t.voice
	d := s.opts.NumberOperationDelay
	switch {
	case d == 0:
		d = DefaultNumberOperationDelay
	case d < 0:
		d = 0
	}
	op.runAt, op.doneAt = now.Add(d/3), now.Add(d)
	vs.mu.Lock()
	vs.addOpLocked(op)
	op.ev = vs.logLocked(VoiceEvent{Time: now, Kind: action, UserID: op.target, TelephoneNumber: op.tel,
		OperationID: op.id, Status: "notStarted"})
	if d == 0 {
		t.settleLocked(op, now)
	}
	vs.mu.Unlock()
	w.Header().Set("Location", "https://"+r.Host+"/v1.0/admin/teams/telephoneNumberManagement/operations('"+op.id+"')")
	w.WriteHeader(http.StatusAccepted)
}

// settleOps settles the operations whose time has come.
func (t *Tenant) settleOps() {
	vs := t.voice
	vs.mu.RLock()
	pending := vs.pending
	vs.mu.RUnlock()
	if pending == 0 {
		return
	}
	now := t.now()
	vs.mu.Lock()
	defer vs.mu.Unlock()
	var due []*numberOp
	for _, op := range vs.ops {
		if !op.settled && !now.Before(op.doneAt) {
			due = append(due, op)
		}
	}
	slices.SortFunc(due, func(a, b *numberOp) int { return a.doneAt.Compare(b.doneAt) })
	for _, op := range due {
		t.settleLocked(op, op.doneAt)
	}
}

// Failure details of number operations, as Teams' number service words
// them (Microsoft documents the failures, not Graph's exact texts).
const (
	detailNotFound     = "The telephone number %s was not found in the tenant."
	detailAssigned     = "The telephone number %s is already assigned to another user."
	detailNotAssigned  = "The telephone number %s is not assigned."
	detailWrongType    = "The telephone number %s is a '%s' number, not '%s'."
	detailLicense      = "User %s lacks appropriate licenses to assign a '%s' number."
	detailCapability   = "The telephone number %s does not have the capability required to assign it to a user."
	detailDisabled     = "User %s is disabled: a telephone number cannot be assigned to a disabled account."
	detailNoUser       = "User %s was not found in the tenant."
	detailLocation     = "The emergency location %s was not found in the tenant."
	detailNeedLocation = "A 'CallingPlan' number needs an emergency location: give locationId."
	detailUnavailable  = "Service unavailable: the telephone number service could not process the request. Retry later."
)

// settleLocked runs op against the state at time at: it succeeds and
// changes the inventory, the user's configuration and Enterprise Voice,
// or fails and changes nothing. vs.mu is held for writing.
func (t *Tenant) settleLocked(op *numberOp, at time.Time) {
	vs := t.voice
	op.settled = true
	vs.pending--
	fail := func(format string, args ...any) {
		op.status, op.detail = "failed", fmt.Sprintf(format, args...)
	}
	defer func() {
		op.ev.Status, op.ev.Detail = op.status, op.detail
	}()
	if vs.cfg.NumbersUnavailable {
		fail(detailUnavailable)
		return
	}
	k, ok := t.numberIndex(op.tel)
	if !ok {
		fail(detailNotFound, op.tel)
		return
	}
	op.k = k
	v := numberView{k: k, rec: vs.numberLocked(t.ID, k), t: t}
	typ, _ := v.str("numberType")
	if op.numType != typ {
		fail(detailWrongType, op.tel, typ, op.numType)
		return
	}
	if op.unassign {
		if v.rec.target == noUser {
			fail(detailNotAssigned, op.tel)
			return
		}
		prev := v.rec.target
		t.changeUserLocked(prev, at, func(u *userVoice) {
			if len(vs.numbersOfLocked(t.ID, prev)) <= 1 {
				u.ev = false // Remove-CsPhoneNumberAssignment turns Enterprise Voice off
			}
		})
		rec := v.rec
		rec.target, rec.category = noUser, ""
		vs.setNumberLocked(t.ID, k, rec)
		op.status = "succeeded"
		return
	}
	u, found := t.dir.User(op.target)
	if !found {
		fail(detailNoUser, op.target)
		return
	}
	if v.rec.target != noUser && v.rec.target != u.Index {
		fail(detailAssigned, op.tel)
		return
	}
	if caps := v.list("capabilities"); !slices.Contains(caps, "userAssignment") {
		fail(detailCapability, op.tel)
		return
	}
	if !u.AccountEnabled {
		fail(detailDisabled, u.ID)
		return
	}
	st := vs.userLocked(u.Index)
	f := st.features()
	if f&featPhone == 0 || (typ == "callingPlan" && f&featCallingPlan == 0) {
		name := "DirectRouting"
		if typ == "callingPlan" {
			name = "CallingPlan"
		}
		fail(detailLicense, u.ID, name)
		return
	}
	loc := v.rec.locationID
	if op.location != "" {
		if !t.isEmergencyLocation(op.location) {
			fail(detailLocation, op.location)
			return
		}
		loc = op.location
	}
	if typ == "callingPlan" && loc == "" {
		fail(detailNeedLocation)
		return
	}
	if v.rec.target == u.Index && v.rec.category == op.category {
		op.status = "succeeded" // already so: nothing to change
		return
	}
	t.changeUserLocked(u.Index, at, func(uv *userVoice) { uv.ev = true })
	if op.category == "primary" {
		// A new primary number replaces the user's old one, as
		// Set-CsPhoneNumberAssignment does.
		for _, n := range vs.numbersOfLocked(t.ID, u.Index) {
			if n.AssignmentCategory != "primary" || n.TelephoneNumber == op.tel {
				continue
			}
			if old, ok := t.numberIndex(n.TelephoneNumber); ok {
				rec := vs.numberLocked(t.ID, old)
				rec.target, rec.category = noUser, ""
				vs.setNumberLocked(t.ID, old, rec)
			}
		}
	}
	rec := v.rec
	rec.target, rec.category, rec.locationID, rec.activation = u.Index, op.category, loc, "activated"
	vs.setNumberLocked(t.ID, k, rec)
	op.status = "succeeded"
}

// updateNumber applies updateNumber at once: an empty string clears a
// property, an absent one keeps it.
func (t *Tenant) updateNumber(b numberActionBody, now time.Time) *graphError {
	k, ok := t.numberIndex(*b.TelephoneNumber)
	if !ok {
		return &graphError{status: http.StatusNotFound, code: "NotFound", msg: fmt.Sprintf(detailNotFound, *b.TelephoneNumber)}
	}
	if b.LocationID != nil && *b.LocationID != "" && !t.isEmergencyLocation(*b.LocationID) {
		return &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: fmt.Sprintf(detailLocation, *b.LocationID)}
	}
	vs := t.voice
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.cfg.NumbersUnavailable {
		return &graphError{status: http.StatusServiceUnavailable, code: "ServiceUnavailable", msg: detailUnavailable}
	}
	rec := vs.numberLocked(t.ID, k)
	if b.LocationID != nil {
		if *b.LocationID == "" && k%2 == 1 && rec.target != noUser {
			return &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: detailNeedLocation}
		}
		rec.locationID = *b.LocationID
	}
	if b.NetworkSiteID != nil {
		rec.networkSiteID = *b.NetworkSiteID
	}
	if b.ReverseNumberLookupOptions != nil {
		rec.rnl = slices.Clone(*b.ReverseNumberLookupOptions)
	}
	vs.setNumberLocked(t.ID, k, rec)
	vs.logLocked(VoiceEvent{Time: now, Kind: "updateNumber", TelephoneNumber: *b.TelephoneNumber, Status: "succeeded"})
	return nil
}

// handleNumberOperation is GET .../telephoneNumberManagement/operations/{id}
// and .../operations('{id}').
func (s *Server) handleNumberOperation(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	if seg := r.PathValue("seg"); seg != "" {
		if dec, err := url.PathUnescape(seg); err == nil {
			seg = dec
		}
		inner, ok := strings.CutPrefix(seg, "operations(")
		if !ok || !strings.HasSuffix(inner, ")") {
			s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest",
				msg: "Resource not found for the segment '" + seg + "'."})
			return
		}
		id = strings.Trim(strings.TrimSuffix(inner, ")"), "'")
	}
	p, ok := s.graphAuth(w, r, c, permNumbersRead)
	if !ok {
		return
	}
	t := p.tenant
	t.settleOps()
	now := s.Now()
	vs := t.voice
	vs.mu.RLock()
	op, found := vs.ops[strings.ToLower(id)]
	var o numberOp
	if found {
		o = *op
	}
	vs.mu.RUnlock()
	if !found {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "NotFound",
			msg: fmt.Sprintf("The operation '%s' was not found.", id)})
		return
	}
	status := o.status
	switch {
	case o.settled:
	case now.Before(o.runAt):
		status = "notStarted"
	default:
		status = "running"
	}
	out := []byte(`{"@odata.context":`)
	out = appendJSONString(out, graphContext+"admin/teams/telephoneNumberManagement/operations/$entity")
	out = append(out, `,"id":`...)
	out = appendTeamsString(out, o.id)
	out = append(out, `,"createdDateTime":`...)
	out = appendTeamsString(out, o.created.UTC().Format(time.RFC3339))
	out = append(out, `,"status":`...)
	out = appendTeamsString(out, status)
	out = append(out, `,"numbers":[{"resourceLocation":`...)
	if o.k >= 0 {
		out = appendJSONString(out, "https://"+r.Host+"/v1.0/admin/teams/telephoneNumberManagement/numberAssignments/"+t.numberID(o.k))
	} else {
		out = append(out, "null"...)
	}
	out = append(out, `,"status":`...)
	out = appendTeamsString(out, status)
	out = append(out, `,"statusDetail":`...)
	if o.detail != "" {
		out = appendJSONString(out, o.detail)
	} else {
		out = append(out, "null"...)
	}
	out = append(out, "}]}"...)
	writeGraphJSON(w, out)
}

// SetNumberCapabilities replaces the capabilities of the tenant's
// telephone number tel (e.g. "conferenceAssignment" for a service number),
// as Microsoft sets them when it provisions a number: assigning a number
// without "userAssignment" to a user fails. The values must be members of
// Graph's numberCapability enum.
func (t *Tenant) SetNumberCapabilities(tel string, caps ...string) error {
	k, ok := t.numberIndex(tel)
	if !ok {
		return fmt.Errorf("m365test: SetNumberCapabilities: the tenant holds no number %q", tel)
	}
	for _, c := range caps {
		if err := checkNumberEnum("capabilities", c); err != nil {
			return fmt.Errorf("m365test: SetNumberCapabilities: %w", err)
		}
	}
	vs := t.voice
	vs.mu.Lock()
	defer vs.mu.Unlock()
	rec := vs.numberLocked(t.ID, k)
	rec.caps = append([]string{}, caps...)
	vs.setNumberLocked(t.ID, k, rec)
	return nil
}
