package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/migrate"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/internal/cursor"
	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// Dialect is the SQL dialect of the database the Log is kept in.
type Dialect = sqldb.Dialect

// The supported dialects.
const (
	// SQLite through modernc.org/sqlite (driver "sqlite").
	SQLite = sqldb.SQLite
	// Postgres through github.com/jackc/pgx/v5/stdlib (driver "pgx").
	Postgres = sqldb.Postgres
)

// Options configures a Log. DB and Dialect are required.
type Options struct {
	// DB is the database, normally the tokenstore's; New creates the
	// tables. Close does not close it.
	DB *sql.DB
	// Dialect is DB's dialect.
	Dialect Dialect
	// Logger receives the package's logs. Default: slog.Default().
	Logger *slog.Logger
	// ChainKey, when set, keys the hash chain over each customer's
	// entries (HMAC-SHA-256) instead of plain SHA-256. Kept outside the
	// database (in the sealed tokenstore, a secret manager), it makes a
	// rewritten history detectable even by someone who can write the
	// database and recompute every later hash. Verify needs the same key.
	ChainKey []byte
	// NoMigrate makes New check that the tables are current instead of
	// migrating them (see package migrate).
	NoMigrate bool
}

// Log is the audit trail. It is safe for concurrent use.
type Log struct {
	db    *sql.DB
	d     Dialect
	log   *slog.Logger
	chain []byte // ChainKey

	mu   sync.Mutex
	uses map[useKey]int64 // credential uses not yet flushed
}

// New checks opts, creates the tables and returns a Log.
func New(ctx context.Context, opts Options) (*Log, error) {
	if opts.DB == nil {
		return nil, errors.New("audit: Options.DB is required")
	}
	if !opts.Dialect.Valid() {
		return nil, fmt.Errorf("audit: unknown Options.Dialect %v", opts.Dialect)
	}
	if err := migrate.Apply(ctx, opts.DB, opts.Dialect, opts.NoMigrate, Migrations(opts.Dialect)); err != nil {
		return nil, fmt.Errorf("audit: migrate %s schema: %w", opts.Dialect, err)
	}
	l := &Log{db: opts.DB, d: opts.Dialect, log: opts.Logger, chain: append([]byte(nil), opts.ChainKey...), uses: map[useKey]int64{}}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l, nil
}

// Migrations is the package's schema history in dialect d, for
// migrate.Up (the portal's migrate command applies it with every other
// package's).
func Migrations(d Dialect) migrate.Line {
	return migrate.Line{Name: "audit", Steps: migrations(d), Legacy: "tenantgate_audit_migrations"}
}

func migrations(d Dialect) [][]string {
	if d == Postgres {
		return [][]string{{
			`CREATE TABLE tenantgate_audit (
				id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				at         BIGINT NOT NULL, -- Unix microseconds
				actor      TEXT   NOT NULL,
				action     TEXT   NOT NULL,
				customer   TEXT   NOT NULL,
				outcome    TEXT   NOT NULL,
				request_id TEXT   NOT NULL,
				detail     TEXT   NOT NULL
			)`,
			`CREATE INDEX tenantgate_audit_customer ON tenantgate_audit (customer, id)`,
			`CREATE FUNCTION tenantgate_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$`,
			`CREATE TRIGGER tenantgate_audit_no_change BEFORE UPDATE OR DELETE ON tenantgate_audit
				FOR EACH ROW EXECUTE FUNCTION tenantgate_audit_append_only()`,
			`CREATE TRIGGER tenantgate_audit_no_truncate BEFORE TRUNCATE ON tenantgate_audit
				FOR EACH STATEMENT EXECUTE FUNCTION tenantgate_audit_append_only()`,
			useTable,
		}, chainColumns, useFence}
	}
	return [][]string{{
		`CREATE TABLE tenantgate_audit (
			id         INTEGER PRIMARY KEY AUTOINCREMENT,
			at         BIGINT NOT NULL, -- Unix microseconds
			actor      TEXT   NOT NULL,
			action     TEXT   NOT NULL,
			customer   TEXT   NOT NULL,
			outcome    TEXT   NOT NULL,
			request_id TEXT   NOT NULL,
			detail     TEXT   NOT NULL
		)`,
		`CREATE INDEX tenantgate_audit_customer ON tenantgate_audit (customer, id)`,
		`CREATE TRIGGER tenantgate_audit_no_update BEFORE UPDATE ON tenantgate_audit
			BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`,
		`CREATE TRIGGER tenantgate_audit_no_delete BEFORE DELETE ON tenantgate_audit
			BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END`,
		useTable,
	}, chainColumns, useFence}
}

// useFence (version 3) fences an offboarded customer's credential-use
// counts (internal/fence): Offboard records it in the transaction that
// erases them, and a trigger refuses later counts (a Graph request that
// raced the offboarding), which Flush then drops. The audit trail itself
// is not fenced: it records the offboarding, and outlives the customer.
var useFence = fence.Steps("", "tenantgate_credential_use_erased", "tenantgate_credential_use")

// chainColumns add the hash chain (version 2): entries written before it
// have empty hashes and are reported as unchained by Verify.
var chainColumns = []string{
	`ALTER TABLE tenantgate_audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE tenantgate_audit ADD COLUMN hash TEXT NOT NULL DEFAULT ''`,
	// List pairs an attempt with its outcome by request ID.
	`CREATE INDEX tenantgate_audit_request ON tenantgate_audit (customer, request_id, id)`,
}

const useTable = `CREATE TABLE tenantgate_credential_use (
	customer TEXT   NOT NULL,
	hour     BIGINT NOT NULL, -- Unix seconds of the hour's start
	uses     BIGINT NOT NULL,
	PRIMARY KEY (customer, hour)
)`

// Append records e, linked to the customer's previous entry by the hash
// chain (see Verify). Actor, Action and Outcome are required; At is set
// when zero. An error means nothing was recorded: a caller that must
// not act unaudited stops there.
func (l *Log) Append(ctx context.Context, e Entry) (err error) {
	if err := e.check(); err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = time.UnixMicro(e.At.UnixMicro()).UTC()
	ctx = context.WithoutCancel(ctx)
	defer func() {
		if err != nil {
			err = fmt.Errorf("audit: append %s on %q: %w", e.Action, e.Customer, err)
		}
	}()
	// SQLite has one writer: a long write elsewhere (a large sync's
	// commit) can hold it past the busy timeout. The entry is tried
	// again for a bounded time rather than refusing the change it
	// records.
	wait := 50 * time.Millisecond
	for deadline := time.Now().Add(busyBudget); ; {
		err = l.appendOnce(ctx, e)
		if !sqldb.IsBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
	}
}

// busyBudget bounds how long Append tries again while SQLite's writer is
// busy.
const busyBudget = time.Minute

// appendOnce records e in one transaction.
func (l *Log) appendOnce(ctx context.Context, e Entry) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if l.d == Postgres {
		// One writer per customer's chain at a time (SQLite's immediate
		// transactions already serialize writers).
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "tenantgate_audit:"+e.Customer); err != nil {
			return err
		}
	}
	var prev string
	err = tx.QueryRowContext(ctx, l.d.Rebind(`SELECT hash FROM tenantgate_audit WHERE customer = ? ORDER BY id DESC LIMIT 1`), e.Customer).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, l.d.Rebind(`INSERT INTO tenantgate_audit
		(at, actor, action, customer, outcome, request_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.At.UnixMicro(), e.Actor, e.Action, e.Customer, string(e.Outcome), e.RequestID, e.Detail, prev, l.hash(prev, e)); err != nil {
		return err
	}
	return tx.Commit()
}

// Query selects entries, newest first.
type Query struct {
	// Customer limits to one customer's entries; "" means every entry.
	Customer string
	// Limit is the page size: 1 to 500, default 50.
	Limit int
	// Action limits to entries of this action ("settings.write").
	Action string
	// Outcome limits to entries with this outcome.
	Outcome Outcome
	// From and To limit to entries at or after From and before To; zero
	// means unbounded.
	From, To time.Time
	// After is the Next of the previous page of the same query; "" starts
	// at the newest. A cursor of another query, or edited, is refused
	// with ErrBadCursor.
	After string
	// Attempts lists every Attempted entry; by default an attempt is
	// left out once an entry with the same customer, action and request
	// ID follows it (its outcome), so the attempts listed are those
	// that never got an outcome (the process stopped in between).
	Attempts bool
}

// Page is one page of entries, newest first.
type Page struct {
	Entries []Entry `json:"entries"`
	// Next continues the listing as Query.After; "" on the last page.
	Next string `json:"next"`
}

// ErrBadCursor is returned by List for a Query.After it did not issue.
var ErrBadCursor = errors.New("audit: the page cursor is not valid")

// List returns a page of entries, newest first.
func (l *Log) List(ctx context.Context, q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	query := `SELECT id, at, actor, action, customer, outcome, request_id, detail FROM tenantgate_audit a WHERE 1 = 1`
	var args []any
	if !q.Attempts {
		query += ` AND NOT (outcome = 'attempted' AND EXISTS (SELECT 1 FROM tenantgate_audit o
			WHERE o.customer = a.customer AND o.request_id = a.request_id AND o.id > a.id AND o.action = a.action))`
	}
	if q.Customer != "" {
		query += ` AND customer = ?`
		args = append(args, q.Customer)
	}
	if q.Action != "" {
		query += ` AND action = ?`
		args = append(args, q.Action)
	}
	if q.Outcome != "" {
		query += ` AND outcome = ?`
		args = append(args, string(q.Outcome))
	}
	if !q.From.IsZero() {
		query += ` AND at >= ?`
		args = append(args, q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		query += ` AND at < ?`
		args = append(args, q.To.UnixMicro())
	}
	scope := q.scope()
	if q.After != "" {
		id, err := decodeCursor(q.After, scope)
		if err != nil {
			return Page{}, err
		}
		query += ` AND id < ?`
		args = append(args, id)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := l.db.QueryContext(ctx, l.d.Rebind(query), args...)
	if err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	p := Page{Entries: []Entry{}}
	var lastID int64
	for rows.Next() {
		var e Entry
		var id, at int64
		if err := rows.Scan(&id, &at, &e.Actor, &e.Action, &e.Customer, &e.Outcome, &e.RequestID, &e.Detail); err != nil {
			return Page{}, fmt.Errorf("audit: list: %w", err)
		}
		if len(p.Entries) == limit {
			p.Next = encodeCursor(lastID, scope)
			break
		}
		e.At = time.UnixMicro(at).UTC()
		p.Entries = append(p.Entries, e)
		lastID = id
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	return p, nil
}

// scope binds a cursor to the query's filters.
func (q Query) scope() string {
	return cursor.Scope(q.Customer, q.Action, string(q.Outcome), timeKey(q.From), timeKey(q.To), strconv.FormatBool(q.Attempts))
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

func encodeCursor(id int64, scope string) string {
	return cursor.Encode("audit", scope, strconv.FormatInt(id, 10))
}

func decodeCursor(s, scope string) (int64, error) {
	parts, err := cursor.Decode(s, "audit", scope, 1)
	if err != nil {
		return 0, ErrBadCursor
	}
	id, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrBadCursor
	}
	return id, nil
}
