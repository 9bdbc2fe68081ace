package qoe

import (
	"strconv"
	"strings"
)

// Dialect is the SQL database a Store talks to.
type Dialect int

// The supported dialects.
const (
	// SQLite through modernc.org/sqlite (driver "sqlite"); open it with
	// _txlock=immediate and a busy_timeout, as OpenSQLite does.
	SQLite Dialect = iota + 1
	// Postgres through pgx/v5's database/sql driver ("pgx").
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

// rebind turns ? placeholders into the dialect's.
func (d Dialect) rebind(query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
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
