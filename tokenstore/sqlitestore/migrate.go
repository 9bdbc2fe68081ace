package sqlitestore

import (
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/migrate"
)

// migrations are the schema steps, applied in order; migration i brings the
// schema to version i+1. Append new steps, never edit shipped ones.
var migrations = []string{
	// 1: records and leases.
	`CREATE TABLE tokenstore_records (
		customer   TEXT    NOT NULL,
		kind       TEXT    NOT NULL,
		name       TEXT    NOT NULL,
		version    INTEGER NOT NULL CHECK (version > 0),
		created_at INTEGER NOT NULL, -- Unix nanoseconds, UTC
		updated_at INTEGER NOT NULL, -- Unix nanoseconds, UTC
		sealed     INTEGER NOT NULL CHECK (sealed IN (0, 1)),
		data       BLOB    NOT NULL,
		PRIMARY KEY (customer, kind, name)
	) WITHOUT ROWID;
	CREATE TABLE tokenstore_leases (
		name       TEXT    NOT NULL PRIMARY KEY,
		holder     TEXT    NOT NULL,
		expires_at INTEGER NOT NULL -- Unix nanoseconds, UTC
	) WITHOUT ROWID;`,
}

// fenceSteps are migration 2: the fence (internal/fence) of erased
// customers (Store.Fence), and the trigger refusing their records.
var fenceSteps = fence.Steps("", "tokenstore_erased", "tokenstore_records")

// SchemaVersion is the schema version this package migrates a database to.
const SchemaVersion = 2

// Migrations is the package's schema history, for migrate.Up (the
// portal's migrate command applies it with every other package's). Its
// versions were recorded in tokenstore_migrations before
// tenantgate_migrations existed.
func Migrations() migrate.Line {
	steps := make([][]string, len(migrations))
	for i, m := range migrations {
		steps[i] = []string{m}
	}
	steps = append(steps, fenceSteps)
	return migrate.Line{Name: "tokenstore", Steps: steps, Legacy: "tokenstore_migrations"}
}
