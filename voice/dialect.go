package voice

import "github.com/tenantgate/tenantgate/internal/sqldb"

// Dialect is the SQL database a Store talks to.
type Dialect = sqldb.Dialect

// The supported dialects.
const (
	// SQLite through modernc.org/sqlite (driver "sqlite"), opened with
	// _txlock=immediate and a busy_timeout as OpenSQLite does.
	SQLite = sqldb.SQLite
	// Postgres through pgx/v5's database/sql driver ("pgx").
	Postgres = sqldb.Postgres
)
