package usersync_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

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
	if r := c.syncer(t, sink, 0).Sync(t.Context(), "lag")[0]; r.Err != nil || !slices.Equal(upns(sink), before) {
		t.Fatalf("first sync: %+v %v: %v", r.Counts, r.Err, upns(sink))
	}
	// User 104 (Milan) joins, user 14 moves to Paris.
	if _, err := tn.AddUsers(10); err != nil {
		t.Fatal(err)
	}
	if err := tn.UpdateUser(fmt.Sprintf("user%05d@%s", 14, tn.Domain()), map[string]any{"usageLocation": "FR"}); err != nil {
		t.Fatal(err)
	}
	r := c.syncer(t, sink, 0).Sync(t.Context(), "lag")[0]
	if r.Err != nil || !slices.Equal(upns(sink), before) || r.Added+r.Removed+r.Changed != 0 {
		t.Errorf("within the lag: %+v %v: %v; want the index's (older) state, unchanged", r.Counts, r.Err, upns(sink))
	}

	// A plain read without the count sees the directory as it is.
	src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), NoCount: true})
	if err != nil {
		t.Fatal(err)
	}
	plain := &usersync.MemorySink{}
	s := &usersync.Syncer{Source: src, Sink: plain, Filters: c.m, Logger: discardLogger}
	if r := s.Sync(t.Context(), "lag")[0]; r.Err != nil || !slices.Equal(upns(plain), after) {
		t.Errorf("NoCount within the lag: %+v %v: %v", r.Counts, r.Err, upns(plain))
	}

	// The next round after the lag catches up.
	c.srv.Advance(lag)
	r = c.syncer(t, sink, 0).Sync(t.Context(), "lag")[0]
	if r.Err != nil || !slices.Equal(upns(sink), after) || r.Added != 1 || r.Removed != 1 {
		t.Errorf("after the lag: %+v %v: %v", r.Counts, r.Err, upns(sink))
	}
}
