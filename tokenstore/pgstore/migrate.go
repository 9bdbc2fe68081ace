package pgstore

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/migrate"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaVersion is the schema version this package migrates a database to.
// Migration 2 is the fence (internal/fence) of erased customers
// (Store.Fence) and the trigger refusing their records.
const SchemaVersion = 2

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

// Migrations is the package's schema history for the tables in schema
// (empty: the search_path's), for migrate.Up (the portal's migrate
// command applies it with every other package's). The schema must exist;
// Open creates it. Its versions were recorded in tokenstore_migrations
// before tenantgate_migrations existed.
func Migrations(schema string) migrate.Line {
	prefix := tablePrefix(schema)
	steps := make([][]string, len(migrations))
	for i, m := range migrations {
		steps[i] = []string{fmt.Sprintf(m, prefix)}
	}
	steps = append(steps, fence.Steps(prefix, "tokenstore_erased", "tokenstore_records"))
	return migrate.Line{Name: "tokenstore", Steps: steps, Legacy: prefix + "tokenstore_migrations", VersionTable: prefix + migrate.Table}
}

// migrateSchema creates schema when missing (a concurrent creator's
// duplicate_schema is fine), then applies or checks the line.
func migrateSchema(ctx context.Context, pool *pgxpool.Pool, schema string, noMigrate bool) error {
	if schema != "" && !noMigrate {
		// Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE
		// privilege even when the schema exists.
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			_, err := pool.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
			var pe *pgconn.PgError
			if err != nil && !(errors.As(err, &pe) && (pe.Code == "42P06" || pe.Code == "23505")) { // duplicate_schema, or unique_violation when created concurrently
				return fmt.Errorf("creating schema %q: %w", schema, err)
			}
		}
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrate.Apply(ctx, db, migrate.Postgres, noMigrate, Migrations(schema))
}

// tablePrefix is what goes before a table name: the quoted schema and a
// dot, or nothing for the search_path.
func tablePrefix(schema string) string {
	if schema == "" {
		return ""
	}
	return pgx.Identifier{schema}.Sanitize() + "."
}
