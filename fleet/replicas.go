package fleet

import (
	"context"
	"fmt"
	"github.com/tenantgate/tenantgate/migrate"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// The live replica count, on PostgreSQL: each Fleet keeps a heartbeat row
// in tenantgate_fleet_replicas (its ID and when it last beat, by the
// database's clock, so replicas' clocks need not agree), counts the rows
// that beat within replicaTTL heartbeats and divides Config.Budget's app
// share among itself and the live replicas that are busy (running a
// check or a sync, or sent Graph requests within the last two heartbeats). A replica that stops deletes its row; one that
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
	// 2: whether the replica sent Graph requests lately: idle replicas
	// leave their share to the busy ones.
	{`ALTER TABLE tenantgate_fleet_replicas ADD COLUMN busy BOOLEAN NOT NULL DEFAULT true`},
}

// ReplicaMigrations is the schema history of the replica table
// (PostgreSQL only), for migrate.Up; Migrate applies it with River's.
func ReplicaMigrations() migrate.Line {
	return migrate.Line{Name: "fleet_replicas", Steps: replicaMigrations, Legacy: "tenantgate_fleet_replicas_migrations"}
}

func migrateReplicas(ctx context.Context, pool *pgxpool.Pool, noMigrate bool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	if err := migrate.Apply(ctx, db, migrate.Postgres, noMigrate, ReplicaMigrations()); err != nil {
		return fmt.Errorf("fleet: migrate the replica table: %w", err)
	}
	return nil
}

// beat records this replica's heartbeat (busy: it sent Graph requests
// within the last two heartbeats), forgets replicas silent for an hour and
// returns how many are live and how many of the others are busy.
func (f *Fleet) beat(ctx context.Context, busy bool) (live, busyOthers int, err error) {
	ttl := replicaTTL * f.cfg.ReplicaHeartbeat
	err = f.cfg.Postgres.QueryRow(ctx, `WITH beat AS (
			INSERT INTO tenantgate_fleet_replicas (id, seen_at, busy) VALUES ($1, now(), $3)
			ON CONFLICT (id) DO UPDATE SET seen_at = now(), busy = excluded.busy
		), old AS (
			DELETE FROM tenantgate_fleet_replicas WHERE seen_at < now() - interval '1 hour'
		)
		SELECT count(*), count(*) FILTER (WHERE busy) FROM tenantgate_fleet_replicas
		WHERE id <> $1 AND seen_at > now() - make_interval(secs => $2)`,
		f.replica, ttl.Seconds(), busy).Scan(&live, &busyOthers)
	if err != nil {
		return 0, 0, fmt.Errorf("fleet: replica heartbeat: %w", err)
	}
	return live + 1, busyOthers, nil // this one, whose row the statement's snapshot does not show yet
}

// Replicas returns the live replica count the fleet last saw: on
// PostgreSQL the replicas whose heartbeat is recent, on SQLite one. The
// Budget's app share is divided among this replica and the others that
// sent Graph requests lately: an idle replica leaves its share to the
// busy ones.
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
			f.rescueBeforeBusy(ctx)
		}
	}
}

// observeReplicas beats once and applies the count; on a failed beat the
// last count stays.
func (f *Fleet) observeReplicas(ctx context.Context) {
	f.beatMu.Lock()
	defer f.beatMu.Unlock()
	// A replica that just started counts as busy: it is about to work,
	// and the others should make room before it does.
	recent := time.Now().Add(-2 * f.cfg.ReplicaHeartbeat)
	busy := true
	if b := f.cfg.Budget; b != nil && f.startedAt.Before(recent) {
		busy = f.graphJobs.Load() > 0 || b.usedSince(recent)
	}
	f.idle.Store(!busy)
	n, busyOthers, err := f.beat(ctx, busy)
	if err != nil {
		if ctx.Err() == nil {
			f.cfg.Logger.WarnContext(ctx, "fleet: replica heartbeat failed; keeping the last replica count", "err", err.Error(), "replicas", f.Replicas())
		}
		return
	}
	f.replicas.Store(int64(n))
	if f.cfg.Budget != nil {
		f.cfg.Budget.SetReplicas(f.share.next(busyOthers + 1))
	}
}

// shareCount is the replica count the Budget's share follows: a rise
// applies at once (the others spend less), a fall only once two beats in
// a row saw it, so that one late heartbeat of a busy replica (a loaded
// database) does not make the others spend its share too.
type shareCount struct {
	cur, lower int
}

func (s *shareCount) next(n int) int {
	switch {
	case s.cur == 0 || n >= s.cur:
		s.cur, s.lower = n, 0
	case s.lower > 0:
		s.cur, s.lower = max(n, s.lower), 0
	default:
		s.lower = n
	}
	return s.cur
}
