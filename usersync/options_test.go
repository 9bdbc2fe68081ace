package usersync_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync"
)

// TestSyncOptions: WithProgress adds a per-call progress callback after
// Syncer.OnProgress, WithFilters replaces Syncer.Filters for one call.
func TestSyncOptions(t *testing.T) {
	t.Parallel()
	src := usersync.SourceFunc(func(_ context.Context, _ string, q usersync.Query, fn func(usersync.Page) error) error {
		return fn(usersync.Page{Estimate: 2, Users: []usersync.User{
			{ID: "1", UserPrincipalName: "a@x", Department: "Sales"},
			{ID: "2", UserPrincipalName: "b@x", Department: "Ops"},
		}})
	})
	var mu sync.Mutex
	var order []string
	s := &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}, Logger: discardLogger,
		Filters: usersync.FilterFunc(func(context.Context, string) (string, error) { return "", nil }),
		// The client-side remainder keeps Sales only, whatever the text.
		Compile: func(string) (usersync.Query, error) {
			return usersync.Query{Match: func(u *usersync.User) bool { return u.Department == "Sales" }}, nil
		},
		OnProgress: func(p usersync.Progress) {
			mu.Lock()
			order = append(order, "syncer")
			mu.Unlock()
		}}
	var calls []usersync.Progress
	r := s.SyncCustomer(t.Context(), "c", usersync.WithProgress(func(p usersync.Progress) {
		mu.Lock()
		order = append(order, "call")
		calls = append(calls, p)
		mu.Unlock()
	}), usersync.WithFilters(usersync.FilterFunc(func(context.Context, string) (string, error) {
		return "Department -eq 'Sales'", nil
	})))
	require.NoError(t, r.Err)
	assert.Equal(t, 1, r.Matched, "the per-call filter applies")
	assert.Equal(t, []string{"syncer", "call", "syncer", "call"}, order)
	require.Len(t, calls, 2)
	assert.Equal(t, 2, calls[0].Read)
	assert.True(t, calls[1].Done)

	// Without options the Syncer's own (empty) filter applies again.
	r = s.SyncCustomer(t.Context(), "c")
	require.NoError(t, r.Err)
	assert.Equal(t, 2, r.Matched)
}

// TestSyncWithRound: WithRound overrides the planner both ways, and the
// stored users stay those a full read gives.
func TestSyncWithRound(t *testing.T) {
	t.Parallel()
	d := newDeltaCloud(t, 50, usersync.DeltaOptions{FullEvery: 1}, nil)
	sync := func(want usersync.Round, opts ...usersync.SyncOption) usersync.Result {
		t.Helper()
		r := d.delta.SyncCustomer(t.Context(), "acme", opts...)
		require.NoError(t, r.Err)
		require.Equal(t, want, r.Round, r.Reason)
		f := d.full.SyncCustomer(t.Context(), "acme")
		require.NoError(t, f.Err)
		require.Equal(t, normalize(d.check.Users("acme")), normalize(d.stored()))
		return r
	}
	sync(usersync.RoundFull)
	assert.Equal(t, "a full read was asked for", sync(usersync.RoundFull, usersync.WithRound(usersync.RoundFull)).Reason)
	sync(usersync.RoundDelta)
	// FullEvery 1: the planner would read every user now.
	assert.Equal(t, "a delta round was asked for", sync(usersync.RoundDelta, usersync.WithRound(usersync.RoundDelta)).Reason)
	assert.Equal(t, "periodic full read (delta rounds)", sync(usersync.RoundFull).Reason)
}
