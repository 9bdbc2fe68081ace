package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// The live replica count, on PostgreSQL: each Fleet keeps a heartbeat row
// in tenantgate_fleet_replicas (its ID and when it last beat, by the
// database's clock, so replicas' clocks need not agree), counts the rows
// that beat within replicaTTL heartbeats and divides Config.Budget's app
// share by that count. A replica that stops deletes its row; one that
// dies drops out after replicaTTL heartbeats. River keeps no such table
// (its leader election names one client, not how many run), so this is
// the fleet's own, with nothing scheduled on it.

// replicaTTL is how many heartbeat intervals a replica counts as live
// after its last beat.
const replicaTTL = 3

var replicaMigrations = [][]string{
	{`CREATE TABLE tenantgate_fleet_replicas (
		id      TEXT        NOT NULL PRIMARY KEY,
		seen_at TIMESTAMPTZ NOT NULL
	)`},
}

// replicaLockID is the advisory lock of the table's migrations
// ("tgfleetr" in ASCII).
const replicaLockID = 0x7467_666c_6565_7472

func migrateReplicas(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	if err := sqldb.Migrate(ctx, db, sqldb.Postgres, "tenantgate_fleet_replicas_migrations", replicaLockID, replicaMigrations); err != nil {
		return fmt.Errorf("fleet: migrate the replica table: %w", err)
	}
	return nil
}

// beat records this replica's heartbeat, forgets replicas silent for an
// hour and returns how many are live.
func (f *Fleet) beat(ctx context.Context) (int, error) {
	ttl := replicaTTL * f.cfg.ReplicaHeartbeat
	var n int
	err := f.cfg.Postgres.QueryRow(ctx, `WITH beat AS (
			INSERT INTO tenantgate_fleet_replicas (id, seen_at) VALUES ($1, now())
			ON CONFLICT (id) DO UPDATE SET seen_at = now()
		), old AS (
			DELETE FROM tenantgate_fleet_replicas WHERE seen_at < now() - interval '1 hour'
		)
		SELECT count(*) FROM tenantgate_fleet_replicas WHERE id <> $1 AND seen_at > now() - make_interval(secs => $2)`,
		f.replica, ttl.Seconds()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("fleet: replica heartbeat: %w", err)
	}
	return n + 1, nil // this one, whose row the statement's snapshot does not show yet
}

// Replicas returns the live replica count the fleet last saw: on
// PostgreSQL the replicas whose heartbeat is recent, on SQLite one.
func (f *Fleet) Replicas() int {
	return int(max(f.replicas.Load(), 1))
}

// heartbeats beats every Config.ReplicaHeartbeat until ctx ends or stop
// closes, and gives the Budget its share; on the way out it deletes the
// replica's row, so that the others take its share at their next beat.
func (f *Fleet) heartbeats(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(f.cfg.ReplicaHeartbeat)
	defer t.Stop()
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := f.cfg.Postgres.Exec(dctx, `DELETE FROM tenantgate_fleet_replicas WHERE id = $1`, f.replica); err != nil {
			f.cfg.Logger.WarnContext(ctx, "fleet: removing the replica heartbeat failed", "replica", f.replica, "err", err.Error())
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
			f.observeReplicas(ctx)
		}
	}
}

// observeReplicas beats once and applies the count; on a failed beat the
// last count stays.
func (f *Fleet) observeReplicas(ctx context.Context) {
	n, err := f.beat(ctx)
	if err != nil {
		if ctx.Err() == nil {
			f.cfg.Logger.WarnContext(ctx, "fleet: replica heartbeat failed; keeping the last replica count", "err", err.Error(), "replicas", f.Replicas())
		}
		return
	}
	f.replicas.Store(int64(n))
	if f.cfg.Budget != nil {
		f.cfg.Budget.SetReplicas(n)
	}
}
