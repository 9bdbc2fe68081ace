package m365test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SessionPageSize is how many sessions a call record carries inline, and
// each sessions page after it (sessions@odata.nextLink): 60, as in Graph.
const SessionPageSize = 60

// callRecordPageSize is the page size of GET /communications/callRecords:
// 60, as the callRecord list reference documents ("Maximum page size: 60").
const callRecordPageSize = 60

// ParticipantPageSize is how many participants_v2 a call record carries
// with $expand=participants_v2, and each participants_v2 page after it:
// 130, as the callRecord get reference documents ("Maximum page size: 130
// entries for participants").
const ParticipantPageSize = 130

// CallRecord is a Teams call record of a tenant, served at
// /v1.0/communications/callRecords/{id}.
type CallRecord struct {
	// ID is the record's ID; empty generates one.
	ID string
	// Version grows when the record is updated; AddCallRecord sets 1 and
	// UpdateCallRecord increments it.
	Version int64
	// Type is "peerToPeer" (the default) or "groupCall".
	Type string
	// Modalities are e.g. "audio", "video", "screenSharing"; empty means
	// audio.
	Modalities []string
	// Start and End bound the call.
	Start, End time.Time
	// Organizer is the user principal name of the organizer.
	Organizer string
	// Participants are user principal names.
	Participants []string
	// Sessions hold the media detail served with
	// $expand=sessions($expand=segments).
	Sessions []Session
}

// Session is a session of a call record: one caller, one callee.
type Session struct {
	// ID is the session's ID; empty generates one.
	ID string
	// Caller and Callee are user principal names.
	Caller, Callee string
	// Start and End bound the session.
	Start, End time.Time
	// Modalities default to the record's.
	Modalities []string
	// Segments are the session's segments.
	Segments []Segment
}

// Segment is a segment of a session.
type Segment struct {
	// ID is the segment's ID; empty generates one.
	ID string
	// Start and End bound the segment.
	Start, End time.Time
	// Media are the segment's media (label "main-audio", "main-video", ...).
	Media []Media
}

// Media is one medium of a segment with its streams.
type Media struct {
	// Label is e.g. "main-audio".
	Label string
	// Streams are the medium's streams.
	Streams []Stream
}

// Stream is one direction of a medium with its quality metrics; nil
// metrics are served as null.
type Stream struct {
	// ID is the stream's ID; empty numbers it.
	ID string
	// Direction is "callerToCallee" or "calleeToCaller".
	Direction string
	// AverageJitter and AverageRoundTripTime are served as ISO 8601
	// durations.
	AverageJitter, AverageRoundTripTime *time.Duration
	// AveragePacketLossRate is the fraction of packets lost.
	AveragePacketLossRate *float64
	// PacketUtilization is the number of packets sent.
	PacketUtilization *int64
}

// AddCallRecord stores a call record in the tenant and delivers a
// "created" change notification to every unexpired subscription of that
// tenant, each of which must answer 2xx within 3 seconds. It returns the
// record's ID and the failures of the first delivery attempts joined;
// failed deliveries are retried in the background (see
// [Options.NotificationRetryWindow]) and dropped when every retry failed,
// without a lifecycle notification, as Graph does for call records.
func (s *Server) AddCallRecord(ctx context.Context, tenant string, rec CallRecord) (string, error) {
	t, ok := s.Tenant(tenant)
	if !ok {
		return "", fmt.Errorf("m365test: AddCallRecord: unknown tenant %q", tenant)
	}
	rec = normalizeRecord(rec)
	rec.Version = 1
	s.mu.Lock()
	t.calls[rec.ID] = rec
	s.mu.Unlock()
	return rec.ID, s.notifyChange(ctx, t, rec.ID, "created")
}

// UpdateCallRecord replaces a stored record, increments its version and
// delivers an "updated" change notification to every subscription of the
// tenant that asked for updates.
func (s *Server) UpdateCallRecord(ctx context.Context, tenant string, rec CallRecord) error {
	t, ok := s.Tenant(tenant)
	if !ok {
		return fmt.Errorf("m365test: UpdateCallRecord: unknown tenant %q", tenant)
	}
	rec = normalizeRecord(rec)
	s.mu.Lock()
	old, found := t.calls[rec.ID]
	if !found {
		s.mu.Unlock()
		return fmt.Errorf("m365test: UpdateCallRecord: no call record %q", rec.ID)
	}
	rec.Version = old.Version + 1
	t.calls[rec.ID] = rec
	s.mu.Unlock()
	return s.notifyChange(ctx, t, rec.ID, "updated")
}

// CallRecordsOf returns the tenant's call records, oldest start first.
func (s *Server) CallRecordsOf(tenant string) []CallRecord {
	t, ok := s.Tenant(tenant)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedCalls(t)
}

func sortedCalls(t *Tenant) []CallRecord {
	out := make([]CallRecord, 0, len(t.calls))
	for _, c := range t.calls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func normalizeRecord(rec CallRecord) CallRecord {
	if rec.ID == "" {
		rec.ID = newID()
	}
	rec.ID = strings.ToLower(rec.ID)
	if rec.Type == "" {
		rec.Type = "peerToPeer"
	}
	if len(rec.Modalities) == 0 {
		rec.Modalities = []string{"audio"}
	}
	for i := range rec.Sessions {
		ss := &rec.Sessions[i]
		if ss.ID == "" {
			ss.ID = newID()
		}
		if len(ss.Modalities) == 0 {
			ss.Modalities = rec.Modalities
		}
		for j := range ss.Segments {
			if ss.Segments[j].ID == "" {
				ss.Segments[j].ID = newID()
			}
			for m := range ss.Segments[j].Media {
				for k := range ss.Segments[j].Media[m].Streams {
					st := &ss.Segments[j].Media[m].Streams[k]
					if st.ID == "" {
						st.ID = strconv.Itoa(k + 1)
					}
				}
			}
		}
	}
	return rec
}

func (t *Tenant) identity(upn string) map[string]any {
	if upn == "" {
		return nil
	}
	u, ok := t.dir.User(upn)
	if !ok {
		return map[string]any{"user": map[string]any{"id": nil, "displayName": upn, "tenantId": t.ID}}
	}
	return map[string]any{"user": map[string]any{"id": u.ID, "displayName": u.DisplayName, "tenantId": t.ID}}
}

// associatedIdentity is a participantEndpoint's associatedIdentity
// (microsoft.graph.identity with userPrincipalName), as the callRecord get
// reference's example 2 shows it.
func (t *Tenant) associatedIdentity(upn string) map[string]any {
	if upn == "" {
		return nil
	}
	u, ok := t.dir.User(upn)
	if !ok {
		return map[string]any{"id": nil, "displayName": upn, "tenantId": t.ID, "userPrincipalName": upn}
	}
	return map[string]any{"id": u.ID, "displayName": u.DisplayName, "tenantId": t.ID, "userPrincipalName": u.UserPrincipalName}
}

// participant is a callRecords participant (or organizer) entity: the
// user's ID and its communicationsIdentitySet, as the callRecord get
// reference's examples 1 and 3 show them.
func (t *Tenant) participant(upn string) map[string]any {
	id := t.identity(upn)
	u := id["user"].(map[string]any)
	if _, ok := t.dir.User(upn); ok {
		u["userPrincipalName"] = upn
	}
	return map[string]any{"id": u["id"], "identity": id}
}

// endpoint is a session's caller or callee: a participantEndpoint with
// associatedIdentity (current) and identity (deprecated; the fake still
// sends it, as Microsoft did while both were documented).
func (t *Tenant) endpoint(upn string) map[string]any {
	return map[string]any{
		"@odata.type":        "#microsoft.graph.callRecords.participantEndpoint",
		"identity":           t.identity(upn),
		"associatedIdentity": t.associatedIdentity(upn),
		"userAgent": map[string]any{"@odata.type": "#microsoft.graph.callRecords.clientUserAgent",
			"headerValue": "RTCC/7.0.0.0 UCWA/7.0.0.0 TeamsDesktop", "platform": "windows", "productFamily": "teams"},
	}
}

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// isoDuration formats d as Graph's ISO 8601 durations, e.g. PT0.045S.
func isoDuration(d *time.Duration) any {
	if d == nil {
		return nil
	}
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

func ptrOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func (t *Tenant) sessionJSON(ss Session, segments bool) map[string]any {
	out := map[string]any{
		"id":            ss.ID,
		"modalities":    ss.Modalities,
		"startDateTime": graphTime(ss.Start),
		"endDateTime":   graphTime(ss.End),
		"isTest":        false,
		"failureInfo":   nil,
		"caller":        t.endpoint(ss.Caller),
		"callee":        t.endpoint(ss.Callee),
	}
	if !segments {
		return out
	}
	segs := make([]any, 0, len(ss.Segments))
	for _, sg := range ss.Segments {
		media := make([]any, 0, len(sg.Media))
		for _, m := range sg.Media {
			streams := make([]any, 0, len(m.Streams))
			for _, st := range m.Streams {
				streams = append(streams, map[string]any{
					"streamId":                          st.ID,
					"streamDirection":                   st.Direction,
					"averageJitter":                     isoDuration(st.AverageJitter),
					"averageRoundTripTime":              isoDuration(st.AverageRoundTripTime),
					"averagePacketLossRate":             ptrOrNil(st.AveragePacketLossRate),
					"packetUtilization":                 ptrOrNil(st.PacketUtilization),
					"averageAudioDegradation":           nil,
					"averageBandwidthEstimate":          nil,
					"wasMediaBypassed":                  false,
					"lowVideoProcessingCapabilityRatio": nil,
				})
			}
			media = append(media, map[string]any{"label": m.Label, "streams": streams,
				"callerNetwork": map[string]any{"connectionType": "wired"}, "calleeNetwork": map[string]any{"connectionType": "wired"}})
		}
		segs = append(segs, map[string]any{
			"id": sg.ID, "startDateTime": graphTime(sg.Start), "endDateTime": graphTime(sg.End),
			"caller": t.endpoint(ss.Caller), "callee": t.endpoint(ss.Callee), "failureInfo": nil, "media": media,
		})
	}
	out["segments"] = segs
	return out
}

func (t *Tenant) recordJSON(rec CallRecord) map[string]any {
	parts := make([]any, 0, len(rec.Participants))
	for _, upn := range rec.Participants {
		parts = append(parts, t.identity(upn))
	}
	base := graphContext + "communications/callRecords('" + rec.ID + "')/"
	out := map[string]any{
		"id":                            rec.ID,
		"version":                       rec.Version,
		"type":                          rec.Type,
		"modalities":                    rec.Modalities,
		"lastModifiedDateTime":          graphTime(rec.End),
		"startDateTime":                 graphTime(rec.Start),
		"endDateTime":                   graphTime(rec.End),
		"joinWebUrl":                    nil,
		"organizer":                     t.identity(rec.Organizer),
		"participants":                  parts,
		"organizer_v2@odata.context":    base + "organizer_v2/$entity",
		"participants_v2@odata.context": base + "participants_v2/$entity",
	}
	if rec.Organizer != "" {
		out["organizer_v2"] = t.participant(rec.Organizer)
	}
	return out
}

// recordExpand is a call record's parsed $expand.
type recordExpand struct {
	sessions, segments, participants bool
}

// context is the record's @odata.context for e, as the callRecord get
// reference's examples show it.
func (e recordExpand) context() string {
	var parts []string
	switch {
	case e.segments:
		parts = append(parts, "sessions(segments())")
	case e.sessions:
		parts = append(parts, "sessions()")
	}
	if e.participants {
		parts = append(parts, "participants_v2()")
	}
	if len(parts) == 0 {
		return graphContext + "communications/callRecords/$entity"
	}
	return graphContext + "communications/callRecords(" + strings.Join(parts, ",") + ")/$entity"
}

// parseRecordExpand parses $expand: sessions, sessions($expand=segments)
// and participants_v2 (the callRecord get reference), joined by commas.
func parseRecordExpand(q url.Values) (recordExpand, error) {
	var e recordExpand
	raw := strings.ReplaceAll(q.Get("$expand"), " ", "")
	if raw == "" {
		return e, nil
	}
	for _, item := range strings.Split(raw, ",") {
		switch strings.ToLower(item) {
		case "sessions":
			e.sessions = true
		case "sessions($expand=segments)":
			e.sessions, e.segments = true, true
		case "participants_v2":
			e.participants = true
		default:
			return e, fmt.Errorf("$expand=%s is not supported on call records; use sessions, sessions($expand=segments) or participants_v2", raw)
		}
	}
	return e, nil
}

// handleCallRecord is GET /v1.0/communications/callRecords/{id}, and the
// PSTN report functions that share its path segment.
func (s *Server) handleCallRecord(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	if fn, args, ok := reportFunction(id); ok {
		s.handleReport(w, r, c, fn, args)
		return
	}
	p, ok := s.graphAuth(w, r, c, permCalls)
	if !ok {
		return
	}
	exp, err := parseRecordExpand(r.URL.Query())
	if err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: err.Error()})
		return
	}
	s.mu.Lock()
	rec, found := p.tenant.calls[strings.ToLower(id)]
	s.mu.Unlock()
	if !found {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "NotFound", msg: "The call record was not found."})
		return
	}
	body := p.tenant.recordJSON(rec)
	body["@odata.context"] = exp.context()
	if exp.sessions {
		page, next := s.sessionPage(p.tenant, rec, 0, exp.segments)
		body["sessions"] = page
		if next != "" {
			body["sessions@odata.nextLink"] = next
		}
	}
	if exp.participants {
		page, next := participantPage(p.tenant, rec, 0)
		body["participants_v2"] = page
		if next != "" {
			body["participants_v2@odata.nextLink"] = next
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// participantPage returns the record's participants_v2 from skip on, one
// page, and the link to the next page ("" after the last).
func participantPage(t *Tenant, rec CallRecord, skip int) ([]any, string) {
	end := min(skip+ParticipantPageSize, len(rec.Participants))
	page := make([]any, 0, max(end-skip, 0))
	for i := skip; i < end; i++ {
		page = append(page, t.participant(rec.Participants[i]))
	}
	if end >= len(rec.Participants) {
		return page, ""
	}
	return page, "https://" + GraphHost + "/v1.0/communications/callRecords/" + rec.ID + "/participants_v2?$skiptoken=" + strconv.Itoa(end)
}

// recordPage reads a call-record page request's record ({id}) and
// $skiptoken; when it reports false it has answered (400 or 404).
func (s *Server) recordPage(w http.ResponseWriter, r *http.Request, p *principal) (CallRecord, int, bool) {
	skip := 0
	if v := r.URL.Query().Get("$skiptoken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "The $skiptoken is not valid."})
			return CallRecord{}, 0, false
		}
		skip = n
	}
	s.mu.Lock()
	rec, found := p.tenant.calls[strings.ToLower(r.PathValue("id"))]
	s.mu.Unlock()
	if !found {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "NotFound", msg: "The call record was not found."})
		return CallRecord{}, 0, false
	}
	return rec, skip, true
}

// handleCallRecordParticipants is GET
// /v1.0/communications/callRecords/{id}/participants_v2 (the "List
// participants_v2" reference), pages of ParticipantPageSize.
func (s *Server) handleCallRecordParticipants(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permCalls)
	if !ok {
		return
	}
	rec, skip, ok := s.recordPage(w, r, p)
	if !ok {
		return
	}
	page, next := participantPage(p.tenant, rec, skip)
	body := map[string]any{"@odata.context": graphContext + "communications/callRecords('" + rec.ID + "')/participants_v2", "value": page}
	if next != "" {
		body["@odata.nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

// sessionPage returns the sessions from skip on, one page, and the link
// to the next page ("" after the last).
func (s *Server) sessionPage(t *Tenant, rec CallRecord, skip int, segments bool) ([]any, string) {
	end := min(skip+SessionPageSize, len(rec.Sessions))
	page := make([]any, 0, max(end-skip, 0))
	for i := skip; i < end; i++ {
		page = append(page, t.sessionJSON(rec.Sessions[i], segments))
	}
	if end >= len(rec.Sessions) {
		return page, ""
	}
	q := url.Values{"$skiptoken": {strconv.Itoa(end)}}
	if segments {
		q.Set("$expand", "segments")
	}
	return page, "https://" + GraphHost + "/v1.0/communications/callRecords/" + rec.ID + "/sessions?" + q.Encode()
}

// handleCallRecordSessions is GET
// /v1.0/communications/callRecords/{id}/sessions: the pages after the
// first.
func (s *Server) handleCallRecordSessions(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permCalls)
	if !ok {
		return
	}
	q := r.URL.Query()
	exp := strings.ToLower(strings.ReplaceAll(q.Get("$expand"), " ", ""))
	if exp != "" && exp != "segments" {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "$expand=" + exp + " is not supported on sessions; use segments."})
		return
	}
	rec, skip, ok := s.recordPage(w, r, p)
	if !ok {
		return
	}
	page, next := s.sessionPage(p.tenant, rec, skip, exp == "segments")
	body := map[string]any{"@odata.context": graphContext + "communications/callRecords('" + rec.ID + "')/sessions", "value": page}
	if next != "" {
		body["@odata.nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

// startFilter is a parsed clause of the list's $filter: a comparison of
// startDateTime, or (participant set) participants_v2/any(p:p/id eq '...').
type startFilter struct {
	op          string // gt, ge, lt, le
	at          time.Time
	participant string // a user ID, lower case
}

// matchRecord reports whether rec satisfies the clause in tenant t.
func (f startFilter) matchRecord(t *Tenant, rec CallRecord) bool {
	if f.participant == "" {
		return f.match(rec.Start)
	}
	for _, upn := range rec.Participants {
		if u, ok := t.dir.User(upn); ok && strings.EqualFold(u.ID, f.participant) {
			return true
		}
	}
	return false
}

// parseParticipantAny parses participants_v2/any(p:p/id eq '{id}') (the
// callRecord list reference, "Example 2: Get call records by participant").
func parseParticipantAny(clause string) (string, bool) {
	c := strings.ReplaceAll(clause, " ", "")
	rest, ok := cutPrefixFold(c, "participants_v2/any(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return "", false
	}
	v, body, ok := strings.Cut(strings.TrimSuffix(rest, ")"), ":")
	if !ok || v == "" {
		return "", false
	}
	id, ok := cutPrefixFold(body, v+"/ideq'")
	if !ok || !strings.HasSuffix(id, "'") || len(id) < 2 {
		return "", false
	}
	return strings.ToLower(strings.TrimSuffix(id, "'")), true
}

// cutPrefixFold is strings.CutPrefix, ASCII case-insensitive.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

func (f startFilter) match(t time.Time) bool {
	switch f.op {
	case "gt":
		return t.After(f.at)
	case "ge":
		return !t.Before(f.at)
	case "lt":
		return t.Before(f.at)
	case "le":
		return !t.After(f.at)
	}
	return false
}

// parseStartFilter parses "startDateTime ge 2026-01-01T00:00:00Z [and
// startDateTime lt ...]" and participants_v2/any(p:p/id eq '{id}'),
// joined by and: the filters the list reference documents.
func parseStartFilter(raw string) ([]startFilter, *graphError) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var out []startFilter
	for _, part := range splitFold(raw, " and ") {
		if id, ok := parseParticipantAny(strings.TrimSpace(part)); ok {
			out = append(out, startFilter{participant: id})
			continue
		}
		f := strings.Fields(part)
		if len(f) != 3 || !strings.EqualFold(f[0], "startDateTime") {
			return nil, badFilter("Invalid filter clause: only startDateTime with lt, le, gt, ge and participants_v2/any(p:p/id eq '{id}') are supported.")
		}
		op := strings.ToLower(f[1])
		if op != "lt" && op != "le" && op != "gt" && op != "ge" {
			return nil, badFilter("Invalid filter clause: operator '" + f[1] + "' is not supported on startDateTime.")
		}
		at, err := time.Parse(time.RFC3339Nano, f[2])
		if err != nil {
			return nil, badFilter("Invalid filter clause: '" + f[2] + "' is not a DateTimeOffset.")
		}
		out = append(out, startFilter{op: op, at: at})
	}
	return out, nil
}

func badFilter(msg string) *graphError {
	return &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: msg}
}

// handleListCallRecords is GET /v1.0/communications/callRecords: records
// without sessions, oldest start first, filtered by startDateTime, paged.
func (s *Server) handleListCallRecords(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permCalls)
	if !ok {
		return
	}
	q := r.URL.Query()
	filters, ge := parseStartFilter(q.Get("$filter"))
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	skip := 0
	if v := q.Get("$skiptoken"); v != "" {
		var err error
		if skip, err = strconv.Atoi(v); err != nil || skip < 0 {
			s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "The $skiptoken is not valid."})
			return
		}
	}
	s.mu.Lock()
	all := sortedCalls(p.tenant)
	s.mu.Unlock()
	var matched []CallRecord
	for _, rec := range all {
		ok := true
		for _, f := range filters {
			ok = ok && f.matchRecord(p.tenant, rec)
		}
		if ok {
			matched = append(matched, rec)
		}
	}
	end := min(skip+callRecordPageSize, len(matched))
	value := make([]any, 0, max(end-skip, 0))
	for i := skip; i < end; i++ {
		value = append(value, p.tenant.recordJSON(matched[i]))
	}
	body := map[string]any{"@odata.context": graphContext + "communications/callRecords", "value": value}
	if end < len(matched) {
		nq := url.Values{"$skiptoken": {strconv.Itoa(end)}}
		if f := q.Get("$filter"); f != "" {
			nq.Set("$filter", f)
		}
		body["@odata.nextLink"] = "https://" + GraphHost + "/v1.0/communications/callRecords?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

// StoreCallRecord stores a call record in the tenant without notifying
// any subscription, as if Graph had lost the notification; listing by
// startDateTime finds it. It returns the record's ID.
func (s *Server) StoreCallRecord(tenant string, rec CallRecord) (string, error) {
	t, ok := s.Tenant(tenant)
	if !ok {
		return "", fmt.Errorf("m365test: StoreCallRecord: unknown tenant %q", tenant)
	}
	rec = normalizeRecord(rec)
	rec.Version = 1
	s.mu.Lock()
	t.calls[rec.ID] = rec
	s.mu.Unlock()
	return rec.ID, nil
}
