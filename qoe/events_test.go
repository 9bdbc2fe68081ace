package qoe_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		require.Error(t, e.svc.EnsureSubscription(t.Context(), "fabrikam"), "EnsureSubscription succeeded without CallRecords.Read.All")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var failed []events.Event
	for _, ev := range rec.got {
		if ev.Type == events.QoESubscriptionFailed {
			failed = append(failed, ev)
		}
	}
	require.Len(t, failed, 1, "qoe.subscription.failed emitted: %+v", rec.got)
	ev := failed[0]
	assert.Equal(t, "fabrikam", ev.Data.Customer)
	assert.NotEmpty(t, ev.Data.Error)
	assert.NotEmpty(t, ev.Key)
	assert.False(t, strings.Contains(ev.Data.Error, qoeAppPW), "the event holds the secret")
}
