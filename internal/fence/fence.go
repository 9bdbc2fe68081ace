// Package fence keeps an erased customer erased: a store records the
// customer in its fence table in the transaction that erases it, and
// database triggers (SQLite and PostgreSQL) refuse every later insert or
// update of a row of that customer, so a writer that raced the erase (a
// running check, keep-alive, call fetch or sync) cannot leave a row
// behind. Creating the customer again explicitly lifts the fence.
//
// On PostgreSQL the trigger takes a shared advisory lock on the customer
// and the erase an exclusive one (Set): a write that began before the
// erase commits first and is erased with the rest, and one that begins
// after waits and then sees the fence.
package fence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/migrate"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// ErrErased is the error of a write refused because its customer was
// erased (offboarded) and not created again: tokenstore.ErrErased, which
// every store exports under its own name too.
var ErrErased = tokenstore.ErrErased

// message is the text the triggers raise; code is PostgreSQL's SQLSTATE.
const (
	message = "tenantgate: the customer was erased"
	code    = "TGERA"
)

// lockClass is the first key of the advisory locks ("tgfc").
const lockClass = 0x74676663

// Steps are the statements of a migration step that adds a fence to
// tables (each with a customer column): the fence table (customer,
// erased_at) and, per table, triggers refusing inserts and updates of a
// fenced customer. prefix goes before PostgreSQL object names (a quoted
// schema and a dot, or ""); name is the fence table's name and the stem
// of the triggers' names.
func Steps(prefix, name string, tables ...string) []string {
	return StepsExcept(prefix, name, "", tables...)
}

// StepsExcept is Steps whose triggers let through the rows for which
// except, a condition on NEW, holds (rows an erase keeps on purpose);
// "" lets none through.
func StepsExcept(prefix, name, except string, tables ...string) []string {
	pgCond, liteCond := "", ""
	if except != "" {
		pgCond = " AND NOT (" + except + ")"
		liteCond = " AND NOT (" + except + ")"
	}
	out := []string{
		`CREATE TABLE ` + prefix + name + ` (
			customer  TEXT   NOT NULL PRIMARY KEY,
			erased_at BIGINT NOT NULL -- Unix nanoseconds
		)`,
		migrate.PostgresOnly(`CREATE FUNCTION ` + prefix + name + `_refuse() RETURNS trigger LANGUAGE plpgsql AS $fence$
BEGIN
	PERFORM pg_advisory_xact_lock_shared(` + fmt.Sprint(lockClass) + `, hashtext(NEW.customer));
	IF EXISTS (SELECT 1 FROM ` + prefix + name + ` WHERE customer = NEW.customer)` + pgCond + ` THEN
		RAISE EXCEPTION USING ERRCODE = '` + code + `', MESSAGE = '` + message + `';
	END IF;
	RETURN NEW;
END
$fence$`),
	}
	for _, t := range tables {
		out = append(out,
			migrate.PostgresOnly(`CREATE TRIGGER `+t+`_fence BEFORE INSERT OR UPDATE ON `+prefix+t+
				` FOR EACH ROW EXECUTE FUNCTION `+prefix+name+`_refuse()`),
			migrate.SQLiteOnly(`CREATE TRIGGER `+t+`_fence_insert BEFORE INSERT ON `+t+
				` WHEN EXISTS (SELECT 1 FROM `+name+` WHERE customer = NEW.customer)`+liteCond+`
				BEGIN SELECT RAISE(ABORT, '`+message+`'); END`),
			migrate.SQLiteOnly(`CREATE TRIGGER `+t+`_fence_update BEFORE UPDATE ON `+t+
				` WHEN EXISTS (SELECT 1 FROM `+name+` WHERE customer = NEW.customer)`+liteCond+`
				BEGIN SELECT RAISE(ABORT, '`+message+`'); END`))
	}
	return out
}

// Is reports whether err is a trigger's refusal (or already ErrErased).
func Is(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrErased) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == code
	}
	return strings.Contains(err.Error(), message)
}

// Wrap turns a trigger's refusal into an error matching ErrErased that
// keeps what was being done; other errors pass unchanged.
func Wrap(err error, what string) error {
	if err == nil || errors.Is(err, ErrErased) || !Is(err) {
		return err
	}
	return fmt.Errorf("%s: %w", what, ErrErased)
}

// Execer is what Set and Lift use of a *sql.Tx or *sql.DB.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Lock takes the customer's fence lock for the rest of tx (PostgreSQL;
// SQLite's single writer needs none): call it first in the transaction
// that erases the customer, so that writes begun before commit first and
// are erased too.
func Lock(ctx context.Context, tx Execer, d sqldb.Dialect, customer string) error {
	if d != sqldb.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClass, customer)
	return err
}

// LockShared takes the customer's fence lock in shared mode for the rest
// of tx (PostgreSQL; nothing on SQLite). The triggers take it row by row;
// a writer whose transaction locks rows of the customer (a DELETE, an
// UPDATE, an upsert's conflict) before its first fenced write must take it
// first, before those row locks: otherwise it can hold a row the erase
// waits for while it waits for the erase's lock, and PostgreSQL aborts one
// of the two as a deadlock.
func LockShared(ctx context.Context, tx Execer, d sqldb.Dialect, customer string) error {
	if d != sqldb.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, SharedLockQuery, customer)
	return err
}

// SharedLockQuery is LockShared's statement, the customer as $1, for a
// PostgreSQL transaction outside database/sql (pgx's own).
var SharedLockQuery = fmt.Sprintf(`SELECT pg_advisory_xact_lock_shared(%d, hashtext($1))`, lockClass)

// Set records the customer in the fence table name (with its prefix)
// in tx, the transaction that erases it, after Lock.
func Set(ctx context.Context, tx Execer, d sqldb.Dialect, table, customer string, at time.Time) error {
	_, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO `+table+` (customer, erased_at) VALUES (?, ?) ON CONFLICT (customer) DO NOTHING`),
		customer, at.UnixNano())
	return err
}

// Lift removes the customer from the fence table: it was created again.
func Lift(ctx context.Context, db Execer, d sqldb.Dialect, table, customer string) error {
	_, err := db.ExecContext(ctx, d.Rebind(`DELETE FROM `+table+` WHERE customer = ?`), customer)
	return err
}

// StopJob wraps a River worker function: a job whose customer was erased
// while it ran (a write refused by the fence) is cancelled, since
// retrying cannot succeed, with one log line instead of a storm of
// retries.
func StopJob[T river.JobArgs](log *slog.Logger, work func(context.Context, *river.Job[T]) error) func(context.Context, *river.Job[T]) error {
	return func(ctx context.Context, job *river.Job[T]) error {
		err := work(ctx, job)
		if Is(err) {
			log.InfoContext(ctx, "the customer was erased (offboarded) while the job ran; it stops", "kind", job.Kind, "job", job.ID, "err", err.Error())
			return river.JobCancel(Wrap(err, job.Kind))
		}
		return err
	}
}
