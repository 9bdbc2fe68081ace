package usersync_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync"
)

// TestSyncRenewsRejectedToken: Graph refusing a cached access token
// before its expiry (revoked sessions, a Continuous Access Evaluation
// event with or without a claims challenge, a clock past the token's
// expiry) costs one token request and the sync completes; the same
// Manager used to fail every sync until a restart. A fresh token refused
// too is an *m365access.Error naming the action (reInvite), not
// retryable.
func TestSyncRenewsRejectedToken(t *testing.T) {
	t.Parallel()
	c := newCloudLifetime(t, time.Hour)
	tn := c.connect(t, "cae", 300, "")
	sink := &usersync.MemorySink{}
	s := c.syncer(t, sink, 0)
	r := s.SyncCustomer(t.Context(), "cae")
	require.NoError(t, r.Err)
	require.Equal(t, 301, sink.Len("cae"))

	tokens := func() int {
		return c.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken, Tenant: tn.ID, Status: http.StatusOK})
	}
	for _, tc := range []struct {
		name  string
		fault func()
	}{
		{"revoked", func() { c.srv.RevokeAccessTokens(tn.ID, false) }},
		{"CAE claims challenge", func() { c.srv.RevokeAccessTokens(tn.ID, true) }},
		{"clock past expiry", func() { c.srv.Advance(2 * time.Hour) }},
	} {
		before := tokens()
		tc.fault()
		r := s.SyncCustomer(t.Context(), "cae")
		require.NoError(t, r.Err, tc.name)
		assert.Equal(t, 301, r.Unchanged, tc.name)
		assert.Equal(t, before+1, tokens(), "%s: one fresh token", tc.name)
		// The fresh token is cached again: the next sync asks for none.
		r = s.SyncCustomer(t.Context(), "cae")
		require.NoError(t, r.Err, tc.name)
		assert.Equal(t, before+1, tokens(), "%s: the fresh token is reused", tc.name)
	}

	// Every token refused: one renewal, then a typed error with the action.
	remove := c.srv.InjectFault(m365test.Fault{Tenant: tn.ID, Endpoint: m365test.EndpointUsers, Status: http.StatusUnauthorized})
	defer remove()
	before := tokens()
	r = s.SyncCustomer(t.Context(), "cae")
	var me *m365access.Error
	require.ErrorAs(t, r.Err, &me)
	assert.Equal(t, http.StatusUnauthorized, me.HTTPStatus)
	assert.False(t, me.Retryable)
	assert.Equal(t, m365access.ActionReInvite, r.Action)
	assert.Equal(t, before+1, tokens(), "one renewal, no loop")
	assert.Equal(t, 301, sink.Len("cae"), "the previous snapshot stays")
}
