package sqlsink_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync"
)

func TestDeltaPass(t *testing.T) {
	t.Parallel()
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			c := customer("delta")
			cp, err := s.Checkpoint(ctx, c)
			require.NoError(t, err, "checkpoint before any pass")
			require.Equal(t, usersync.Checkpoint{}, cp, "checkpoint before any pass")
			// A full pass stores its checkpoint.
			p, err := s.Begin(ctx, c)
			require.NoError(t, err)
			put(t, p, users(0, 10, "Engineer"))
			full := usersync.Checkpoint{DeltaLink: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=a", Query: "q1",
				FullAt: time.Unix(1700000000, 5), FullRequests: 3}
			p.(usersync.CheckpointPass).SetCheckpoint(full)
			_, err = p.Commit(ctx)
			require.NoError(t, err)
			cp, err = s.Checkpoint(ctx, c)
			require.NoError(t, err, "checkpoint after a full pass")
			require.True(t, cp.FullAt.Equal(full.FullAt), "checkpoint after a full pass: FullAt %v, want %v", cp.FullAt, full.FullAt)
			require.Equal(t, full.DeltaLink, cp.DeltaLink, "checkpoint after a full pass: DeltaLink")
			require.Equal(t, "q1", cp.Query, "checkpoint after a full pass: Query")
			require.Equal(t, 3, cp.FullRequests, "checkpoint after a full pass: FullRequests")

			// A delta pass changes one user, adds one, removes two (one of
			// them not stored) and keeps the others.
			dp, err := s.BeginDelta(ctx, c)
			require.NoError(t, err)
			assert.Equal(t, usersync.Counts{Added: 1, Changed: 1, Unchanged: 1},
				put(t, dp, []usersync.User{user(3, "Promoted"), user(10, "Engineer"), user(4, "Engineer")}), "delta put")
			removed, err := dp.Remove(ctx, []string{user(5, "").ID, "id-missing"})
			assert.NoError(t, err, "remove")
			assert.Equal(t, 1, removed.Removed, "remove")
			next := full
			next.DeltaLink, next.Rounds, next.DeltaRequests = "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=b", 1, 1
			dp.SetCheckpoint(next)
			got, err := dp.Commit(ctx)
			require.NoError(t, err, "delta commit")
			require.Equal(t, usersync.Counts{Added: 1, Changed: 1, Unchanged: 1, Removed: 1}, got, "delta commit")
			want := users(0, 11, "Engineer")
			want[3].JobTitle = "Promoted"
			want = append(want[:5], want[6:]...)
			assert.Equal(t, want, all(t, s, c), "after the delta pass")
			cp, err = s.Checkpoint(ctx, c)
			require.NoError(t, err, "checkpoint after a delta pass")
			require.Equal(t, next.DeltaLink, cp.DeltaLink, "checkpoint after a delta pass: DeltaLink")
			require.Equal(t, 1, cp.Rounds, "checkpoint after a delta pass: Rounds")
			require.Equal(t, 1, cp.DeltaRequests, "checkpoint after a delta pass: DeltaRequests")

			// An aborted delta pass changes nothing.
			dp, err = s.BeginDelta(ctx, c)
			require.NoError(t, err)
			_, err = dp.Remove(ctx, []string{user(0, "").ID})
			require.NoError(t, err)
			dp.SetCheckpoint(usersync.Checkpoint{DeltaLink: "moved"})
			_ = dp.Abort(ctx)
			assert.Equal(t, want, all(t, s, c), "an aborted delta pass changed the users")
			cp, _ = s.Checkpoint(ctx, c)
			assert.Equal(t, next.DeltaLink, cp.DeltaLink, "aborted delta pass moved the checkpoint")
			// Removed, then put again in the same pass: kept.
			dp, _ = s.BeginDelta(ctx, c)
			_, err = dp.Remove(ctx, []string{user(1, "").ID})
			require.NoError(t, err)
			put(t, dp, []usersync.User{user(1, "Engineer")})
			_, err = dp.Commit(ctx)
			require.NoError(t, err)
			assert.Equal(t, want, all(t, s, c), "removed then put")

			// A full pass without a checkpoint clears it; Purge too.
			p, _ = s.Begin(ctx, c)
			put(t, p, users(0, 2, "Engineer"))
			_, err = p.Commit(ctx)
			require.NoError(t, err)
			cp, _ = s.Checkpoint(ctx, c)
			assert.Equal(t, usersync.Checkpoint{}, cp, "full pass without a checkpoint kept it")
			p, _ = s.Begin(ctx, c)
			p.(usersync.CheckpointPass).SetCheckpoint(full)
			_, err = p.Commit(ctx)
			require.NoError(t, err)
			require.NoError(t, s.Purge(ctx, c))
			cp, _ = s.Checkpoint(ctx, c)
			assert.Equal(t, usersync.Checkpoint{}, cp, "Purge kept the checkpoint")
		})
	}
}
