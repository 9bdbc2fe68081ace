package sqldb

import (
	"database/sql"
	"errors"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// DefaultMaxConns is the connection limit of a PostgreSQL pool opened by
// OpenPostgres with maxConns zero. tenantgate opens a few such pools per
// process (the QoE store, the user sink, the portal's records), each
// beside the tokenstore's and River's pgx pools; with the defaults one
// process holds at most about 40 connections, so several replicas fit
// under PostgreSQL's default max_connections of 100 with room for
// administration.
const DefaultMaxConns = 10

// OpenPostgres opens a database/sql pool on the PostgreSQL database at
// dsn through pgx, bounded to maxConns open connections (zero means
// DefaultMaxConns), keeping at most half of them idle, each for at most
// five minutes. A caller waiting for a connection waits for its
// context. The error never repeats dsn (it may hold a password).
func OpenPostgres(dsn string, maxConns int) (*sql.DB, error) {
	if maxConns < 0 {
		return nil, errors.New("negative MaxConns")
	}
	if maxConns == 0 {
		maxConns = DefaultMaxConns
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, errors.New("invalid connection string")
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(max(1, maxConns/2))
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}
