package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
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

// SchemaVersion is the schema version this package migrates a database to.
const SchemaVersion = 1

// migrate brings the schema up to date. An up-to-date schema is detected
// with a plain read, so opening never waits for another process's writes.
// Otherwise the migration runs in one IMMEDIATE transaction (the DSN sets
// _txlock=immediate), which takes SQLite's write lock before reading the
// current version again: a second process opening the same file at once
// waits (busy timeout), then finds the work done.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	var current int
	err = db.QueryRowContext(ctx, `SELECT max(version) FROM tokenstore_migrations`).Scan(&current)
	if err == nil && current == len(migrations) {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS tokenstore_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL -- Unix nanoseconds, UTC
	)`); err != nil {
		return err
	}
	if err = tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM tokenstore_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("the database has schema version %d, newer than this build knows (%d): upgrade tenantgate or open another file", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if _, err = tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
		if _, err = tx.ExecContext(ctx, `INSERT INTO tokenstore_migrations (version, applied_at) VALUES (?, ?)`,
			v, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
	}
	return tx.Commit()
}
