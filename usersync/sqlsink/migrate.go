package sqlsink

import (
	"context"
	"database/sql"

	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/migrate"
)

// migrations are the schema steps, applied in order; migration i brings
// the schema to version i+1. Append new steps, never edit shipped ones.
// Both dialects run the same text.
var migrations = [][]string{
	// 1: synced users and the pass bookkeeping.
	{
		`CREATE TABLE tenantgate_synced_users (
			customer            TEXT   NOT NULL,
			id                  TEXT   NOT NULL,
			user_principal_name TEXT   NOT NULL,
			display_name        TEXT   NOT NULL,
			data                TEXT   NOT NULL, -- JSON of usersync.User
			hash                TEXT   NOT NULL, -- hex of usersync.User.Hash
			generation          BIGINT NOT NULL,
			updated_at          BIGINT NOT NULL, -- Unix nanoseconds of the last add or change
			PRIMARY KEY (customer, id)
		)`,
		`CREATE INDEX tenantgate_synced_users_by_upn
			ON tenantgate_synced_users (customer, user_principal_name, id)`,
		`CREATE INDEX tenantgate_synced_users_by_generation
			ON tenantgate_synced_users (customer, generation)`,
		`CREATE TABLE tenantgate_user_sync_passes (
			customer    TEXT   NOT NULL PRIMARY KEY,
			generation  BIGINT NOT NULL, -- of the latest pass begun
			state       TEXT   NOT NULL, -- running, committed, aborted
			started_at  BIGINT NOT NULL, -- Unix nanoseconds
			finished_at BIGINT NOT NULL, -- Unix nanoseconds, 0 while running
			added       BIGINT NOT NULL,
			changed     BIGINT NOT NULL,
			unchanged   BIGINT NOT NULL,
			removed     BIGINT NOT NULL,
			committed_at BIGINT NOT NULL -- Unix nanoseconds of the last commit, 0 if none
		)`,
	},
	// 2: Teams Phone System fields. The configuration itself is in data
	// (usersync.User.Teams); the line URI and voice state get columns so
	// a customer's numbers can be looked up. Existing rows keep
	// everything and read NULL until their next sync stores Teams data.
	{
		`ALTER TABLE tenantgate_synced_users ADD COLUMN line_uri TEXT`,
		`ALTER TABLE tenantgate_synced_users ADD COLUMN enterprise_voice_enabled BOOLEAN`,
		`CREATE INDEX tenantgate_synced_users_by_line_uri
			ON tenantgate_synced_users (customer, line_uri)`,
	},
	// 3: the checkpoint of delta rounds (usersync.Checkpoint), one per
	// customer, written with the pass that took it.
	{
		`CREATE TABLE tenantgate_user_sync_checkpoints (
			customer       TEXT   NOT NULL PRIMARY KEY,
			delta_link     TEXT   NOT NULL, -- Graph's @odata.deltaLink, '' for none
			query_key      TEXT   NOT NULL, -- usersync.QueryKey of the filter it was taken for
			full_at        BIGINT NOT NULL, -- Unix nanoseconds the last full read began
			rounds         BIGINT NOT NULL, -- delta rounds since
			full_requests  BIGINT NOT NULL,
			delta_requests BIGINT NOT NULL,
			updated_at     BIGINT NOT NULL  -- Unix nanoseconds
		)`,
	},
	// 4: the fence (internal/fence): a customer erased by offboarding
	// (Purge) is recorded in the same transaction, and triggers refuse
	// every later insert or update of its rows, so a sync racing the
	// erase leaves nothing behind.
	fence.Steps("", "tenantgate_synced_users_erased", "tenantgate_synced_users", "tenantgate_user_sync_passes",
		"tenantgate_user_sync_checkpoints"),
}

// SchemaVersion is the schema version this package migrates a database to.
const SchemaVersion = 4

// Migrations is the package's schema history, for migrate.Up (the
// portal's migrate command applies it with every other package's).
func Migrations() migrate.Line {
	return migrate.Line{Name: "synced_users", Steps: migrations, Legacy: "tenantgate_synced_users_migrations"}
}

// migrateTo brings the schema up to version target (at most
// SchemaVersion), for tests of the upgrade.
func migrateTo(ctx context.Context, db *sql.DB, d Dialect, target int) error {
	l := Migrations()
	l.Steps = l.Steps[:target]
	return migrate.Up(ctx, db, d, l)
}
