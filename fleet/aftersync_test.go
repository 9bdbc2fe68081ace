package fleet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/usersync"
)

// afterSyncPlugin records AfterSync calls; it fails them when fail is set.
type afterSyncPlugin struct {
	name  string
	calls chan string
	fail  bool
}

var _ fleet.PluginAfterSync = (*afterSyncPlugin)(nil)

func (p *afterSyncPlugin) PluginName() string { return p.name }

func (p *afterSyncPlugin) AfterSync(_ context.Context, customer string, run fleet.SyncRun) error {
	p.calls <- p.name + " " + customer + " " + run.ID + " " + run.State
	if p.fail {
		return errors.New("refused")
	}
	return nil
}

// TestPluginAfterSync: each plugin with the step is called once after a
// customer's sync succeeded, with the run, in the order of the plugins,
// the second even when the first fails; a failed sync calls none.
func TestPluginAfterSync(t *testing.T) {
	t.Parallel()
	fail := make(chan bool, 10)
	src := usersync.SourceFunc(func(_ context.Context, _ string, _ usersync.Query, fn func(usersync.Page) error) error {
		if <-fail {
			return &usersync.FilterError{Customer: "c1", Err: errors.New("bad filter")}
		}
		return fn(usersync.Page{Users: []usersync.User{{ID: "1", UserPrincipalName: "a@c1"}}, Estimate: 1})
	})
	calls := make(chan string, 10)
	a := &afterSyncPlugin{name: "a", calls: calls, fail: true}
	b := &afterSyncPlugin{name: "b", calls: calls}
	cfg := fleet.Config{Access: newFakeAccess("c1"), Store: newStore(t), PlanInterval: time.Hour, Logger: quiet,
		Syncer: &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}, Logger: quiet}, Plugins: []fleet.Plugin{a, b}}
	backends(t)["sqlite"](&cfg)
	f := startFleet(t, cfg)
	ctx := t.Context()
	require.NoError(t, f.Enroll(ctx, "c1", ""))

	fail <- false
	run, err := f.SyncNow(ctx, "c1")
	require.NoError(t, err)
	for _, want := range []string{"a c1 " + run.ID + " succeeded", "b c1 " + run.ID + " succeeded"} {
		select {
		case got := <-calls:
			assert.Equal(t, want, got)
		case <-time.After(time.Minute):
			require.FailNow(t, "no AfterSync within a minute")
		}
	}

	fail <- true
	run, err = f.SyncNow(ctx, "c1")
	require.NoError(t, err)
	eventually(t, "the sync to fail", func() bool {
		r, _, _ := f.LatestSync(ctx, "c1")
		return r.ID == run.ID && r.State == fleet.RunFailed
	})
	assert.Empty(t, calls, "a failed sync calls no AfterSync")
}
