package usersync_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync"
)

// TestSyncCutNextLinkRemovesNobody: a valid page that comes without its
// @odata.nextLink looks like the last page. The read holds fewer users
// than Graph's @odata.count, so the pass fails with an
// *IncompleteReadError and removes nobody; the next sync, with the links
// back, completes. Every read path of the GraphSource is covered: every
// user (/users with the Teams listing alongside), a filter (/users paired
// with the listing or batched by ID) and NoTeams.
func TestSyncCutNextLinkRemovesNobody(t *testing.T) {
	t.Parallel()
	c := newCloudLifetime(t, time.Hour)
	cases := []struct {
		customer, filter string
		users, stored    int
		noTeams          bool
	}{
		{customer: "every", users: 3000, stored: 3001},
		{customer: "filtered", users: 3000, stored: 600, filter: "UsageLocation -eq 'IT' -or UsageLocation -eq 'FR'"},
		{customer: "noteams", users: 3000, stored: 3001, noTeams: true},
	}
	for _, tc := range cases {
		tn := c.connect(t, tc.customer, tc.users, tc.filter)
		src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), NoTeams: tc.noTeams, PageSize: 500})
		require.NoError(t, err)
		sink := &usersync.MemorySink{}
		s := &usersync.Syncer{Source: src, Sink: sink, Filters: c.m, Logger: discardLogger}
		r := s.SyncCustomer(t.Context(), tc.customer)
		require.NoError(t, r.Err, tc.customer)
		require.Equal(t, tc.stored, sink.Len(tc.customer), tc.customer)
		before := sink.Users(tc.customer)

		remove := c.srv.CutNextLinks(tn.ID, 1)
		r = s.SyncCustomer(t.Context(), tc.customer)
		remove()
		var ie *usersync.IncompleteReadError
		require.ErrorAs(t, r.Err, &ie, "%s: a read cut short must fail", tc.customer)
		assert.Equal(t, int64(tc.stored), ie.Count, tc.customer)
		assert.Less(t, ie.Read, ie.Count, tc.customer)
		assert.Equal(t, m365access.ActionWaitAndRetry, r.Action, tc.customer)
		assert.True(t, m365access.IsRetryable(r.Err), tc.customer)
		assert.Zero(t, r.Removed, tc.customer)
		assert.Equal(t, before, sink.Users(tc.customer), "%s: the previous snapshot must stay", tc.customer)

		r = s.SyncCustomer(t.Context(), tc.customer)
		require.NoError(t, r.Err, tc.customer)
		assert.Equal(t, tc.stored, r.Unchanged, tc.customer)
	}
}

// TestShortReadTolerance: the lag of Graph's counted index explains a
// shortfall of 1% of the count (at least 5 users), no more.
func TestShortReadTolerance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ count, want int64 }{{0, 5}, {100, 5}, {5001, 50}, {50001, 500}} {
		assert.Equal(t, tc.want, usersync.ShortReadTolerance(tc.count), "count %d", tc.count)
	}
}
