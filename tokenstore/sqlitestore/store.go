package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/migrate"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/sqlbackend"
)

// Store is a tokenstore.Backend on one SQLite database file. It is safe for
// concurrent use, and several processes may open the same file at once.
type Store struct {
	db     *sql.DB
	closed atomic.Bool
}

var (
	_ tokenstore.Backend = (*Store)(nil)
	_ tokenstore.Fencer  = (*Store)(nil)
)

// Fence deletes every record of the customer and records it as erased,
// in one transaction: later Puts of its records fail with
// tokenstore.ErrErased (a trigger refuses them) until Unfence.
func (s *Store) Fence(ctx context.Context, customer string) error {
	if err := s.checkOpen("fence"); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: fence %q: %w", customer, mapErr(ctx, err))
	}
	defer func() { _ = tx.Rollback() }()
	if err := fence.Set(ctx, tx, sqldb.SQLite, "tokenstore_erased", customer, time.Now()); err != nil {
		return fmt.Errorf("sqlitestore: fence %q: %w", customer, mapErr(ctx, err))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tokenstore_records WHERE customer = ?`, customer); err != nil {
		return fmt.Errorf("sqlitestore: fence %q: %w", customer, mapErr(ctx, err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: fence %q: %w", customer, mapErr(ctx, err))
	}
	return nil
}

// Unfence lifts the customer's fence: it was created again.
func (s *Store) Unfence(ctx context.Context, customer string) error {
	if err := s.checkOpen("unfence"); err != nil {
		return err
	}
	if err := fence.Lift(ctx, s.db, sqldb.SQLite, "tokenstore_erased", customer); err != nil {
		return fmt.Errorf("sqlitestore: unfence %q: %w", customer, mapErr(ctx, err))
	}
	return nil
}

// Open opens (creating if needed) the SQLite database at path, switches it
// to WAL, and migrates its schema to SchemaVersion. Migrating is
// idempotent and safe when several processes open the same file at once.
// The tables are prefixed tokenstore_, so the file may hold the host's own
// tables too. A new file is created with mode 0600. Close the Store when
// done.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, fmt.Errorf("sqlitestore: open: %w: path must name a database file; for an in-memory store use tokenstore/memstore", tokenstore.ErrInvalid)
	}
	if dir := filepath.Dir(path); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("sqlitestore: open %s: directory %s does not exist; create it first (SQLite creates only the file)", path, dir)
		}
	}
	// Create a new file readable by this user only; SQLite gives its WAL
	// and shared-memory files the same mode. An existing file keeps its.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	_ = f.Close()
	db, err := sqldb.OpenSQLite(path, dsn(path, opts))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(opts.maxOpenConns())
	db.SetMaxIdleConns(opts.maxOpenConns())
	if err := migrate.Apply(ctx, db, migrate.SQLite, opts.NoMigrate, Migrations()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, mapErr(ctx, err))
	}
	return &Store{db: db}, nil
}

// dsn builds the modernc.org/sqlite data source name. Every pooled
// connection runs these pragmas: busy_timeout first, so that switching to
// WAL waits for a concurrent opener instead of failing; immediate
// transactions, so that a transaction takes the write lock up front and
// never fails to upgrade a read lock.
func dsn(path string, opts Options) string {
	q := url.Values{}
	q.Set("_pragma", "busy_timeout("+strconv.FormatInt(opts.busyTimeout().Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	// A SQLite URI filename: escape what would end the path.
	p := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	return "file:" + p + "?" + q.Encode()
}

// Close closes the database. Leases still held lapse after their ttl.
// Calls after Close fail with tokenstore.ErrClosed; Close itself is
// idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
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
		return tokenstore.Record{}, fmt.Errorf("sqlitestore: get: %w", err)
	}
	rec := tokenstore.Record{Key: key}
	var created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT version, created_at, updated_at, sealed, data
		FROM tokenstore_records WHERE customer = ? AND kind = ? AND name = ?`,
		key.Customer, key.Kind, key.Name).Scan(&rec.Version, &created, &updated, &rec.Sealed, &rec.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return tokenstore.Record{}, fmt.Errorf("sqlitestore: get %s: %w", keyString(key), tokenstore.ErrNotFound)
	}
	if err != nil {
		return tokenstore.Record{}, fmt.Errorf("sqlitestore: get %s: %w", keyString(key), mapErr(ctx, err))
	}
	rec.CreatedAt, rec.UpdatedAt = fromNanos(created), fromNanos(updated)
	if rec.Data == nil {
		rec.Data = []byte{}
	}
	return rec, nil
}

// Put writes rec if the stored version equals expectVersion (0: create
// only). The check and the write are one SQL statement, so concurrent
// writers of the same version cannot both win. A stale expectVersion
// returns a *tokenstore.ConflictError.
func (s *Store) Put(ctx context.Context, rec tokenstore.Record, expectVersion int64) (tokenstore.Record, error) {
	if err := s.checkOpen("put"); err != nil {
		return tokenstore.Record{}, err
	}
	if err := sqlbackend.CheckKey(rec.Key); err != nil {
		return tokenstore.Record{}, fmt.Errorf("sqlitestore: put: %w", err)
	}
	if err := sqlbackend.CheckPutVersion(expectVersion); err != nil {
		return tokenstore.Record{}, fmt.Errorf("sqlitestore: put %s: %w", keyString(rec.Key), err)
	}
	data := rec.Data
	if data == nil {
		data = []byte{}
	}
	now := time.Now().UnixNano()
	var version, created, updated int64
	var err error
	if expectVersion == 0 {
		err = s.db.QueryRowContext(ctx, `INSERT INTO tokenstore_records
			(customer, kind, name, version, created_at, updated_at, sealed, data)
			VALUES (?, ?, ?, 1, ?, ?, ?, ?)
			ON CONFLICT (customer, kind, name) DO NOTHING
			RETURNING version, created_at, updated_at`,
			rec.Customer, rec.Kind, rec.Name, now, now, rec.Sealed, data).Scan(&version, &created, &updated)
	} else {
		// max(): UpdatedAt never goes back, even if the clock does.
		err = s.db.QueryRowContext(ctx, `UPDATE tokenstore_records
			SET version = version + 1, updated_at = max(?, updated_at), sealed = ?, data = ?
			WHERE customer = ? AND kind = ? AND name = ? AND version = ?
			RETURNING version, created_at, updated_at`,
			now, rec.Sealed, data, rec.Customer, rec.Kind, rec.Name, expectVersion).Scan(&version, &created, &updated)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return tokenstore.Record{}, s.conflict(ctx, "put", rec.Key, expectVersion)
	}
	if err != nil {
		return tokenstore.Record{}, fmt.Errorf("sqlitestore: put %s: %w", keyString(rec.Key), mapErr(ctx, err))
	}
	rec.Version = version
	rec.CreatedAt, rec.UpdatedAt = fromNanos(created), fromNanos(updated)
	rec.Data = bytes.Clone(data) // never hand the caller's slice back
	return rec, nil
}

// conflict builds the error for a write whose version check failed: a
// *tokenstore.ConflictError carrying the version found now.
func (s *Store) conflict(ctx context.Context, op string, key tokenstore.Key, expect int64) error {
	var actual int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM tokenstore_records
		WHERE customer = ? AND kind = ? AND name = ?`, key.Customer, key.Kind, key.Name).Scan(&actual)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s %s: version check failed, then reading the current version: %w", op, keyString(key), mapErr(ctx, err))
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, &tokenstore.ConflictError{Key: key, Expected: expect, Actual: actual})
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
		return fmt.Errorf("sqlitestore: delete: %w", err)
	}
	if err := sqlbackend.CheckDeleteVersion(expectVersion); err != nil {
		return fmt.Errorf("sqlitestore: delete %s: %w", keyString(key), err)
	}
	var res sql.Result
	var err error
	if expectVersion == tokenstore.AnyVersion {
		res, err = s.db.ExecContext(ctx, `DELETE FROM tokenstore_records
			WHERE customer = ? AND kind = ? AND name = ?`, key.Customer, key.Kind, key.Name)
	} else {
		res, err = s.db.ExecContext(ctx, `DELETE FROM tokenstore_records
			WHERE customer = ? AND kind = ? AND name = ? AND version = ?`, key.Customer, key.Kind, key.Name, expectVersion)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: delete %s: %w", keyString(key), mapErr(ctx, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: delete %s: %w", keyString(key), mapErr(ctx, err))
	}
	if n == 1 {
		return nil
	}
	err = s.conflict(ctx, "delete", key, expectVersion)
	if ce, ok := errors.AsType[*tokenstore.ConflictError](err); ok && ce.Actual == 0 {
		return fmt.Errorf("sqlitestore: delete %s: %w", keyString(key), tokenstore.ErrNotFound)
	}
	return err
}

// List returns one page of customer's records of kind, ordered by Name.
func (s *Store) List(ctx context.Context, customer, kind string, opts tokenstore.ListOptions) (tokenstore.Page, error) {
	if err := s.checkOpen("list"); err != nil {
		return tokenstore.Page{}, err
	}
	if err := sqlbackend.CheckScope(customer, kind); err != nil {
		return tokenstore.Page{}, fmt.Errorf("sqlitestore: list: %w", err)
	}
	limit := sqlbackend.PageLimit(opts.Limit)
	recs, err := s.query(ctx, `SELECT customer, kind, name, version, created_at, updated_at, sealed, data
		FROM tokenstore_records WHERE customer = ? AND kind = ? AND name > ?
		ORDER BY name LIMIT ?`, customer, kind, opts.After, limit+1)
	if err != nil {
		return tokenstore.Page{}, fmt.Errorf("sqlitestore: list %s/%s: %w", customer, kind, mapErr(ctx, err))
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
		FROM tokenstore_records WHERE (customer, kind, name) > (?, ?, ?)
		ORDER BY customer, kind, name LIMIT ?`, after.Customer, after.Kind, after.Name, sqlbackend.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: scan: %w", mapErr(ctx, err))
	}
	return recs, nil
}

func (s *Store) query(ctx context.Context, query string, args ...any) ([]tokenstore.Record, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var recs []tokenstore.Record
	for rows.Next() {
		var rec tokenstore.Record
		var created, updated int64
		if err := rows.Scan(&rec.Customer, &rec.Kind, &rec.Name, &rec.Version, &created, &updated, &rec.Sealed, &rec.Data); err != nil {
			return nil, err
		}
		rec.CreatedAt, rec.UpdatedAt = fromNanos(created), fromNanos(updated)
		if rec.Data == nil {
			rec.Data = []byte{}
		}
		recs = append(recs, rec)
	}
	return recs, rows.Err()
}

// checkOpen returns an error matching tokenstore.ErrClosed after Close.
func (s *Store) checkOpen(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlitestore: %s: %w", op, tokenstore.ErrClosed)
	}
	return nil
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func keyString(k tokenstore.Key) string {
	return k.Customer + "/" + k.Kind + "/" + k.Name
}
