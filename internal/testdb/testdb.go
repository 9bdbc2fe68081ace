// Package testdb opens the databases and River clients tests of
// tenantgate's SQL stores run on: a SQLite file per test and, when
// TENANTGATE_TEST_POSTGRES holds a connection URL, a fresh schema in that
// PostgreSQL database.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// EnvPostgres names the variable holding the PostgreSQL URL.
const EnvPostgres = "TENANTGATE_TEST_POSTGRES"

// DB is one database to run a test on.
type DB struct {
	Name    string
	DB      *sql.DB
	Dialect sqldb.Dialect
	// path is the SQLite file; dsn the PostgreSQL URL with search_path.
	path, dsn string
}

// All returns a SQLite database and, when EnvPostgres is set, a
// PostgreSQL schema of its own; both are closed (and the schema dropped)
// at the end of the test.
func All(t testing.TB) []DB {
	t.Helper()
	out := []DB{SQLite(t)}
	if pg, ok := Postgres(t); ok {
		out = append(out, pg)
	} else {
		t.Log("PostgreSQL skipped: set " + EnvPostgres + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it")
	}
	return out
}

// SQLite opens a fresh SQLite file database.
func SQLite(t testing.TB) DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenantgate.db")
	db, err := sqldb.OpenSQLite(path, sqldb.SQLiteDSN(path, true))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return DB{Name: "sqlite", DB: db, Dialect: sqldb.SQLite, path: path}
}

// Postgres opens a fresh schema in the EnvPostgres database, reporting
// false when the variable is unset.
func Postgres(t testing.TB) (DB, bool) {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		return DB{}, false
	}
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	schema := "t_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		require.NoError(t, err, "create schema")
	}
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	require.NoError(t, err)
	t.Cleanup(func() {
		db.Close()
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	return DB{Name: "postgres", DB: db, Dialect: sqldb.Postgres, dsn: u.String()}, true
}

// DSN is the PostgreSQL URL of the database, its search_path naming the
// test's schema; empty for SQLite.
func (d DB) DSN() string { return d.dsn }

// Open opens another pool on the same database, as a second replica
// would; it is closed at the end of the test.
func (d DB) Open(t testing.TB) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if d.Dialect == sqldb.SQLite {
		db, err = sqldb.OpenSQLite(d.path, sqldb.SQLiteDSN(d.path, true))
	} else {
		db, err = sql.Open("pgx", d.dsn)
	}
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// Inserter is what a River client offers to enqueue.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// River migrates River's tables into db and starts a client working
// workers (riversqlite on its own one-connection pool for SQLite,
// riverpgxv5 for PostgreSQL), polling fast. It stops at the end of the
// test.
func River(t testing.TB, db DB, workers *river.Workers) Inserter {
	t.Helper()
	ctx := context.Background()
	cfg := &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		Logger:            discardLogger(),
		TestOnly:          true,
	}
	switch db.Dialect {
	case sqldb.SQLite:
		pool, err := sql.Open("sqlite", "file:"+db.path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		require.NoError(t, err)
		pool.SetMaxOpenConns(1)
		t.Cleanup(func() { pool.Close() })
		drv := riversqlite.New(pool)
		migrate(t, drv)
		c, err := river.NewClient(drv, cfg)
		require.NoError(t, err)
		start(t, c)
		return c
	default:
		pool, err := pgxpool.New(ctx, db.dsn)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		drv := riverpgxv5.New(pool)
		migrate(t, drv)
		c, err := river.NewClient(drv, cfg)
		require.NoError(t, err)
		start(t, c)
		return c
	}
}

func migrate[TTx any](t testing.TB, drv interface {
	rivermigrateDriver[TTx]
}) {
	t.Helper()
	m, err := rivermigrate.New(drv, nil)
	require.NoError(t, err)
	_, err = m.Migrate(context.Background(), rivermigrate.DirectionUp, nil)
	require.NoError(t, err, "river migrate")
}

func start[TTx any](t testing.TB, c *river.Client[TTx]) {
	t.Helper()
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
}
