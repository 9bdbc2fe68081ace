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
// lifecycleNotificationUrl.
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

// retryLater retries a failed delivery in the background with doubling
// delays, and sends "missed" to the lifecycle URL when every retry failed.
func (s *Server) retryLater(sub Subscription, body []byte) {
	s.bg.Add(1)
	s.countPending(1)
	go func() {
		defer s.bg.Done()
		defer s.countPending(-1)
		delay := s.opts.NotificationRetryDelay
		for range s.opts.NotificationRetries {
			t := time.NewTimer(delay)
			select {
			case <-s.closing:
				t.Stop()
				return
			case <-t.C:
			}
			delay *= 2
			if s.postNotification(context.Background(), sub.ID, sub.NotificationURL, body) == nil {
				return
			}
		}
		s.mu.Lock()
		s.missed[sub.ID]++
		s.mu.Unlock()
		if sub.LifecycleURL != "" {
			_ = s.sendLifecycle(context.Background(), sub, LifecycleMissed)
		}
	}()
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
