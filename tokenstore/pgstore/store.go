package pgstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/sqlbackend"
)

// Store is a tokenstore.Backend on a PostgreSQL database. It is safe for
// concurrent use; any number of replicas may share one database (and
// schema), each with its own Store.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool
	closed   atomic.Bool

	// Table names, schema-qualified and quoted.
	records, leases, erased string
}

var (
	_ tokenstore.Backend = (*Store)(nil)
	_ tokenstore.Fencer  = (*Store)(nil)
)

// pgExec runs fence's statements in a pgx transaction.
type pgExec struct{ pgx.Tx }

func (e pgExec) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	_, err := e.Exec(ctx, query, args...)
	return nil, err
}

// Fence deletes every record of the customer and records it as erased,
// in one transaction under the customer's fence lock: a Put racing it
// either commits first (and is deleted) or fails with
// tokenstore.ErrErased (a trigger refuses it), until Unfence.
func (s *Store) Fence(ctx context.Context, customer string) error {
	if err := s.checkOpen("fence"); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := fence.Lock(ctx, pgExec{tx}, sqldb.Postgres, customer); err != nil {
			return err
		}
		if err := fence.Set(ctx, pgExec{tx}, sqldb.Postgres, s.erased, customer, time.Now()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM `+s.records+` WHERE customer = $1`, customer)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: fence %q: %w", customer, mapErr(ctx, err))
	}
	return nil
}

// Unfence lifts the customer's fence: it was created again.
func (s *Store) Unfence(ctx context.Context, customer string) error {
	if err := s.checkOpen("unfence"); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM `+s.erased+` WHERE customer = $1`, customer); err != nil {
		return fmt.Errorf("pgstore: unfence %q: %w", customer, mapErr(ctx, err))
	}
	return nil
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string, see pgxpool.ParseConfig), and migrates the schema to
// SchemaVersion. Migrating is idempotent and safe when several replicas
// open at once. Close the Store to close its pool.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("pgstore: open: bad PostgreSQL connection string: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	s, err := open(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// OpenPool is Open for a host that already has a pool: the Store uses
// pool, migrates the schema, and leaves the pool open on Close.
func OpenPool(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("pgstore: open: %w: nil pool", tokenstore.ErrInvalid)
	}
	return open(ctx, pool, opts)
}

func open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if err := migrateSchema(ctx, pool, opts.Schema, opts.NoMigrate); err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", mapErr(ctx, err))
	}
	prefix := tablePrefix(opts.Schema)
	return &Store{
		pool:    pool,
		records: prefix + "tokenstore_records",
		leases:  prefix + "tokenstore_leases",
		erased:  prefix + "tokenstore_erased",
	}, nil
}

// Close closes the pool if Open created it. Leases still held lapse after
// their ttl. Calls after Close fail with tokenstore.ErrClosed; Close itself
// is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.ownsPool {
		s.pool.Close()
	}
	return nil
}

// checkOpen returns an error matching tokenstore.ErrClosed after Close.
func (s *Store) checkOpen(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("pgstore: %s: %w", op, tokenstore.ErrClosed)
	}
	return nil
}

// Get returns the record stored under key, or an error matching
// tokenstore.ErrNotFound.
func (s *Store) Get(ctx context.Context, key tokenstore.Key) (tokenstore.Record, error) {
	if err := s.checkOpen("get"); err != nil {
		return tokenstore.Record{}, err
	}
	if err := sqlbackend.CheckKey(key); err != nil {
		return tokenstore.Record{}, fmt.Errorf("pgstore: get: %w", err)
	}
	rec := tokenstore.Record{Key: key}
	err := s.pool.QueryRow(ctx, `SELECT version, created_at, updated_at, sealed, data FROM `+s.records+`
		WHERE customer = $1 AND kind = $2 AND name = $3`,
		key.Customer, key.Kind, key.Name).Scan(&rec.Version, &rec.CreatedAt, &rec.UpdatedAt, &rec.Sealed, &rec.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return tokenstore.Record{}, fmt.Errorf("pgstore: get %s: %w", key, tokenstore.ErrNotFound)
	}
	if err != nil {
		return tokenstore.Record{}, fmt.Errorf("pgstore: get %s: %w", key, mapErr(ctx, err))
	}
	return normalize(rec), nil
}

// Put writes rec if the stored version equals expectVersion (0: create
// only). The check and the write are one SQL statement, so concurrent
// writers of the same version cannot both win. A stale expectVersion
// returns a *tokenstore.ConflictError. Timestamps come from the database
// server's clock, which all replicas share.
func (s *Store) Put(ctx context.Context, rec tokenstore.Record, expectVersion int64) (tokenstore.Record, error) {
	if err := s.checkOpen("put"); err != nil {
		return tokenstore.Record{}, err
	}
	if err := sqlbackend.CheckKey(rec.Key); err != nil {
		return tokenstore.Record{}, fmt.Errorf("pgstore: put: %w", err)
	}
	if err := sqlbackend.CheckPutVersion(expectVersion); err != nil {
		return tokenstore.Record{}, fmt.Errorf("pgstore: put %s: %w", rec.Key, err)
	}
	data := rec.Data
	if data == nil {
		data = []byte{}
	}
	var row pgx.Row
	if expectVersion == 0 {
		row = s.pool.QueryRow(ctx, `INSERT INTO `+s.records+`
			(customer, kind, name, version, created_at, updated_at, sealed, data)
			VALUES ($1, $2, $3, 1, now(), now(), $4, $5)
			ON CONFLICT (customer, kind, name) DO NOTHING
			RETURNING version, created_at, updated_at`,
			rec.Customer, rec.Kind, rec.Name, rec.Sealed, data)
	} else {
		// greatest(): UpdatedAt never goes back, even if the clock does.
		row = s.pool.QueryRow(ctx, `UPDATE `+s.records+`
			SET version = version + 1, updated_at = greatest(now(), updated_at), sealed = $4, data = $5
			WHERE customer = $1 AND kind = $2 AND name = $3 AND version = $6
			RETURNING version, created_at, updated_at`,
			rec.Customer, rec.Kind, rec.Name, rec.Sealed, data, expectVersion)
	}
	err := row.Scan(&rec.Version, &rec.CreatedAt, &rec.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return tokenstore.Record{}, s.conflict(ctx, "put", rec.Key, expectVersion)
	}
	if err != nil {
		return tokenstore.Record{}, fmt.Errorf("pgstore: put %s: %w", rec.Key, mapErr(ctx, err))
	}
	rec.Data = bytes.Clone(data) // never hand the caller's slice back
	return normalize(rec), nil
}

// conflict builds the error for a write whose version check failed: a
// *tokenstore.ConflictError carrying the version found now.
func (s *Store) conflict(ctx context.Context, op string, key tokenstore.Key, expect int64) error {
	var actual int64
	err := s.pool.QueryRow(ctx, `SELECT version FROM `+s.records+`
		WHERE customer = $1 AND kind = $2 AND name = $3`, key.Customer, key.Kind, key.Name).Scan(&actual)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: %s %s: version check failed, then reading the current version: %w", op, key, mapErr(ctx, err))
	}
	return fmt.Errorf("pgstore: %s: %w", op, &tokenstore.ConflictError{Key: key, Expected: expect, Actual: actual})
}

// Delete removes the record if its version equals expectVersion, or
// whatever its version with tokenstore.AnyVersion. A missing record
// returns an error matching tokenstore.ErrNotFound; a stale expectVersion
// a *tokenstore.ConflictError.
func (s *Store) Delete(ctx context.Context, key tokenstore.Key, expectVersion int64) error {
	if err := s.checkOpen("delete"); err != nil {
		return err
	}
	if err := sqlbackend.CheckKey(key); err != nil {
		return fmt.Errorf("pgstore: delete: %w", err)
	}
	if err := sqlbackend.CheckDeleteVersion(expectVersion); err != nil {
		return fmt.Errorf("pgstore: delete %s: %w", key, err)
	}
	// $4 = -1 (AnyVersion) matches any version.
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.records+`
		WHERE customer = $1 AND kind = $2 AND name = $3 AND ($4 = -1 OR version = $4)`,
		key.Customer, key.Kind, key.Name, expectVersion)
	if err != nil {
		return fmt.Errorf("pgstore: delete %s: %w", key, mapErr(ctx, err))
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	err = s.conflict(ctx, "delete", key, expectVersion)
	if ce, ok := errors.AsType[*tokenstore.ConflictError](err); ok && ce.Actual == 0 {
		return fmt.Errorf("pgstore: delete %s: %w", key, tokenstore.ErrNotFound)
	}
	return err
}

// List returns one page of customer's records of kind, ordered by Name
// (byte-wise).
func (s *Store) List(ctx context.Context, customer, kind string, opts tokenstore.ListOptions) (tokenstore.Page, error) {
	if err := s.checkOpen("list"); err != nil {
		return tokenstore.Page{}, err
	}
	if err := sqlbackend.CheckScope(customer, kind); err != nil {
		return tokenstore.Page{}, fmt.Errorf("pgstore: list: %w", err)
	}
	limit := sqlbackend.PageLimit(opts.Limit)
	recs, err := s.query(ctx, `SELECT customer, kind, name, version, created_at, updated_at, sealed, data
		FROM `+s.records+` WHERE customer = $1 AND kind = $2 AND name > $3
		ORDER BY name LIMIT $4`, customer, kind, opts.After, limit+1)
	if err != nil {
		return tokenstore.Page{}, fmt.Errorf("pgstore: list %s/%s: %w", customer, kind, mapErr(ctx, err))
	}
	var page tokenstore.Page
	if len(recs) > limit {
		recs = recs[:limit]
		page.Next = recs[limit-1].Name
	}
	page.Records = recs
	return page, nil
}

// Scan returns up to limit records of all customers and kinds, ordered by
// (Customer, Kind, Name), strictly after the key after. A non-positive
// limit means tokenstore.DefaultPageSize.
func (s *Store) Scan(ctx context.Context, after tokenstore.Key, limit int) ([]tokenstore.Record, error) {
	if err := s.checkOpen("scan"); err != nil {
		return nil, err
	}
	recs, err := s.query(ctx, `SELECT customer, kind, name, version, created_at, updated_at, sealed, data
		FROM `+s.records+` WHERE (customer, kind, name) > ($1, $2, $3)
		ORDER BY customer, kind, name LIMIT $4`, after.Customer, after.Kind, after.Name, sqlbackend.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pgstore: scan: %w", mapErr(ctx, err))
	}
	return recs, nil
}

func (s *Store) query(ctx context.Context, query string, args ...any) ([]tokenstore.Record, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (tokenstore.Record, error) {
		var rec tokenstore.Record
		err := row.Scan(&rec.Customer, &rec.Kind, &rec.Name, &rec.Version, &rec.CreatedAt, &rec.UpdatedAt, &rec.Sealed, &rec.Data)
		return normalize(rec), err
	})
}

// normalize reports timestamps in UTC and an empty payload as empty, not
// nil, like the other backends.
func normalize(rec tokenstore.Record) tokenstore.Record {
	rec.CreatedAt, rec.UpdatedAt = rec.CreatedAt.UTC(), rec.UpdatedAt.UTC()
	if rec.Data == nil {
		rec.Data = []byte{}
	}
	return rec
}
