package fleet_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/m365access"
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
type recordingInvitations struct {
	mu     sync.Mutex
	purged map[string]bool
}

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
	r.mu.Lock()
	defer r.mu.Unlock()
	r.purged[customer] = true
	return 1, nil
}

// wasPurged reports whether Purge was called for customer.
func (r *recordingInvitations) wasPurged(customer string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.purged[customer]
}

// TestOffboardErasesJobRowsAndInvitations: offboarding deletes the job
// rows that name the customer (another customer's stay) and every
// invitation record.
func TestOffboardErasesJobRowsAndInvitations(t *testing.T) {
	t.Parallel()
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
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
			assert.True(t, inv.wasPurged("c1"), "c1's invitations purged")
			assert.False(t, inv.wasPurged("c2"), "c2's invitations purged")
		})
	}
}

// TestOffboardCancelsRunningJobs: a health check running when the
// customer is offboarded is cancelled (it could write back after the
// erase), and its row goes with the others.
func TestOffboardCancelsRunningJobs(t *testing.T) {
	t.Parallel()
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			access := newFakeAccess("c1")
			started, stopped := make(chan struct{}), make(chan error, 1)
			var once sync.Once
			access.validateCtx = func(ctx context.Context, c string) (*m365access.Report, error) {
				once.Do(func() { close(started) })
				<-ctx.Done()
				stopped <- ctx.Err()
				return nil, ctx.Err()
			}
			cfg := fleet.Config{Access: access, Store: newStore(t), PlanInterval: time.Hour}
			db(&cfg)
			f := startFleet(t, cfg)
			ctx := context.Background()
			require.NoError(t, f.Enroll(ctx, "c1", ""))
			_, err := f.CheckNow(ctx, "c1")
			require.NoError(t, err)
			<-started
			_, err = f.Offboard(ctx, "c1")
			require.NoError(t, err)
			eventually(t, "c1 to be offboarded", func() bool {
				ok, err := f.Offboarded(ctx, "c1")
				return err == nil && ok
			})
			select {
			case err := <-stopped:
				assert.ErrorIs(t, err, context.Canceled)
			default:
				require.FailNow(t, "the running check was not cancelled by the offboarding")
			}
			assert.Zero(t, jobRows(t, cfg, "c1"), "no job row names the offboarded customer")
		})
	}
}

// TestTombstoneRetention: the tombstone (the offboarding report naming
// the service account) is kept TombstoneRetention, then the hourly job
// deletes it.
func TestTombstoneRetention(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	cfg := fleet.Config{Access: newFakeAccess("c1", "c2"), Store: newStore(t), PlanInterval: time.Hour, Now: clock,
		SQLitePath: filepath.Join(t.TempDir(), "river.db"), Logger: quiet}
	f := startFleet(t, cfg)
	ctx := context.Background()
	for _, c := range []string{"c1", "c2"} {
		require.NoError(t, f.Enroll(ctx, c, ""))
	}
	_, err := f.Offboard(ctx, "c1")
	require.NoError(t, err)
	eventually(t, "c1 to be offboarded", func() bool {
		ok, err := f.Offboarded(ctx, "c1")
		return err == nil && ok
	})
	advance(10 * 24 * time.Hour)
	_, err = f.Offboard(ctx, "c2")
	require.NoError(t, err)
	eventually(t, "c2 to be offboarded", func() bool {
		ok, err := f.Offboarded(ctx, "c2")
		return err == nil && ok
	})

	advance(19*24*time.Hour + 23*time.Hour) // c1's tombstone is 29 days 23 hours old
	n, err := f.ExpireTombstones(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	_, ok, err := f.OffboardReport(ctx, "c1")
	require.NoError(t, err)
	assert.True(t, ok, "kept within the retention")

	advance(2 * time.Hour) // 30 days and an hour
	n, err = f.ExpireTombstones(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, ok, err = f.OffboardReport(ctx, "c1")
	require.NoError(t, err)
	assert.False(t, ok, "c1's tombstone expired")
	_, err = f.Offboard(ctx, "c1")
	assert.ErrorIs(t, err, fleet.ErrNotEnrolled, "the fleet no longer knows c1")
	_, ok, err = f.OffboardReport(ctx, "c2")
	require.NoError(t, err)
	assert.True(t, ok, "c2's tombstone is 20 days old")

	// The cleanup is an hourly periodic job (run at start too).
	rdb, err := sql.Open("sqlite", cfg.SQLitePath)
	require.NoError(t, err)
	defer rdb.Close()
	eventually(t, "the tombstone job", func() bool {
		var jobs int
		return rdb.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = ?`, fleet.KindTombstones).Scan(&jobs) == nil && jobs > 0
	})
}

// lateInvitations has a live invitation appear after offboarding's first
// revocation (a request that passed the offboarding check as it began).
type lateInvitations struct {
	mu              sync.Mutex
	lists           int
	revoked, purged []string
}

func (l *lateInvitations) List(context.Context, string) ([]invite.Invitation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lists++
	if l.lists == 1 {
		return []invite.Invitation{{ID: "early", Status: invite.StatusPending}}, nil
	}
	return []invite.Invitation{{ID: "late", Status: invite.StatusPending}}, nil
}

func (l *lateInvitations) Revoke(_ context.Context, _, id, _ string) (invite.Invitation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revoked = append(l.revoked, id)
	return invite.Invitation{ID: id, Status: invite.StatusRevoked}, nil
}

func (l *lateInvitations) Purge(_ context.Context, customer string, _ time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.purged = append(l.purged, customer)
	return 1, nil
}

// TestOffboardRevokesLateInvitations: an invitation made while
// offboarding began is revoked and erased just before the fence, and the
// report adds it to the others.
func TestOffboardRevokesLateInvitations(t *testing.T) {
	t.Parallel()
	inv := &lateInvitations{}
	cfg := fleet.Config{Access: newFakeAccess("c1"), Store: newStore(t), PlanInterval: time.Hour, Invitations: inv,
		SQLitePath: filepath.Join(t.TempDir(), "river.db"), Logger: quiet}
	f := startFleet(t, cfg)
	ctx := context.Background()
	require.NoError(t, f.Enroll(ctx, "c1", ""))
	_, err := f.Offboard(ctx, "c1")
	require.NoError(t, err)
	eventually(t, "c1 to be offboarded", func() bool {
		ok, err := f.Offboarded(ctx, "c1")
		return err == nil && ok
	})
	inv.mu.Lock()
	defer inv.mu.Unlock()
	assert.Equal(t, []string{"early", "late"}, inv.revoked)
	assert.Len(t, inv.purged, 2, "erased after each revocation")
	rep, ok, err := f.OffboardReport(ctx, "c1")
	require.NoError(t, err)
	require.True(t, ok)
	for _, it := range rep.Items {
		switch it.Item {
		case "invitations":
			assert.Contains(t, it.Detail, "2 live invitation(s) revoked")
		case "invitationRecords":
			assert.Contains(t, it.Detail, "2 invitation record(s)")
		}
	}
}
