package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/tokenstore"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrBusy is matched (errors.Is) by errors of statements that waited
// Options.BusyTimeout for another connection or process to release the
// database's write lock and gave up. Nothing was written; retry later, or
// raise BusyTimeout if a long writer (a backup, a migration) is expected.
var ErrBusy = errors.New("sqlitestore: database is locked by another connection or process (busy timeout reached)")

// mapErr turns driver errors into ones callers can branch on: the
// context's error when ctx ended (SQLite reports an interrupted statement),
// ErrBusy (wrapping the driver's error) for SQLITE_BUSY and SQLITE_LOCKED.
func mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w (%w)", ctxErr, err)
	}
	if isBusy(err) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	if fence.Is(err) {
		return fmt.Errorf("%w: %w", tokenstore.ErrErased, err)
	}
	return err
}

func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}
