package sqldb_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// TestSQLiteDSNAnyFileName: a file name holding the DSN's own delimiters
// opens that very file, in WAL mode with the busy timeout.
func TestSQLiteDSNAnyFileName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#with%chars.db")
	for _, immediate := range []bool{false, true} {
		db, err := sql.Open("sqlite", sqldb.SQLiteDSN(path, immediate))
		require.NoError(t, err)
		_, err = db.Exec(`CREATE TABLE IF NOT EXISTS t (x INTEGER)`)
		require.NoError(t, err)
		var mode string
		var timeout int
		assert.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode), "journal_mode")
		assert.Equal(t, "wal", mode, "journal_mode")
		assert.NoError(t, db.QueryRow(`PRAGMA busy_timeout`).Scan(&timeout), "busy_timeout")
		assert.Equal(t, 10000, timeout, "busy_timeout")
		db.Close()
	}
	assert.FileExists(t, path, "the database is at the path asked for")
}
