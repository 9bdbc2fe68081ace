package sqlsink

import (
	"strings"

	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// Dialect is the SQL database a Sink talks to.
type Dialect = sqldb.Dialect

// The supported dialects.
const (
	// SQLite through modernc.org/sqlite (driver "sqlite"). Open its
	// *sql.DB with _txlock=immediate and a busy_timeout, as OpenSQLite
	// does, or concurrent writes fail with SQLITE_BUSY.
	SQLite = sqldb.SQLite
	// Postgres through pgx/v5's database/sql driver ("pgx").
	Postgres = sqldb.Postgres
)

// placeholders returns "(?, ?, ...)" groups: rows groups of cols each,
// comma separated.
func placeholders(rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}
