package voice

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/testdb"
)

// TestApplyRetryResumesQueuedUsers: a replica that dies after sending a
// user's license but before saving anything leaves the user queued; the
// lane's next attempt must look before it assigns, so the license is
// not assigned twice (the voicescale test caught it: resumed was only
// set for users saved as running).
func TestApplyRetryResumesQueuedUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.SQLite(t)
	g := newStub(t, 12)
	st, err := NewStore(ctx, db.DB, db.Dialect)
	require.NoError(t, err)
	s, err := New(Config{Access: stubAccess{url: g.srv.URL}, Store: st, HTTPClient: g.srv.Client(),
		PollInterval: 5 * time.Millisecond, PollMaxInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, s.UseInserter(ctx, heldInserter{})) // the test plays the lane's attempts
	_, err = s.Refresh(ctx, "c")
	require.NoError(t, err)
	p, err := s.PlanCSV(ctx, "c", strings.NewReader("user,number,licenses\nuser00004@contoso.test,+39020000004,auto\n"), "a")
	require.NoError(t, err)
	require.Equal(t, 1, p.Changes, "%+v %+v", p.Items, p.Items[0].Error)
	op, err := s.ApplyPlan(ctx, "c", p.ID, "a")
	require.NoError(t, err)

	// The first attempt's license reached Microsoft; nothing was saved.
	g.mu.Lock()
	u := g.users["00000000-0000-0000-0000-000000000004"]
	u.licenses = append(u.licenses, "sku-ev")
	g.mu.Unlock()

	require.NoError(t, s.runLane(ctx, "c", op.ID, 0, true, false))
	got, err := s.Operation(ctx, "c", op.ID)
	require.NoError(t, err)
	require.Equal(t, StateSucceeded, got.State, "%+v", got.Items)
	assert.Equal(t, 0, g.count("POST assignLicense"), "the license was not assigned again")
	assert.Contains(t, got.Items[0].Steps[0].Detail, "found assigned on resume")
	assert.Equal(t, 1, g.count("POST assignNumber"))
}
