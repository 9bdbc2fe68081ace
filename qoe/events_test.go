package qoe_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/qoe"
)

type eventRecorder struct {
	mu  sync.Mutex
	got []events.Event
}

func (r *eventRecorder) Emit(_ context.Context, e events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, e)
	return nil
}

// TestSubscriptionFailedEvent: a QoE app without CallRecords.Read.All
// cannot subscribe; the first failure emits qoe.subscription.failed with
// the action, the retries that fail the same way do not.
func TestSubscriptionFailedEvent(t *testing.T) {
	t.Parallel()
	rec := &eventRecorder{}
	e := newEnv(t, backends(t)[0], envOptions{cfg: func(c *qoe.Config) { c.Events = rec }})
	noRoles := e.addQoEApp(t, e.tenant)
	e.saveQoE(t, "fabrikam", e.tenant, noRoles.ClientID)
	for range 2 {
		if err := e.svc.EnsureSubscription(t.Context(), "fabrikam"); err == nil {
			t.Fatal("EnsureSubscription succeeded without CallRecords.Read.All")
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var failed []events.Event
	for _, ev := range rec.got {
		if ev.Type == events.QoESubscriptionFailed {
			failed = append(failed, ev)
		}
	}
	if len(failed) != 1 {
		t.Fatalf("qoe.subscription.failed emitted %d times, want 1: %+v", len(failed), rec.got)
	}
	if ev := failed[0]; ev.Data.Customer != "fabrikam" || ev.Data.Error == "" || ev.Key == "" || strings.Contains(ev.Data.Error, qoeAppPW) {
		t.Errorf("event = %+v", ev)
	}
}
