package usersync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync"
)

// TestSyncTransportFaults: connection resets on /users are retried with
// backoff (two used to fail the sync in 0.0 s); a Retry-After longer
// than the request timeout is waited between attempts, within the sync's
// deadline (it used to end as "Client.Timeout exceeded"), and one past
// the deadline fails at once as throttled.
func TestSyncTransportFaults(t *testing.T) {
	t.Parallel()
	c := newCloudLifetime(t, time.Hour)
	tn := c.connect(t, "faults", 200, "")
	src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), RequestTimeout: time.Second, MaxRetries: 2})
	require.NoError(t, err)
	sink := &usersync.MemorySink{}
	s := &usersync.Syncer{Source: src, Sink: sink, Filters: c.m, Logger: discardLogger}
	require.NoError(t, s.SyncCustomer(t.Context(), "faults").Err)

	t.Run("resets", func(t *testing.T) {
		remove := c.srv.InjectFault(m365test.Fault{Tenant: tn.ID, Endpoint: m365test.EndpointUsers, Drop: true, Times: 2})
		defer remove()
		r := s.SyncCustomer(t.Context(), "faults")
		require.NoError(t, r.Err)
		assert.Equal(t, 201, r.Unchanged)
	})
	t.Run("Retry-After past the request timeout", func(t *testing.T) {
		remove := c.srv.InjectFault(m365test.Fault{Tenant: tn.ID, Endpoint: m365test.EndpointUsers,
			Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second, Times: 1})
		defer remove()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		r := s.SyncCustomer(ctx, "faults")
		require.NoError(t, r.Err)
		assert.GreaterOrEqual(t, r.Duration, 2*time.Second)
	})
	t.Run("Retry-After past the deadline", func(t *testing.T) {
		remove := c.srv.InjectFault(m365test.Fault{Tenant: tn.ID, Endpoint: m365test.EndpointUsers,
			Status: http.StatusTooManyRequests, RetryAfter: time.Minute})
		defer remove()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		r := s.SyncCustomer(ctx, "faults")
		var me *m365access.Error
		require.ErrorAs(t, r.Err, &me)
		assert.Equal(t, http.StatusTooManyRequests, me.HTTPStatus, "says throttled")
		assert.Equal(t, time.Minute, me.RetryAfter)
		assert.Less(t, r.Duration, 5*time.Second, "gives up at once")
		assert.Equal(t, 201, sink.Len("faults"))
	})
}

// TestSyncTokenEndpointFaults: one 503, 429 or connection reset of Entra
// ID's token endpoint is retried with backoff (each used to fail the sync
// in 0.0 s); a storm longer than the retries fails with the cause.
func TestSyncTokenEndpointFaults(t *testing.T) {
	t.Parallel()
	// One-minute tokens: every sync redeems the refresh token.
	c := newCloudLifetime(t, time.Minute)
	tn := c.connect(t, "tokfaults", 50, "")
	sink := &usersync.MemorySink{}
	tokens := func() int { return c.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken, Tenant: tn.ID}) }
	for _, f := range []m365test.Fault{
		{Status: http.StatusServiceUnavailable},
		{Status: http.StatusTooManyRequests, RetryAfter: time.Second},
		{Drop: true},
	} {
		f.Tenant, f.Endpoint, f.Times = tn.ID, m365test.EndpointToken, 1
		c.restart(t) // nothing in memory: the sync asks the token endpoint
		before := tokens()
		remove := c.srv.InjectFault(f)
		r := c.syncer(t, sink, 0).SyncCustomer(t.Context(), "tokfaults")
		remove()
		require.NoError(t, r.Err, "fault %+v", f)
		assert.Equal(t, 51, r.Unchanged+r.Added)
		assert.Equal(t, before+2, tokens(), "the fault and one retry")
	}
	c.restart(t)
	remove := c.srv.InjectFault(m365test.Fault{Tenant: tn.ID, Endpoint: m365test.EndpointToken, Status: http.StatusServiceUnavailable})
	defer remove()
	r := c.syncer(t, sink, 0).SyncCustomer(t.Context(), "tokfaults")
	require.Error(t, r.Err)
	assert.Equal(t, m365access.ActionWaitAndRetry, r.Action)
}
