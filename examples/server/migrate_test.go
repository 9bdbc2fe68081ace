package main

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/migrate"
	"github.com/tenantgate/tenantgate/qoe"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/pgstore"
	"github.com/tenantgate/tenantgate/tokenstore/sqlitestore"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
	"github.com/tenantgate/tenantgate/voice"
)

// The fixtures in testdata/legacy were written by main at 1b3bde0, where
// every package migrated on open with a version table of its own
// (tokenstore_migrations, tenantgate_qoe_migrations, ...), River's
// included: the SQLite files of the demo and a pg_dump of a PostgreSQL
// schema. Each holds a tokenstore record and an audit entry.

var probeKey = tokenstore.Key{Customer: "contoso", Kind: "legacy", Name: "probe"}

const probeData = "made by main before tenantgate_migrations"

func noEnv(string) string { return "" }

// TestMigrateUpgradesTodaysSQLite: the migrate subcommand upgrades the
// demo's SQLite files made by today's main in place: every line's versions
// are adopted into tenantgate_migrations, nothing is lost, and every store
// then opens with NoMigrate.
func TestMigrateUpgradesTodaysSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"tenantgate.db", "jobs.db"} {
		gunzip(t, filepath.Join("testdata", "legacy", name+".gz"), filepath.Join(dir, name))
	}
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"migrate", "-data", dir}, &out))
	// The fixture's tokenstore is at version 1; later versions are applied.
	assert.Contains(t, out.String(), fmt.Sprintf("tokenstore: version 1 -> %d", sqlitestore.SchemaVersion))
	assert.Contains(t, out.String(), "river: current")

	path := filepath.Join(dir, "tenantgate.db")
	db, err := sql.Open("sqlite", sqldb.SQLiteDSN(path, true))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	assertAdopted(t, db, migrate.SQLite)
	assertAll(t, db, migrate.SQLite)

	ctx := t.Context()
	lite, err := sqlitestore.Open(ctx, path, sqlitestore.Options{NoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { lite.Close() })
	rec, err := lite.Get(ctx, probeKey)
	require.NoError(t, err)
	assert.Equal(t, probeData, string(rec.Data))
	for _, open := range []func() (io.Closer, error){
		func() (io.Closer, error) { return sqlsink.OpenSQLite(ctx, path, migrate.NoMigrate()) },
		func() (io.Closer, error) { return qoe.OpenSQLite(ctx, path, migrate.NoMigrate()) },
		func() (io.Closer, error) { return voice.OpenSQLite(ctx, path, migrate.NoMigrate()) },
	} {
		c, err := open()
		require.NoError(t, err)
		c.Close()
	}
	_, err = audit.New(ctx, audit.Options{DB: db, Dialect: audit.SQLite, NoMigrate: true})
	require.NoError(t, err)

	// Again: nothing to do.
	out.Reset()
	require.NoError(t, run(ctx, []string{"migrate", "-data", dir}, &out))
	assert.NotContains(t, out.String(), "->")
}

// TestMigrateUpgradesTodaysPostgres: the same from a PostgreSQL schema
// made by today's main.
func TestMigrateUpgradesTodaysPostgres(t *testing.T) {
	t.Parallel()
	tdb, ok := testdb.Postgres(t)
	if !ok {
		t.Skip(testdb.EnvPostgres + " is not set")
	}
	u, err := url.Parse(tdb.DSN())
	require.NoError(t, err)
	schema := u.Query().Get("search_path")
	require.NotEmpty(t, schema)
	dump, err := os.ReadFile(filepath.Join("testdata", "legacy", "postgres.sql"))
	require.NoError(t, err)
	_, err = tdb.DB.ExecContext(t.Context(), strings.ReplaceAll(string(dump), "__SCHEMA__", schema))
	require.NoError(t, err, "loading the fixture")

	ctx := t.Context()
	var out bytes.Buffer
	require.NoError(t, runMigrate(ctx, []string{"-postgres-dsn", tdb.DSN()}, noEnv, &out))
	assert.Contains(t, out.String(), "fleet_replicas: version 2, current")
	assertAdopted(t, tdb.DB, migrate.Postgres)
	assertAll(t, tdb.DB, migrate.Postgres)

	pg, err := pgstore.Open(ctx, tdb.DSN(), pgstore.Options{NoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { pg.Close() })
	rec, err := pg.Get(ctx, probeKey)
	require.NoError(t, err)
	assert.Equal(t, probeData, string(rec.Data))
	sink, err := sqlsink.OpenPostgres(ctx, tdb.DSN(), sqlsink.PostgresOptions{NoMigrate: true})
	require.NoError(t, err)
	sink.Close()
	pool, err := pgxpool.New(ctx, tdb.DSN())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, fleet.Migrate(ctx, fleet.Config{Postgres: pool}), "River's tables were current already")
}

// TestNoMigrateNeedsMigrate: on a new database, a store opened with
// NoMigrate fails naming the command; after it, it opens.
func TestNoMigrateNeedsMigrate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "tenantgate.db")
	ctx := t.Context()
	_, err := qoe.OpenSQLite(ctx, path, migrate.NoMigrate())
	var oe *migrate.OutdatedError
	require.True(t, errors.As(err, &oe), "err = %v", err)
	assert.Equal(t, migrate.OutdatedError{Line: "qoe", Have: 0, Need: qoe.SchemaVersion}, *oe)
	assert.Contains(t, err.Error(), "server migrate")
	_, err = sqlitestore.Open(ctx, path, sqlitestore.Options{NoMigrate: true})
	require.ErrorAs(t, err, &oe)

	var out bytes.Buffer
	require.NoError(t, runMigrate(ctx, []string{"-data", dir}, noEnv, &out))
	assert.Contains(t, out.String(), fmt.Sprintf("qoe: version 0 -> %d", qoe.SchemaVersion))
	s, err := qoe.OpenSQLite(ctx, path, migrate.NoMigrate())
	require.NoError(t, err)
	s.Close()
}

// assertAdopted: tenantgate_migrations holds a row per version of every
// line (those of the legacy tables adopted, not run again).
func assertAdopted(t *testing.T, db *sql.DB, d migrate.Dialect) {
	t.Helper()
	for _, l := range portalLines(d) {
		var n int
		require.NoError(t, db.QueryRowContext(t.Context(), d.Rebind(`SELECT count(*) FROM tenantgate_migrations WHERE line = ?`), l.Name).Scan(&n))
		assert.Equal(t, l.Version(), n, l.Name)
	}
}

// assertAll: every line of the portal is current.
func assertAll(t *testing.T, db *sql.DB, d migrate.Dialect) {
	t.Helper()
	lines := portalLines(d)
	v, err := migrate.Versions(t.Context(), db, d, lines...)
	require.NoError(t, err)
	for _, l := range lines {
		assert.Equal(t, l.Version(), v[l.Name], l.Name)
	}
	require.NoError(t, migrate.Check(t.Context(), db, d, lines...))
}

func gunzip(t *testing.T, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}
