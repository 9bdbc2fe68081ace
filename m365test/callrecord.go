package m365test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CallRecord is a Teams call record of a tenant, served at
// /v1.0/communications/callRecords/{id}.
type CallRecord struct {
	// ID is the record's ID; empty generates one.
	ID string
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
}

// AddCallRecord stores a call record in the tenant and delivers a
// "created" change notification to every unexpired subscription of that
// tenant, each of which must answer 2xx within 3 seconds. It returns the
// record's ID and the delivery failures joined.
func (s *Server) AddCallRecord(ctx context.Context, tenant string, rec CallRecord) (string, error) {
	t, ok := s.Tenant(tenant)
	if !ok {
		return "", fmt.Errorf("m365test: AddCallRecord: unknown tenant %q", tenant)
	}
	if rec.ID == "" {
		rec.ID = newID()
	}
	if rec.Type == "" {
		rec.Type = "peerToPeer"
	}
	if len(rec.Modalities) == 0 {
		rec.Modalities = []string{"audio"}
	}
	s.mu.Lock()
	t.calls[rec.ID] = rec
	now := s.nowLocked()
	var subs []Subscription
	for _, sub := range s.subs {
		if sub.Tenant == t.ID && now.Before(sub.ExpirationDateTime) {
			subs = append(subs, *sub)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, sub := range subs {
		res := "communications/callRecords/" + rec.ID
		body, err := json.Marshal(map[string]any{"value": []any{map[string]any{
			"id":                             newID(),
			"subscriptionId":                 sub.ID,
			"subscriptionExpirationDateTime": sub.ExpirationDateTime.UTC().Format(time.RFC3339Nano),
			"changeType":                     "created",
			"resource":                       res,
			"resourceData":                   map[string]any{"@odata.type": "#microsoft.graph.callrecord", "@odata.id": res, "id": rec.ID},
			"clientState":                    sub.ClientState,
			"tenantId":                       t.ID,
		}}})
		if err != nil {
			return rec.ID, err
		}
		if err := s.postNotification(ctx, sub, body); err != nil {
			errs = append(errs, err)
		}
	}
	return rec.ID, errors.Join(errs...)
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

// handleCallRecord is GET /v1.0/communications/callRecords/{id}.
func (s *Server) handleCallRecord(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permCalls)
	if !ok {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	rec, found := p.tenant.calls[strings.ToLower(id)]
	if !found {
		rec, found = p.tenant.calls[id]
	}
	s.mu.Unlock()
	if !found {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "NotFound", msg: "The call record was not found."})
		return
	}
	parts := make([]any, 0, len(rec.Participants))
	for _, upn := range rec.Participants {
		parts = append(parts, p.tenant.identity(upn))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context":       graphContext + "communications/callRecords/$entity",
		"id":                   rec.ID,
		"version":              1,
		"type":                 rec.Type,
		"modalities":           rec.Modalities,
		"lastModifiedDateTime": rec.End.UTC().Format(time.RFC3339Nano),
		"startDateTime":        rec.Start.UTC().Format(time.RFC3339Nano),
		"endDateTime":          rec.End.UTC().Format(time.RFC3339Nano),
		"joinWebUrl":           nil,
		"organizer":            p.tenant.identity(rec.Organizer),
		"participants":         parts,
	})
}
