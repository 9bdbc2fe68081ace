package qoe

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxNotificationBody bounds a notification request body. Graph batches
// at most a few hundred notifications; 1 MiB is ample.
const maxNotificationBody = 1 << 20

// maxValidationToken bounds an echoed validationToken.
const maxValidationToken = 1024

// ackBudget is how long the receiver spends queueing before it gives up
// with 503 (Graph wants an answer within 3 seconds and retries).
const ackBudget = 2500 * time.Millisecond

// notification is one change or lifecycle notification.
type notification struct {
	SubscriptionID string `json:"subscriptionId"`
	ClientState    string `json:"clientState"`
	ChangeType     string `json:"changeType"`
	Resource       string `json:"resource"`
	TenantID       string `json:"tenantId"`
	LifecycleEvent string `json:"lifecycleEvent"`
	ResourceData   *struct {
		ID string `json:"id"`
	} `json:"resourceData"`
}

// callID returns the call record ID the notification names.
func (n *notification) callID() string {
	if n.ResourceData != nil && n.ResourceData.ID != "" {
		return strings.ToLower(n.ResourceData.ID)
	}
	res := strings.TrimPrefix(n.Resource, "/")
	if id, ok := strings.CutPrefix(strings.ToLower(res), "communications/callrecords/"); ok && id != "" && !strings.Contains(id, "/") {
		return id
	}
	// Graph also writes "communications/callRecords('id')".
	if i := strings.Index(res, "('"); i >= 0 && strings.HasSuffix(res, "')") {
		return strings.ToLower(res[i+2 : len(res)-2])
	}
	return ""
}

// Handler returns the change and lifecycle notification receiver, to be
// mounted at the NotificationURL (POST only; no Authorizer: Microsoft
// calls it, and each notification's clientState is checked in constant
// time against the subscription's). A POST with validationToken echoes
// it as text/plain. Otherwise every notification with the right
// clientState is queued as a River job before the answer (202), so a
// crash after the answer loses nothing; a notification with an unknown
// subscription or a wrong clientState is counted and dropped (403 when
// none was accepted). Queueing that does not finish within 2.5 s
// answers 503 and Graph delivers again.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(s.serveNotifications)
}

func (s *Service) serveNotifications(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if tok, ok := r.URL.Query()["validationToken"]; ok {
		if len(tok) != 1 || len(tok[0]) > maxValidationToken {
			http.Error(w, "bad validationToken", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, tok[0])
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNotificationBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	var in struct {
		Value []notification `json:"value"`
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Value) == 0 {
		http.Error(w, "not a notification collection", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ackBudget)
	defer cancel()
	accepted := 0
	for i := range in.Value {
		n := &in.Value[i]
		ok, err := s.accept(ctx, n)
		if err != nil {
			s.log.ErrorContext(ctx, "qoe: queueing a notification failed; Graph will deliver it again", "subscription", n.SubscriptionID, "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if ok {
			accepted++
		}
	}
	if accepted == 0 {
		http.Error(w, "refused", http.StatusForbidden)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// accept checks one notification and queues its job. It reports false
// for a refused notification (counted, never stored).
func (s *Service) accept(ctx context.Context, n *notification) (bool, error) {
	sub, found, err := s.lookupSub(ctx, n.SubscriptionID)
	if err != nil {
		return false, err
	}
	if !found || !clientStateOK(sub.hash, n.ClientState) {
		s.stats.rejected.Add(1)
		s.log.WarnContext(ctx, "qoe: notification refused: unknown subscription or wrong clientState", "subscription", clipID(n.SubscriptionID))
		if found {
			if err := s.cfg.Store.addRejected(ctx, n.SubscriptionID); err != nil {
				s.log.WarnContext(ctx, "qoe: counting a refused notification failed", "err", err)
			}
		}
		return false, nil
	}
	if n.LifecycleEvent != "" {
		switch n.LifecycleEvent {
		case lifecycleReauthorize, lifecycleRemoved, lifecycleMissed:
		default:
			s.log.InfoContext(ctx, "qoe: unknown lifecycle event ignored", "event", clipID(n.LifecycleEvent))
			return true, nil
		}
		if _, err := s.insert(ctx, LifecycleArgs{Customer: sub.customer, SubscriptionID: n.SubscriptionID, Event: n.LifecycleEvent}, nil); err != nil {
			return false, err
		}
		s.stats.lifecycle.Add(1)
		return true, nil
	}
	id := n.callID()
	if id == "" || len(id) > 200 {
		s.log.InfoContext(ctx, "qoe: notification without a call record ID ignored", "subscription", n.SubscriptionID)
		return true, nil
	}
	if _, err := s.insert(ctx, FetchCallArgs{Customer: sub.customer, CallID: id}, nil); err != nil {
		return false, err
	}
	s.stats.accepted.Add(1)
	return true, nil
}

// clientStateOK compares the hash of got with the stored hash in
// constant time.
func clientStateOK(storedHex, got string) bool {
	want, err := hex.DecodeString(storedHex)
	if err != nil || len(want) == 0 {
		return false
	}
	h, _ := hex.DecodeString(hashState(got))
	return subtle.ConstantTimeCompare(want, h) == 1
}

func clipID(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}
