package fleet

import (
	"context"
	"fmt"

	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// Writable reports whether the fleet can record jobs now, with a write
// River's database must accept: on PostgreSQL this replica's heartbeat
// row is touched, on SQLite River's file takes a header write. A full
// disk gives an error that names it (SQLITE_FULL, disk_full); a
// health endpoint reports it.
func (f *Fleet) Writable(ctx context.Context) error {
	if f.cfg.Postgres != nil {
		if _, err := f.cfg.Postgres.Exec(ctx, `UPDATE tenantgate_fleet_replicas SET seen_at = now() WHERE id = $1`, f.replica); err != nil {
			return fmt.Errorf("fleet: the job database is not writable: %w", err)
		}
		return nil
	}
	if err := sqldb.ProbeWrite(ctx, f.sqlite, sqldb.SQLite); err != nil {
		return fmt.Errorf("fleet: the job database is not writable: %w", err)
	}
	return nil
}
