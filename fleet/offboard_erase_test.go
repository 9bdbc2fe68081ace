package fleet_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/usersync"
)

// jobRows counts the River job rows naming customer, the offboarding's
// own excepted.
func jobRows(t *testing.T, cfg fleet.Config, customer string) int {
	t.Helper()
	var n int
	if cfg.Postgres != nil {
		require.NoError(t, cfg.Postgres.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE args->>'customer' = $1 AND kind <> $2`,
			customer, fleet.KindOffboard).Scan(&n))
		return n
	}
	db, err := sql.Open("sqlite", cfg.SQLitePath)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT count(*) FROM river_job WHERE json_extract(args, '$.customer') = ? AND kind <> ?`,
		customer, fleet.KindOffboard).Scan(&n))
	return n
}

// recordingInvitations is an invitation service with one revoked
// invitation per customer that records what Purge erased.
type recordingInvitations struct{ purged map[string]bool }

func (r *recordingInvitations) List(context.Context, string) ([]invite.Invitation, error) {
	return nil, nil
}
func (r *recordingInvitations) Revoke(context.Context, string, string, string) (invite.Invitation, error) {
	return invite.Invitation{}, nil
}
func (r *recordingInvitations) Purge(_ context.Context, customer string, before time.Time) (int, error) {
	if !before.After(time.Now()) {
		return 0, errors.New("a purge at offboarding must reach every invitation")
	}
	r.purged[customer] = true
	return 1, nil
}

// TestOffboardErasesJobRowsAndInvitations: offboarding deletes the job
// rows that name the customer (another customer's stay) and every
// invitation record.
func TestOffboardErasesJobRowsAndInvitations(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			access := newFakeAccess("c1", "c2")
			inv := &recordingInvitations{purged: map[string]bool{}}
			cfg := fleet.Config{Access: access, Store: newStore(t), PlanInterval: time.Hour, Invitations: inv,
				Syncer: &usersync.Syncer{Source: &fakeSource{n: 5}, Sink: &usersync.MemorySink{}}}
			db(&cfg)
			f := startFleet(t, cfg)
			ctx := context.Background()
			for _, c := range []string{"c1", "c2"} {
				require.NoError(t, f.Enroll(ctx, c, ""))
				_, err := f.SyncNow(ctx, c)
				require.NoError(t, err)
			}
			eventually(t, "jobs of both customers", func() bool { return jobRows(t, cfg, "c1") > 0 && jobRows(t, cfg, "c2") > 0 })
			_, err := f.Offboard(ctx, "c1")
			require.NoError(t, err)
			eventually(t, "c1 to be gone", func() bool {
				_, err := f.Customer(ctx, "c1")
				return errors.Is(err, fleet.ErrNotEnrolled)
			})
			assert.Zero(t, jobRows(t, cfg, "c1"), "no job row names the offboarded customer")
			assert.NotZero(t, jobRows(t, cfg, "c2"))
			assert.True(t, inv.purged["c1"])
			assert.False(t, inv.purged["c2"])
		})
	}
}
