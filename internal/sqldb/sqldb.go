// Package sqldb holds what tenantgate's small SQL stores share: the two
// dialects (SQLite through modernc.org/sqlite, PostgreSQL through pgx's
// database/sql driver) and placeholder rebinding; migrations are package
// migrate's.
package sqldb

import (
	"net/url"
	"strconv"
	"strings"
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
