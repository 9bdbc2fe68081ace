package sqldb_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// TestSQLiteDSNAnyFileName: a file name holding the DSN's own delimiters
// opens that very file, in WAL mode with the busy timeout.
func TestSQLiteDSNAnyFileName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#with%chars.db")
	for _, immediate := range []bool{false, true} {
		db, err := sql.Open("sqlite", sqldb.SQLiteDSN(path, immediate))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS t (x INTEGER)`); err != nil {
			t.Fatal(err)
		}
		var mode string
		var timeout int
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode %q (%v), want wal", mode, err)
		}
		if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&timeout); err != nil || timeout != 10000 {
			t.Errorf("busy_timeout %d (%v), want 10000", timeout, err)
		}
		db.Close()
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %q: %v", path, err)
	}
}
