package sqlsink

import (
	"strconv"
	"strings"
)

// Dialect is the SQL database a Sink talks to.
type Dialect int

// The supported dialects.
const (
	// SQLite through modernc.org/sqlite (driver "sqlite"). Open its
	// *sql.DB with _txlock=immediate and a busy_timeout, as OpenSQLite
	// does, or concurrent passes fail with SQLITE_BUSY.
	SQLite Dialect = iota + 1
	// PostgreSQL through pgx/v5's database/sql driver ("pgx").
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// rebind turns the ? placeholders of query into the dialect's.
func (d Dialect) rebind(query string) string {
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
