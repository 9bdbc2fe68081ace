package fleet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// TestInterruptRun: an orphaned sync's run record says interrupted, when
// its process was last heard of and how far it got; on its last attempt,
// failed. A run that already ended, or another job's, is left alone.
func TestInterruptRun(t *testing.T) {
	t.Parallel()
	f := memFleet(t)
	beat := time.Date(2026, 12, 6, 0, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		job       int64
		discarded bool
		state     string
	}{
		{"given back", 7, false, RunInterrupted},
		{"last attempt", 7, true, RunFailed},
		{"another job's run", 8, false, RunRunning},
	} {
		run := SyncRun{ID: runID(7), Job: 7, State: RunRunning, Heartbeat: beat, Progress: Progress{Read: 20979, Estimate: 50001, Percent: 41}}
		require.NoError(t, f.saveRun(t.Context(), "c1", run))
		require.NoError(t, f.interruptRun(t.Context(), orphan{Job: tc.job, Kind: KindSync, Customer: "c1", Discarded: tc.discarded}))
		got, _, err := f.LatestSync(t.Context(), "c1")
		require.NoError(t, err)
		assert.Equal(t, tc.state, got.State, tc.name)
		if tc.state == RunRunning {
			assert.Nil(t, got.FinishedAt, tc.name)
			continue
		}
		require.NotNil(t, got.Error, tc.name)
		assert.Equal(t, "interrupted", got.Error.Code, tc.name)
		assert.Contains(t, got.Error.Message, "2026-12-06T00:30:00Z", tc.name)
		assert.Contains(t, got.Error.Message, "20979 users read of 50001", tc.name)
		assert.NotNil(t, got.FinishedAt, tc.name)
	}
}

// memFleet is a Fleet on an in-memory store, for tests of its records.
func memFleet(t *testing.T) *Fleet {
	t.Helper()
	k, err := tokenstore.GenerateKey("test")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(k)
	require.NoError(t, err)
	return &Fleet{cfg: Config{Store: tokenstore.New(memstore.New(), kr), Now: time.Now}}
}
