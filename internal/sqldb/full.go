package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// sqliteFull is SQLite's SQLITE_FULL result code.
const sqliteFull = 13

// IsStorageFull reports whether err says the database's storage is full:
// SQLite's SQLITE_FULL ("database or disk is full"), PostgreSQL's
// disk_full (SQLSTATE 53100) or ENOSPC from the file system. Retrying
// cannot help until someone frees space.
func IsStorageFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "53100"
	}
	var se interface{ Code() int }
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull {
		return true
	}
	// Errors that crossed a boundary as text (River's completer wraps
	// the driver's message).
	return strings.Contains(err.Error(), "database or disk is full")
}

// IsBusy reports whether err is SQLite's "database is locked"
// (SQLITE_BUSY or SQLITE_LOCKED): another connection held the one writer
// past the busy timeout. The write can be tried again.
func IsBusy(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrWriterWait) {
		return true
	}
	var se interface{ Code() int }
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqliteBusy || c == sqliteLocked
	}
	return strings.Contains(err.Error(), "database is locked")
}

const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// ProbeWrite makes the smallest write db must accept, for a health check:
// on SQLite the header page is rewritten with the user_version it holds
// (through the journal, as any write), on PostgreSQL a transaction ID is
// assigned (a WAL record). A full disk fails it (IsStorageFull).
func ProbeWrite(ctx context.Context, db *sql.DB, d Dialect) error {
	if d == Postgres {
		_, err := db.ExecContext(ctx, `SELECT txid_current()`)
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var v int64
	if err := conn.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `PRAGMA user_version = `+strconv.FormatInt(v, 10))
	return err
}
