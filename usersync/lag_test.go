package usersync_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync"
)

// TestSyncAdvancedQueryLag: Graph answers queries with ConsistencyLevel:
// eventual (which usersync sends for advanced filters and, unless
// GraphOptions.NoCount, for the progress count) from an index that lags
// behind writes. A sync within the lag stores the directory as the index
// had it (consistent, only older); the next round after the lag catches
// up exactly. With NoCount a plain filter reads the consistent directory
// at once.
func TestSyncAdvancedQueryLag(t *testing.T) {
	t.Parallel()
	const lag = 2 * time.Minute
	c := newCloudOptions(t, m365test.Options{AccessTokenLifetime: time.Hour, AdvancedQueryLag: lag})
	tn := c.connect(t, "lag", 100, "UsageLocation -eq 'IT'")
	upns := func(sink *usersync.MemorySink) []string {
		var out []string
		for _, u := range sink.Users("lag") {
			out = append(out, u.UserPrincipalName)
		}
		slices.Sort(out)
		return out
	}
	italy := func(indexes ...int) []string {
		var out []string
		for _, i := range indexes {
			out = append(out, fmt.Sprintf("user%05d@%s", i, tn.Domain()))
		}
		slices.Sort(out)
		return out
	}
	before := italy(4, 14, 24, 34, 44, 54, 64, 74, 84, 94)
	after := italy(4, 24, 34, 44, 54, 64, 74, 84, 94, 104)

	sink := &usersync.MemorySink{}
	r := c.syncer(t, sink, 0).Sync(t.Context(), "lag")[0]
	require.NoError(t, r.Err, "first sync")
	require.Equal(t, before, upns(sink), "first sync")
	// User 104 (Milan) joins, user 14 moves to Paris.
	_, err := tn.AddUsers(10)
	require.NoError(t, err)
	require.NoError(t, tn.UpdateUser(fmt.Sprintf("user%05d@%s", 14, tn.Domain()), map[string]any{"usageLocation": "FR"}))
	r = c.syncer(t, sink, 0).Sync(t.Context(), "lag")[0]
	// Within the lag: the index's (older) state, unchanged.
	assert.NoError(t, r.Err, "within the lag")
	assert.Equal(t, before, upns(sink), "within the lag")
	assert.Zero(t, r.Added+r.Removed+r.Changed, "within the lag: added, removed and changed")

	// A plain read without the count sees the directory as it is.
	src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), NoCount: true})
	require.NoError(t, err)
	plain := &usersync.MemorySink{}
	s := &usersync.Syncer{Source: src, Sink: plain, Filters: c.m, Logger: discardLogger}
	pr := s.Sync(t.Context(), "lag")[0]
	assert.NoError(t, pr.Err, "NoCount within the lag")
	assert.Equal(t, after, upns(plain), "NoCount within the lag")

	// The next round after the lag catches up.
	c.srv.Advance(lag)
	r = c.syncer(t, sink, 0).Sync(t.Context(), "lag")[0]
	assert.NoError(t, r.Err, "after the lag")
	assert.Equal(t, after, upns(sink), "after the lag")
	assert.Equal(t, 1, r.Added, "after the lag: added")
	assert.Equal(t, 1, r.Removed, "after the lag: removed")
}
