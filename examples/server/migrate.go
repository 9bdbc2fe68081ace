package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/migrate"
	"github.com/tenantgate/tenantgate/qoe"
	"github.com/tenantgate/tenantgate/tokenstore/pgstore"
	"github.com/tenantgate/tenantgate/tokenstore/sqlitestore"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
	"github.com/tenantgate/tenantgate/voice"
)

// migrateOpts are the trailing migrate options of the stores' Open and
// New: NoMigrate under -no-migrate.
func (a *app) migrateOpts() []migrate.Option {
	if a.cfg.NoMigrate {
		return []migrate.Option{migrate.NoMigrate()}
	}
	return nil
}

// portalLines are the schema lines of the portal's main database, in the
// order they are applied. A package that adds tables adds its line here.
func portalLines(d migrate.Dialect) []migrate.Line {
	tokens := sqlitestore.Migrations()
	if d == migrate.Postgres {
		tokens = pgstore.Migrations("")
	}
	lines := []migrate.Line{tokens, sqlsink.Migrations(), qoe.Migrations(), events.Migrations(), audit.Migrations(d), voice.Migrations(), apiTokenMigrations(), sessionMigrations()}
	if d == migrate.Postgres {
		lines = append(lines, fleet.ReplicaMigrations())
	}
	return lines
}

// runMigrate is the migrate subcommand: it applies every package's schema
// migrations, River's included, to the database of -postgres-dsn, or to
// the demo's SQLite files under -data, prints each line's version and
// exits.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("server migrate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dsn := fs.String("postgres-dsn", "", "PostgreSQL connection string (default: TENANTGATE_POSTGRES_DSN)")
	data := fs.String("data", "", "the demo's data directory, when there is no PostgreSQL (default: TENANTGATE_DATA, else ./tenantgate-data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("migrate: unexpected argument %q", fs.Arg(0))}
	}
	if *dsn == "" {
		*dsn = strings.TrimSpace(getenv("TENANTGATE_POSTGRES_DSN"))
	}
	if *data == "" {
		*data = cmp(strings.TrimSpace(getenv("TENANTGATE_DATA")), "./tenantgate-data")
	}
	if *dsn != "" {
		return migratePostgres(ctx, *dsn, stdout)
	}
	return migrateSQLite(ctx, *data, stdout)
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func migratePostgres(ctx context.Context, dsn string, stdout io.Writer) error {
	db, err := sqldb.OpenPostgres(dsn, 2)
	if err != nil {
		return fmt.Errorf("migrate: open PostgreSQL (-postgres-dsn): %w", err)
	}
	defer db.Close()
	if err := applyLines(ctx, db, migrate.Postgres, stdout); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("migrate: open PostgreSQL (-postgres-dsn): %w", err)
	}
	defer pool.Close()
	if err := fleet.Migrate(ctx, fleet.Config{Postgres: pool}); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintln(stdout, "river: current")
	return nil
}

func migrateSQLite(ctx context.Context, dir string, stdout io.Writer) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("migrate: the data directory %s does not exist (-data)", dir)
	}
	db, err := sqldb.OpenSQLite(filepath.Join(dir, "tenantgate.db"), sqldb.SQLiteDSN(filepath.Join(dir, "tenantgate.db"), true))
	if err != nil {
		return fmt.Errorf("migrate: open %s: %w", dir, err)
	}
	defer db.Close()
	if err := applyLines(ctx, db, migrate.SQLite, stdout); err != nil {
		return err
	}
	if err := fleet.Migrate(ctx, fleet.Config{SQLitePath: filepath.Join(dir, "jobs.db")}); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintln(stdout, "river: current")
	return nil
}

// applyLines applies the portal's lines and prints their versions.
func applyLines(ctx context.Context, db *sql.DB, d migrate.Dialect, stdout io.Writer) error {
	lines := portalLines(d)
	before, err := migrate.Versions(ctx, db, d, lines...)
	if err != nil {
		return err
	}
	if err := migrate.Up(ctx, db, d, lines...); err != nil {
		return err
	}
	after, err := migrate.Versions(ctx, db, d, lines...)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(after))
	for n := range after {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if before[n] == after[n] {
			fmt.Fprintf(stdout, "%s: version %d, current\n", n, after[n])
		} else {
			fmt.Fprintf(stdout, "%s: version %d -> %d\n", n, before[n], after[n])
		}
	}
	return nil
}
