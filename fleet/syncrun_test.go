package fleet_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/usersync"
)

// TestFleetSyncSharesTheHostGuard: the fleet's syncs go through the
// host's Syncer, so one started while the host syncs the customer waits
// (retrying, code inProgress) instead of reading Graph a second time.
func TestFleetSyncSharesTheHostGuard(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	var reads atomic.Int64
	src := usersync.SourceFunc(func(ctx context.Context, _ string, _ usersync.Query, fn func(usersync.Page) error) error {
		if reads.Add(1) == 1 {
			close(started)
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return fn(usersync.Page{Users: []usersync.User{{ID: "1", UserPrincipalName: "a@c1"}}, Estimate: 1})
	})
	sy := &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}, Logger: quiet}
	cfg := fleet.Config{Access: newFakeAccess("c1"), Store: newStore(t), PlanInterval: time.Hour, Syncer: sy}
	backends(t)["sqlite"](&cfg)
	f := startFleet(t, cfg)
	ctx := t.Context()
	host := make(chan usersync.Result, 1)
	go func() { host <- sy.SyncCustomer(ctx, "c1") }()
	<-started
	require.NoError(t, f.Enroll(ctx, "c1", ""))
	_, err := f.SyncNow(ctx, "c1")
	require.NoError(t, err)
	eventually(t, "the fleet's sync to wait for the host's", func() bool {
		r, _, _ := f.LatestSync(ctx, "c1")
		return r.State == fleet.RunRetrying && r.Error != nil && r.Error.Code == "inProgress"
	})
	assert.Equal(t, int64(1), reads.Load(), "the fleet's sync read nothing")
	close(release)
	r := <-host
	require.NoError(t, r.Err)
	assert.Equal(t, 1, r.Added)
}
