package m365test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The lifecycle events Graph sends to a subscription's
// lifecycleNotificationUrl. The fake sends LifecycleMissed only through
// [Server.SendLifecycleNotification]: Graph sends it for Outlook
// resources, not for call records.
const (
	LifecycleReauthorizationRequired = "reauthorizationRequired"
	LifecycleSubscriptionRemoved     = "subscriptionRemoved"
	LifecycleMissed                  = "missed"
)

// notifyChange delivers a change notification about call record id to
// every unexpired subscription of t whose changeType lists changeType.
// First attempts are synchronous; failures are retried in the
// background.
func (s *Server) notifyChange(ctx context.Context, t *Tenant, id, changeType string) error {
	s.mu.Lock()
	now := s.nowLocked()
	var subs []Subscription
	for _, sub := range s.subs {
		if sub.Tenant == t.ID && now.Before(sub.ExpirationDateTime) && hasChangeType(sub.ChangeType, changeType) {
			subs = append(subs, *sub)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, sub := range subs {
		res := "communications/callRecords/" + id
		body, err := json.Marshal(map[string]any{"value": []any{map[string]any{
			"id":                             newID(),
			"subscriptionId":                 sub.ID,
			"subscriptionExpirationDateTime": sub.ExpirationDateTime.UTC().Format(time.RFC3339Nano),
			"changeType":                     changeType,
			"resource":                       res,
			"resourceData":                   map[string]any{"@odata.type": "#microsoft.graph.callrecord", "@odata.id": res, "id": id},
			"clientState":                    sub.ClientState,
			"tenantId":                       t.ID,
		}}})
		if err != nil {
			return err
		}
		if err := s.postNotification(ctx, sub.ID, sub.NotificationURL, body); err != nil {
			errs = append(errs, err)
			s.retryLater(sub, body)
		}
	}
	return errors.Join(errs...)
}

func hasChangeType(list, ct string) bool {
	for _, c := range strings.Split(list, ",") {
		if strings.TrimSpace(c) == ct {
			return true
		}
	}
	return false
}

// DefaultNotificationRetryWindow is how long a Server whose Options leave
// NotificationRetryWindow zero retries a change notification: about four
// hours, after which Graph drops it ("Receive change notifications through
// webhooks": Microsoft Graph retries a failed delivery for about four
// hours, then drops the notification).
const DefaultNotificationRetryWindow = 4 * time.Hour

// retryLater retries a failed delivery in the background with doubling
// delays, judged by the server's clock ([Server.Advance] moves it), until
// it is delivered, the retry window passes or the retry cap is reached;
// then it is dropped and counted in [Server.MissedNotifications]. No
// "missed" lifecycle notification is sent: Graph sends "missed" for
// Outlook resources only, never for call records (lifecycle notifications
// page), so a client must find dropped records by listing.
func (s *Server) retryLater(sub Subscription, body []byte) {
	s.bg.Add(1)
	s.countPending(1)
	first := s.Now()
	go func() {
		defer s.bg.Done()
		defer s.countPending(-1)
		delay := s.opts.NotificationRetryDelay
		due := first.Add(delay)
		for attempt := 1; ; attempt++ {
			if !s.sleepUntil(due) {
				return
			}
			delay *= 2
			due = s.Now().Add(delay)
			if s.postNotification(context.Background(), sub.ID, sub.NotificationURL, body) == nil {
				return
			}
			capped := s.opts.NotificationRetries > 0 && attempt >= s.opts.NotificationRetries
			if capped || s.opts.NotificationRetries < 0 || s.Now().Sub(first) >= s.opts.NotificationRetryWindow {
				break
			}
		}
		s.mu.Lock()
		s.missed[sub.ID]++
		s.mu.Unlock()
	}()
}

// sleepUntil waits until the server's clock reaches due, polling so that
// [Server.Advance] is noticed; it reports false when the server closes.
func (s *Server) sleepUntil(due time.Time) bool {
	for {
		wait := due.Sub(s.Now())
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(min(wait, 20*time.Millisecond))
		select {
		case <-s.closing:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

func (s *Server) countPending(d int) {
	s.mu.Lock()
	s.pending += d
	s.mu.Unlock()
}

// PendingNotifications returns how many failed change notifications are
// waiting for a retry.
func (s *Server) PendingNotifications() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// MissedNotifications returns how many change notifications of
// subscription id were given up after every retry.
func (s *Server) MissedNotifications(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.missed[id]
}

// SendLifecycleNotification posts a lifecycle notification (event is one
// of the Lifecycle constants) for subscription id to its
// lifecycleNotificationUrl, which must answer 2xx within 3 seconds.
func (s *Server) SendLifecycleNotification(ctx context.Context, id, event string) error {
	s.mu.Lock()
	sub, ok := s.subs[id]
	var cp Subscription
	if ok {
		cp = *sub
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("m365test: no subscription %q", id)
	}
	return s.sendLifecycle(ctx, cp, event)
}

// RemoveSubscription deletes subscription id as Graph does when it drops
// one, and sends "subscriptionRemoved" to its lifecycle URL.
func (s *Server) RemoveSubscription(ctx context.Context, id string) error {
	s.mu.Lock()
	sub, ok := s.subs[id]
	var cp Subscription
	if ok {
		cp = *sub
		delete(s.subs, id)
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("m365test: no subscription %q", id)
	}
	return s.sendLifecycle(ctx, cp, LifecycleSubscriptionRemoved)
}

func (s *Server) sendLifecycle(ctx context.Context, sub Subscription, event string) error {
	if sub.LifecycleURL == "" {
		return fmt.Errorf("m365test: subscription %s has no lifecycleNotificationUrl", sub.ID)
	}
	body, err := json.Marshal(map[string]any{"value": []any{map[string]any{
		"subscriptionId":                 sub.ID,
		"subscriptionExpirationDateTime": sub.ExpirationDateTime.UTC().Format(time.RFC3339Nano),
		"tenantId":                       sub.Tenant,
		"clientState":                    sub.ClientState,
		"lifecycleEvent":                 event,
	}}})
	if err != nil {
		return err
	}
	return s.postNotification(ctx, sub.ID, sub.LifecycleURL, body)
}

// postNotification delivers one notification and requires a 2xx answer
// within 3 seconds, as Graph does.
func (s *Server) postNotification(ctx context.Context, subID, target string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := s.notify.Do(req)
	if err != nil {
		return fmt.Errorf("m365test: notification to subscription %s: %w", subID, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("m365test: notification to subscription %s answered %d", subID, resp.StatusCode)
	}
	return nil
}
