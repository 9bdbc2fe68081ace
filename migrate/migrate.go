package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// Dialect is a database's SQL dialect: SQLite or Postgres.
type Dialect = sqldb.Dialect

// The dialects.
const (
	SQLite   = sqldb.SQLite
	Postgres = sqldb.Postgres
)

// Table is the version table: one row per line and applied version.
const Table = "tenantgate_migrations"

// lockID is the PostgreSQL advisory lock every migration holds, so that
// replicas starting together migrate once ("tgmigrat" in ASCII).
const lockID = 0x7467_6d69_6772_6174

// Line is one package's schema history.
type Line struct {
	// Name is the line's name in the version table, for example "qoe".
	Name string
	// Steps are the schema steps in order: step i brings the line to
	// version i+1. Append new steps; never edit shipped ones. Each step's
	// statements run in one transaction with the others Up applies. Both
	// dialects run a statement, unless SQLiteOnly or PostgresOnly marks
	// it (triggers, whose syntax differs).
	Steps [][]string
	// Legacy is the table an earlier release recorded this line's versions
	// in (columns version and applied_at), adopted the first time Up sees
	// the line; empty when there is none.
	Legacy string
	// VersionTable is where the line's versions are recorded; empty means
	// Table in the connection's search_path. A package whose tables live
	// in a schema of their own (pgstore's Options.Schema) keeps its
	// versions there, so that dropping the schema drops them too.
	VersionTable string
}

// table is the line's version table.
func (l Line) table() string {
	if l.VersionTable != "" {
		return l.VersionTable
	}
	return Table
}

// Version is the version the line's steps bring a database to.
func (l Line) Version() int { return len(l.Steps) }

// OutdatedError is the error of an Open or New with NoMigrate on a
// database whose line is not at the version the build needs.
type OutdatedError struct {
	Line       string
	Have, Need int
}

func (e *OutdatedError) Error() string {
	return fmt.Sprintf("the %s schema is at version %d, this build needs %d: apply the migrations first (go run ./examples/server migrate, or migrate.Up)", e.Line, e.Have, e.Need)
}

// Up applies the steps of every line that db lacks, in one transaction
// (on PostgreSQL under an advisory lock, so concurrent callers migrate
// once), and records them in Table. A line at a version newer than its
// steps fails: the database belongs to a newer build.
func Up(ctx context.Context, db *sql.DB, d Dialect, lines ...Line) (err error) {
	if !d.Valid() {
		return fmt.Errorf("migrate: unknown dialect %v", d)
	}
	if current(ctx, db, d, lines) {
		// A plain read: opening an up-to-date database never waits for
		// another process's writes.
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if d == Postgres {
		if _, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockID)); err != nil {
			return fmt.Errorf("migrate: waiting for the migration lock: %w", err)
		}
	}
	created := map[string]bool{}
	for _, l := range lines {
		if created[l.table()] {
			continue
		}
		created[l.table()] = true
		if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+l.table()+` (
			line       TEXT   NOT NULL,
			version    BIGINT NOT NULL,
			applied_at BIGINT NOT NULL,
			PRIMARY KEY (line, version)
		)`); err != nil {
			return fmt.Errorf("migrate: create %s: %w", l.table(), err)
		}
	}
	for _, l := range lines {
		if err = up(ctx, tx, d, l); err != nil {
			return err
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func up(ctx context.Context, tx *sql.Tx, d Dialect, l Line) error {
	current, err := version(ctx, tx, d, l, true)
	if err != nil {
		return err
	}
	if current > len(l.Steps) {
		return fmt.Errorf("migrate: the database has %s schema version %d, newer than this build knows (%d): upgrade tenantgate", l.Name, current, len(l.Steps))
	}
	for v := current + 1; v <= len(l.Steps); v++ {
		for _, stmt := range l.Steps[v-1] {
			stmt, ok := forDialect(stmt, d)
			if !ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate: %s schema migration %d: %w", l.Name, v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO `+l.table()+` (line, version, applied_at) VALUES (?, ?, ?)`),
			l.Name, v, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migrate: %s schema migration %d: %w", l.Name, v, err)
		}
	}
	return nil
}

// version is the line's current version: its rows in Table or, when
// there are none, its Legacy table's (adopted into Table when adopt).
func version(ctx context.Context, q querier, d Dialect, l Line, adopt bool) (int, error) {
	var current int
	if err := q.QueryRowContext(ctx, d.Rebind(`SELECT coalesce(max(version), 0) FROM `+l.table()+` WHERE line = ?`), l.Name).Scan(&current); err != nil {
		return 0, fmt.Errorf("migrate: read the %s version: %w", l.Name, err)
	}
	if current > 0 || l.Legacy == "" {
		return current, nil
	}
	ok, err := tableExists(ctx, q, d, l.Legacy)
	if err != nil || !ok {
		return 0, err
	}
	rows, err := q.QueryContext(ctx, `SELECT version, applied_at FROM `+l.Legacy+` ORDER BY version`)
	if err != nil {
		return 0, fmt.Errorf("migrate: read %s: %w", l.Legacy, err)
	}
	type row struct{ v, at int64 }
	var old []row
	for rows.Next() {
		var r row
		var at any
		if err := rows.Scan(&r.v, &at); err != nil {
			rows.Close()
			return 0, fmt.Errorf("migrate: read %s: %w", l.Legacy, err)
		}
		switch at := at.(type) {
		case int64:
			r.at = at
		case time.Time:
			r.at = at.UnixNano()
		}
		old = append(old, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("migrate: read %s: %w", l.Legacy, err)
	}
	for _, r := range old {
		if adopt {
			if _, err := q.ExecContext(ctx, d.Rebind(`INSERT INTO `+l.table()+` (line, version, applied_at) VALUES (?, ?, ?)`), l.Name, r.v, r.at); err != nil {
				return 0, fmt.Errorf("migrate: adopt %s: %w", l.Legacy, err)
			}
		}
		current = max(current, int(r.v))
	}
	return current, nil
}

// current reports whether Table records every line at its version.
func current(ctx context.Context, db *sql.DB, d Dialect, lines []Line) bool {
	for _, l := range lines {
		var v int
		if err := db.QueryRowContext(ctx, d.Rebind(`SELECT coalesce(max(version), 0) FROM `+l.table()+` WHERE line = ?`), l.Name).Scan(&v); err != nil || v != len(l.Steps) {
			return false
		}
	}
	return true
}

// querier is what version uses of a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func tableExists(ctx context.Context, q querier, d Dialect, table string) (bool, error) {
	var ok bool
	var err error
	if d == Postgres {
		err = q.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok)
	} else {
		err = q.QueryRowContext(ctx, `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&ok)
	}
	if err != nil {
		return false, fmt.Errorf("migrate: look for %s: %w", table, err)
	}
	return ok, nil
}

// Check reports an *OutdatedError unless every line is at its Version in
// db, for an Open or New with NoMigrate. It changes nothing.
func Check(ctx context.Context, db *sql.DB, d Dialect, lines ...Line) error {
	var errs []error
	for _, l := range lines {
		have, err := tableExists(ctx, db, d, l.table())
		if err != nil {
			return err
		}
		v := 0
		if have {
			if v, err = version(ctx, db, d, l, false); err != nil {
				return err
			}
		} else if l.Legacy != "" {
			// Only a legacy table: read it without the shared one.
			if v, err = legacyVersion(ctx, db, d, l.Legacy); err != nil {
				return err
			}
		}
		if v != len(l.Steps) {
			errs = append(errs, &OutdatedError{Line: l.Name, Have: v, Need: len(l.Steps)})
		}
	}
	return errors.Join(errs...)
}

func legacyVersion(ctx context.Context, q querier, d Dialect, table string) (int, error) {
	ok, err := tableExists(ctx, q, d, table)
	if err != nil || !ok {
		return 0, err
	}
	var v int
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM `+table).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read %s: %w", table, err)
	}
	return v, nil
}

// Versions returns each line's current version in db (zero for a line
// never applied), without changing anything.
func Versions(ctx context.Context, db *sql.DB, d Dialect, lines ...Line) (map[string]int, error) {
	out := map[string]int{}
	for _, l := range lines {
		have, err := tableExists(ctx, db, d, l.table())
		if err != nil {
			return nil, err
		}
		switch {
		case have:
			out[l.Name], err = version(ctx, db, d, l, false)
		case l.Legacy != "":
			out[l.Name], err = legacyVersion(ctx, db, d, l.Legacy)
		default:
			out[l.Name] = 0
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Apply is what a package's Open or New does with its line: Up, or with
// noMigrate only Check.
func Apply(ctx context.Context, db *sql.DB, d Dialect, noMigrate bool, lines ...Line) error {
	if noMigrate {
		return Check(ctx, db, d, lines...)
	}
	return Up(ctx, db, d, lines...)
}

// The markers SQLiteOnly and PostgresOnly put before a statement.
const (
	sqliteOnly   = "-- tenantgate: sqlite only\n"
	postgresOnly = "-- tenantgate: postgres only\n"
)

// SQLiteOnly marks a step's statement that only SQLite runs.
func SQLiteOnly(stmt string) string { return sqliteOnly + stmt }

// PostgresOnly marks a step's statement that only PostgreSQL runs.
func PostgresOnly(stmt string) string { return postgresOnly + stmt }

// forDialect is stmt as d runs it, and false when d skips it.
func forDialect(stmt string, d Dialect) (string, bool) {
	if rest, ok := strings.CutPrefix(stmt, sqliteOnly); ok {
		return rest, d == SQLite
	}
	if rest, ok := strings.CutPrefix(stmt, postgresOnly); ok {
		return rest, d == Postgres
	}
	return stmt, true
}
