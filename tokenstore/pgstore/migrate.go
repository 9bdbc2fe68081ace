package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaVersion is the schema version this package migrates a database to.
const SchemaVersion = 1

// migrations are the schema steps, applied in order; migration i brings the
// schema to version i+1. Append new steps, never edit shipped ones. %[1]s
// stands for the (quoted) schema prefix of table names.
//
// Key columns use the "C" collation so that ORDER BY sorts them byte-wise,
// as Go compares strings (tokenstore.Key.Compare), whatever the database's
// default collation.
var migrations = []string{
	// 1: records and leases.
	`CREATE TABLE %[1]stokenstore_records (
		customer   text COLLATE "C" NOT NULL,
		kind       text COLLATE "C" NOT NULL,
		name       text COLLATE "C" NOT NULL,
		version    bigint      NOT NULL CHECK (version > 0),
		created_at timestamptz NOT NULL,
		updated_at timestamptz NOT NULL,
		sealed     boolean     NOT NULL,
		data       bytea       NOT NULL,
		PRIMARY KEY (customer, kind, name)
	);
	CREATE TABLE %[1]stokenstore_leases (
		name       text COLLATE "C" NOT NULL PRIMARY KEY,
		holder     text        NOT NULL,
		expires_at timestamptz NOT NULL
	);`,
}

// migrate brings the schema up to date. An up-to-date schema is detected
// with a plain read. Otherwise the work runs in one transaction holding a
// transaction-level advisory lock (pg_advisory_xact_lock) derived from the
// schema name: replicas opening at once queue on it, and each re-reads the
// version after getting it, so every step runs exactly once. The lock is
// released with the transaction, even if the process dies.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) (err error) {
	prefix := tablePrefix(schema)
	var current int
	err = pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+prefix+`tokenstore_migrations`).Scan(&current)
	if err == nil && current == len(migrations) {
		return nil
	}
	if err != nil && !isUndefinedTable(err) {
		return err
	}

	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockID(schema)); err != nil {
		return fmt.Errorf("waiting for the migration lock: %w", err)
	}
	if schema != "" {
		// Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE
		// privilege even when the schema exists.
		var exists bool
		if err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err = tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
				return fmt.Errorf("creating schema %q: %w", schema, err)
			}
		}
	}
	if _, err = tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+prefix+`tokenstore_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return err
	}
	if err = tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+prefix+`tokenstore_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("the database has schema version %d, newer than this build knows (%d): upgrade tenantgate or use another schema", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if _, err = tx.Exec(ctx, fmt.Sprintf(migrations[v-1], prefix)); err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
		if _, err = tx.Exec(ctx, `INSERT INTO `+prefix+`tokenstore_migrations (version) VALUES ($1)`, v); err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
	}
	return tx.Commit(ctx)
}

// migrationLockID is the advisory lock key of schema's migrations.
func migrationLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tenantgate/tokenstore/migrate\x00" + schema))
	return int64(h.Sum64())
}

// tablePrefix is what goes before a table name: the quoted schema and a
// dot, or nothing for the search_path.
func tablePrefix(schema string) string {
	if schema == "" {
		return ""
	}
	return pgx.Identifier{schema}.Sanitize() + "."
}

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") // undefined_table, invalid_schema_name
}
