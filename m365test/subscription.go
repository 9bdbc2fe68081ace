package m365test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxCallRecordSubscription is the longest lifetime Graph allows for a
// subscription to call records: 4,230 minutes.
const MaxCallRecordSubscription = 4230 * time.Minute

// Subscription is a Graph change notification subscription.
type Subscription struct {
	ID                 string
	Tenant             string // tenant GUID
	ApplicationID      string
	Resource           string
	ChangeType         string
	NotificationURL    string
	LifecycleURL       string
	ClientState        string
	ExpirationDateTime time.Time
}

func (sub *Subscription) json() map[string]any {
	return map[string]any{
		"@odata.context":            graphContext + "subscriptions/$entity",
		"id":                        sub.ID,
		"resource":                  sub.Resource,
		"applicationId":             sub.ApplicationID,
		"changeType":                sub.ChangeType,
		"clientState":               sub.ClientState,
		"notificationUrl":           sub.NotificationURL,
		"lifecycleNotificationUrl":  nullable(sub.LifecycleURL),
		"expirationDateTime":        sub.ExpirationDateTime.UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"creatorId":                 servicePrincipalIDFor(sub.Tenant, sub.ApplicationID),
		"latestSupportedTlsVersion": "v1_2",
		"notificationContentType":   "application/json",
		"includeResourceData":       false,
		// The rest of the v1.0 subscription (CSDL): no encryption, no
		// query options, no app ID of the notification URL.
		"encryptionCertificate":    nil,
		"encryptionCertificateId":  nil,
		"notificationQueryOptions": nil,
		"notificationUrlAppId":     nil,
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func servicePrincipalIDFor(tenantID, clientID string) string {
	return servicePrincipalID(&Tenant{ID: tenantID}, clientID)
}

// Subscriptions returns the current subscriptions, in no particular order.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		out = append(out, *sub)
	}
	return out
}

func invalidSub(msg string) *graphError {
	return &graphError{status: http.StatusBadRequest, code: "InvalidRequest", msg: msg}
}

func notFoundSub() *graphError {
	return &graphError{status: http.StatusNotFound, code: "ResourceNotFound", msg: "The object was not found."}
}

// notificationURLOK accepts https URLs, and http on loopback for tests.
func notificationURLOK(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// validateEndpoint performs Graph's validation handshake: POST
// {url}?validationToken=... and expect the token echoed as text/plain with
// 200 within 10 seconds.
func (s *Server) validateEndpoint(ctx context.Context, raw string) error {
	tok := "Validation: Testing client application reachability for subscription Request-Id: " + newID()
	u := appendQuery(raw, url.Values{"validationToken": {tok}})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := s.notify.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("validation answered %d", resp.StatusCode)
	}
	// "respond ... with a 200 OK status code, content type text/plain,
	// and the validation token in the body" (change notifications
	// through webhooks, notification endpoint validation).
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return fmt.Errorf("validation answered Content-Type %q, not text/plain", resp.Header.Get("Content-Type"))
	}
	if string(body) != tok {
		return errors.New("validation response did not echo the validationToken")
	}
	return nil
}

type subscriptionRequest struct {
	ChangeType               string `json:"changeType"`
	NotificationURL          string `json:"notificationUrl"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl"`
	Resource                 string `json:"resource"`
	ExpirationDateTime       string `json:"expirationDateTime"`
	ClientState              string `json:"clientState"`
}

func (s *Server) checkExpiration(raw string) (time.Time, *graphError) {
	exp, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, invalidSub("expirationDateTime is missing or not a valid date.")
	}
	now := s.Now()
	if !exp.After(now) {
		return time.Time{}, invalidSub("Subscription expiration must be in the future.")
	}
	if exp.Sub(now) > MaxCallRecordSubscription {
		return time.Time{}, invalidSub("Subscription expiration can only be 4230 minutes in the future.")
	}
	return exp, nil
}

// handleCreateSubscription is POST /v1.0/subscriptions; only
// /communications/callRecords is supported.
func (s *Server) handleCreateSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permCalls)
	if !ok {
		return
	}
	var req subscriptionRequest
	if err := readJSONBody(r, &req); err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "Cannot read the request body."})
		return
	}
	if res := strings.Trim(strings.ToLower(req.Resource), "/"); res != "communications/callrecords" {
		s.writeGraphError(w, r, invalidSub("Resource '"+req.Resource+"' is not supported by this fake; use '/communications/callRecords'."))
		return
	}
	if !changeTypeOK(req.ChangeType) {
		s.writeGraphError(w, r, invalidSub("ChangeType '"+req.ChangeType+"' is not supported for resource '/communications/callRecords'; use 'created' or 'created,updated'."))
		return
	}
	if !notificationURLOK(req.NotificationURL) || (req.LifecycleNotificationURL != "" && !notificationURLOK(req.LifecycleNotificationURL)) {
		s.writeGraphError(w, r, invalidSub("The notification URL must be an https URL (http is accepted on loopback by the fake)."))
		return
	}
	if len(req.ClientState) > 128 {
		s.writeGraphError(w, r, invalidSub("clientState must be at most 128 characters."))
		return
	}
	exp, ge := s.checkExpiration(req.ExpirationDateTime)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	for _, u := range []string{req.NotificationURL, req.LifecycleNotificationURL} {
		if u == "" {
			continue
		}
		if err := s.validateEndpoint(r.Context(), u); err != nil {
			s.writeGraphError(w, r, invalidSub("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request: "+err.Error()))
			return
		}
	}
	sub := &Subscription{ID: newID(), Tenant: p.tenant.ID, ApplicationID: p.clientID, Resource: req.Resource,
		ChangeType: req.ChangeType, NotificationURL: req.NotificationURL, LifecycleURL: req.LifecycleNotificationURL,
		ClientState: req.ClientState, ExpirationDateTime: exp}
	s.mu.Lock()
	s.subs[sub.ID] = sub
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, sub.json())
}

// changeTypeOK accepts a comma-separated list of created and updated.
func changeTypeOK(ct string) bool {
	parts := strings.Split(ct, ",")
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if (p != "created" && p != "updated") || seen[p] {
			return false
		}
		seen[p] = true
	}
	return len(parts) > 0
}

// subscriptionFor returns the caller's subscription id.
func (s *Server) subscriptionFor(p *principal, id string) *Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[id]
	if sub == nil || sub.Tenant != p.tenant.ID || sub.ApplicationID != p.clientID {
		return nil
	}
	return sub
}

// requestedSubscription authorizes a request on /v1.0/subscriptions/{id}
// and finds the subscription, which must belong to the caller's tenant and
// app. When it returns false it has written the error answer.
func (s *Server) requestedSubscription(w http.ResponseWriter, r *http.Request, c *call) (*Subscription, bool) {
	p, ok := s.graphAuth(w, r, c, permCalls)
	if !ok {
		return nil, false
	}
	sub := s.subscriptionFor(p, r.PathValue("id"))
	if sub == nil {
		s.writeGraphError(w, r, notFoundSub())
		return nil, false
	}
	return sub, true
}

// handleGetSubscription is GET /v1.0/subscriptions/{id}.
func (s *Server) handleGetSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	sub, ok := s.requestedSubscription(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	body := sub.json()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// handleUpdateSubscription is PATCH /v1.0/subscriptions/{id}: renewal.
func (s *Server) handleUpdateSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	sub, ok := s.requestedSubscription(w, r, c)
	if !ok {
		return
	}
	var req subscriptionRequest
	if err := readJSONBody(r, &req); err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "Cannot read the request body."})
		return
	}
	exp, ge := s.checkExpiration(req.ExpirationDateTime)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	s.mu.Lock()
	sub.ExpirationDateTime = exp
	body := sub.json()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// handleReauthorizeSubscription is POST
// /v1.0/subscriptions/{id}/reauthorize, the documented answer to a
// reauthorizationRequired lifecycle notification (subscription:
// reauthorize reference): 204 No Content for the caller's subscription,
// while it still holds the permission the resource needs.
func (s *Server) handleReauthorizeSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	sub, ok := s.requestedSubscription(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	expired := !s.nowLocked().Before(sub.ExpirationDateTime)
	s.mu.Unlock()
	if expired {
		s.writeGraphError(w, r, notFoundSub())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleDeleteSubscription is DELETE /v1.0/subscriptions/{id}.
func (s *Server) handleDeleteSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	sub, ok := s.requestedSubscription(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.subs, sub.ID)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
