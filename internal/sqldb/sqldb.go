// Package sqldb holds what tenantgate's small SQL stores share: the two
// dialects (SQLite through modernc.org/sqlite, PostgreSQL through pgx's
// database/sql driver), placeholder rebinding and versioned migrations.
package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Dialect is the SQL dialect of a database.
type Dialect int

// The supported dialects.
const (
	// SQLite through modernc.org/sqlite (driver "sqlite"), opened with
	// _txlock=immediate and a busy_timeout.
	SQLite Dialect = iota + 1
	// Postgres through github.com/jackc/pgx/v5/stdlib (driver "pgx").
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// Valid reports whether d is a supported dialect.
func (d Dialect) Valid() bool { return d == SQLite || d == Postgres }

// Rebind turns the ? placeholders of query into the dialect's.
func (d Dialect) Rebind(query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Migrate applies the steps of migrations not yet recorded in the table
// versions, in one transaction; on PostgreSQL under the advisory lock
// lockID, so replicas starting together migrate once. Migration i brings
// the schema to version i+1; both dialects run the same text.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, versions string, lockID int64, migrations [][]string) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if d == Postgres {
		if _, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID); err != nil {
			return err
		}
	}
	if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+versions+` (
		version    BIGINT NOT NULL PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return err
	}
	var current int
	if err = tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM `+versions).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("the database has schema version %d in %s, newer than this build knows (%d): upgrade tenantgate", current, versions, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		for _, stmt := range migrations[v-1] {
			if _, err = tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("schema migration %d: %w", v, err)
			}
		}
		if _, err = tx.ExecContext(ctx, d.Rebind(`INSERT INTO `+versions+` (version, applied_at) VALUES (?, ?)`),
			v, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
	}
	return tx.Commit()
}

// SQLiteDSN is the modernc.org/sqlite data source name of the database
// file at path, escaped so that any file name works: WAL journal and a
// 10 s busy timeout, so pools of the same file wait on each other's locks;
// with immediateTx, transactions take the write lock at BEGIN, so
// concurrent writers wait instead of failing with SQLITE_BUSY when a read
// transaction upgrades.
func SQLiteDSN(path string, immediateTx bool) string {
	q := url.Values{}
	q.Set("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	if immediateTx {
		q.Set("_txlock", "immediate")
	}
	p := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	return "file:" + p + "?" + q.Encode()
}
