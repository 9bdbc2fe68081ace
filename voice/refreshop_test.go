package voice

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/testdb"
)

// TestStartRefreshOnceInFlight: a refresh asked for while one is queued
// is that one, across replicas (two Stores on separate pools); the job
// reads the inventory and ends the operation with the count; then a new
// refresh is a new operation.
func TestStartRefreshOnceInFlight(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			g := newStub(t, 30)
			a := newStubService(t, db, g, nil)
			require.NoError(t, a.UseInserter(ctx, heldInserter{}))
			st2, err := NewStore(ctx, db.Open(t), db.Dialect)
			require.NoError(t, err)
			b, err := New(Config{Access: a.cfg.Access, Store: st2, HTTPClient: g.srv.Client()})
			require.NoError(t, err)
			require.NoError(t, b.UseInserter(ctx, heldInserter{}))

			op, err := a.StartRefresh(ctx, "contoso", "alice")
			require.NoError(t, err)
			assert.Equal(t, KindRefreshInventory, op.Kind)
			assert.Equal(t, StateQueued, op.State)
			again, err := b.StartRefresh(ctx, "contoso", "bob")
			require.NoError(t, err)
			assert.Equal(t, op.ID, again.ID, "one refresh in flight per customer")

			require.NoError(t, b.runRefresh(ctx, "contoso", op.ID, false))
			done, err := a.Operation(ctx, "contoso", op.ID)
			require.NoError(t, err)
			require.Equal(t, StateSucceeded, done.State, "%+v", done.Items)
			assert.Equal(t, "30 numbers read", done.Items[0].Steps[0].Detail)
			assert.Equal(t, 1, done.Succeeded)
			page, err := a.Numbers(ctx, "contoso", NumberQuery{Limit: 1})
			require.NoError(t, err)
			assert.Equal(t, 30, page.Total)
			require.NoError(t, b.runRefresh(ctx, "contoso", op.ID, false), "a finished refresh's job again does nothing")

			next, err := a.StartRefresh(ctx, "contoso", "alice")
			require.NoError(t, err)
			assert.NotEqual(t, op.ID, next.ID)
		})
	}
}
