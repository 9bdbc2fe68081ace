package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// TestIsStorageFull: SQLite's SQLITE_FULL as the driver returns it (a
// database at its max_page_count), PostgreSQL's disk_full and ENOSPC are
// storage full; other errors are not.
func TestIsStorageFull(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "full.db"))
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	_, err = db.ExecContext(ctx, `CREATE TABLE t (v BLOB); PRAGMA max_page_count = 8`)
	require.NoError(t, err)
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		_, full = db.ExecContext(ctx, `INSERT INTO t VALUES (randomblob(4000))`)
	}
	require.Error(t, full, "the capped database must fill up")
	assert.True(t, IsStorageFull(full), "%v", full)
	assert.True(t, IsStorageFull(fmt.Errorf("store users: %w", full)))
	assert.True(t, IsStorageFull(&pgconn.PgError{Code: "53100"}))
	assert.True(t, IsStorageFull(fmt.Errorf("write: %w", syscall.ENOSPC)))
	assert.False(t, IsStorageFull(&pgconn.PgError{Code: "23505"}))
	assert.False(t, IsStorageFull(errors.New("no such table: t")))
	assert.False(t, IsStorageFull(nil))
}
