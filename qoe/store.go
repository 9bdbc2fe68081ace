package qoe

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/migrate"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store keeps subscriptions, calls, their streams' key metrics, daily
// aggregates and PSTN aggregates per customer in SQLite or PostgreSQL.
// It is safe for concurrent use.
type Store struct {
	db    *sql.DB
	d     Dialect
	ownDB bool
}

// NewStore returns a Store on db, an open database of the given dialect,
// after migrating its tables. Close does not close db.
func NewStore(ctx context.Context, db *sql.DB, d Dialect, opts ...migrate.Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("qoe: NewStore: nil *sql.DB")
	}
	if d != SQLite && d != Postgres {
		return nil, fmt.Errorf("qoe: unknown dialect %v", d)
	}
	if err := migrate.Apply(ctx, db, d, migrate.NoMigrateIn(opts), Migrations()); err != nil {
		return nil, fmt.Errorf("qoe: migrate %s schema: %w", d, err)
	}
	return &Store{db: db, d: d}, nil
}

// OpenSQLite opens (creating if needed) the SQLite database file at path
// with WAL, a 10 s busy timeout and immediate transactions, and migrates
// the tables. Close closes it.
func OpenSQLite(ctx context.Context, path string, opts ...migrate.Option) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, errors.New("qoe: OpenSQLite needs a database file path")
	}
	db, err := sqldb.OpenSQLite(path, sqldb.SQLiteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("qoe: open %s: %w", path, err)
	}
	s, err := NewStore(ctx, db, SQLite, opts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

// PostgresOptions configures OpenPostgres. The zero value is ready to
// use.
type PostgresOptions struct {
	// MaxConns caps the pool's open connections; zero means 10. The
	// receiver uses at most ReceiverLimits.MaxConcurrent of them at once,
	// so the API's reads and the jobs keep the rest during a flood.
	MaxConns int
	// NoMigrate makes OpenPostgres check that the tables are current
	// instead of migrating them (see package migrate).
	NoMigrate bool
}

// OpenPostgres connects to the PostgreSQL database at dsn with a pool
// bounded by opts.MaxConns and migrates the tables. Close closes the
// pool.
func OpenPostgres(ctx context.Context, dsn string, opts PostgresOptions) (*Store, error) {
	db, err := sqldb.OpenPostgres(dsn, opts.MaxConns)
	if err != nil {
		return nil, fmt.Errorf("qoe: open PostgreSQL: %w", err) // never the DSN: it may hold a password
	}
	var mopts []migrate.Option
	if opts.NoMigrate {
		mopts = append(mopts, migrate.NoMigrate())
	}
	s, err := NewStore(ctx, db, Postgres, mopts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

// Close closes the database if the Store opened it.
func (s *Store) Close() error {
	if !s.ownDB {
		return nil
	}
	return s.db.Close()
}

func (s *Store) q(query string) string { return s.d.Rebind(query) }

// dayOf is the UTC day of t.
func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// subRow is a stored subscription.
type subRow struct {
	Customer        string
	ID              string
	ClientStateHash string
	AppID           string
	State           string
	ExpiresAt       time.Time
	LastError       string
	LastSeenStart   time.Time
	CreatedAt       time.Time
	RenewedAt       time.Time
	Rejected        int64
}

const subCols = `customer, subscription_id, client_state_hash, app_id, state, expires_at, last_error, last_seen_start, created_at, renewed_at, rejected`

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func scanSub(row interface{ Scan(...any) error }) (subRow, error) {
	var r subRow
	var exp, seen, created, renewed int64
	err := row.Scan(&r.Customer, &r.ID, &r.ClientStateHash, &r.AppID, &r.State, &exp, &r.LastError, &seen, &created, &renewed, &r.Rejected)
	r.ExpiresAt, r.LastSeenStart, r.CreatedAt, r.RenewedAt = fromNanos(exp), fromNanos(seen), fromNanos(created), fromNanos(renewed)
	return r, err
}

func (s *Store) subscription(ctx context.Context, customer string) (subRow, bool, error) {
	r, err := scanSub(s.db.QueryRowContext(ctx, s.q(`SELECT `+subCols+` FROM tenantgate_qoe_subscriptions WHERE customer = ?`), customer))
	if errors.Is(err, sql.ErrNoRows) {
		return subRow{}, false, nil
	}
	return r, err == nil, err
}

// putSubscription stores r, keeping last_seen_start and rejected.
func (s *Store) putSubscription(ctx context.Context, r subRow) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_qoe_subscriptions AS t (`+subCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (customer) DO UPDATE SET subscription_id = excluded.subscription_id,
			client_state_hash = excluded.client_state_hash, app_id = excluded.app_id, state = excluded.state,
			expires_at = excluded.expires_at, last_error = excluded.last_error, renewed_at = excluded.renewed_at,
			created_at = excluded.created_at,
			last_seen_start = CASE WHEN excluded.last_seen_start > t.last_seen_start THEN excluded.last_seen_start ELSE t.last_seen_start END`),
		r.Customer, r.ID, r.ClientStateHash, r.AppID, r.State, nanos(r.ExpiresAt), r.LastError, nanos(r.LastSeenStart), nanos(r.CreatedAt), nanos(r.RenewedAt))
	return fence.Wrap(err, "qoe: store the subscription of "+strconv.Quote(r.Customer))
}

func (s *Store) deleteSubscription(ctx context.Context, customer string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tenantgate_qoe_subscriptions WHERE customer = ?`), customer)
	return err
}

// subscriptionsByID returns the stored subscriptions of ids, by ID, in
// one query.
func (s *Store) subscriptionsByID(ctx context.Context, ids []string) (map[string]subRow, error) {
	out := make(map[string]subRow, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+subCols+` FROM tenantgate_qoe_subscriptions WHERE subscription_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanSub(rows)
		if err != nil {
			return nil, err
		}
		out[r.ID] = r
	}
	return out, rows.Err()
}

// addRejected counts n refused notifications of a subscription.
func (s *Store) addRejected(ctx context.Context, subID string, n int) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_qoe_subscriptions SET rejected = rejected + ? WHERE subscription_id = ?`), n, subID)
	return err
}

func (s *Store) subscribedCustomers(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT customer FROM tenantgate_qoe_subscriptions ORDER BY customer`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// callVersion returns the stored version of a call, 0 if none.
func (s *Store) callVersion(ctx context.Context, customer, id string) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT version FROM tenantgate_qoe_calls WHERE customer = ? AND id = ?`), customer, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

func hasReason(rs []Reason, r Reason) int {
	for _, x := range rs {
		if x == r {
			return 1
		}
	}
	return 0
}

func joinReasons(rs []Reason) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ",")
}

func splitReasons(s string) []Reason {
	if s == "" {
		return []Reason{}
	}
	parts := strings.Split(s, ",")
	out := make([]Reason, len(parts))
	for i, p := range parts {
		out[i] = Reason(p)
	}
	return out
}

func durPtr(d *time.Duration) any {
	if d == nil {
		return nil
	}
	return d.Microseconds()
}

// PutCall stores c with its streams and updates the daily aggregates of
// its day (and of its previous day, when a newer version moved it). It
// reports false, storing nothing, when the stored version is the same or
// newer: the same record notified twice is processed once.
func (s *Store) PutCall(ctx context.Context, c Call) (stored bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil || !stored {
			_ = tx.Rollback()
		}
		err = fence.Wrap(err, "qoe: store call "+c.ID+" of "+strconv.Quote(c.Customer))
	}()
	if s.d == Postgres {
		// One writer per customer at a time keeps the daily aggregates
		// exact (READ COMMITTED would let two writers count from stale
		// snapshots).
		if _, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "tenantgate_qoe:"+c.Customer); err != nil {
			return false, err
		}
	}
	var oldVersion int64
	var oldDay string
	err = tx.QueryRowContext(ctx, s.q(`SELECT version, day FROM tenantgate_qoe_calls WHERE customer = ? AND id = ?`), c.Customer, c.ID).Scan(&oldVersion, &oldDay)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = nil
	case err != nil:
		return false, err
	case oldVersion >= c.Version:
		return false, nil
	}
	day := dayOf(c.Start)
	if _, err = tx.ExecContext(ctx, s.q(`INSERT INTO tenantgate_qoe_calls
		(customer, id, version, day, start_at, end_at, quality, jitter, packet_loss, round_trip, caller, callee, processed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (customer, id) DO UPDATE SET version = excluded.version, day = excluded.day,
			start_at = excluded.start_at, end_at = excluded.end_at, quality = excluded.quality,
			jitter = excluded.jitter, packet_loss = excluded.packet_loss, round_trip = excluded.round_trip,
			caller = excluded.caller, callee = excluded.callee, processed_at = excluded.processed_at`),
		c.Customer, c.ID, c.Version, day, c.Start.UnixNano(), c.End.UnixNano(), string(c.Quality),
		hasReason(c.Reasons, ReasonJitter), hasReason(c.Reasons, ReasonPacketLoss), hasReason(c.Reasons, ReasonRoundTrip),
		c.Caller, c.Callee, time.Now().UnixNano()); err != nil {
		return false, err
	}
	if _, err = tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_qoe_streams WHERE customer = ? AND call_id = ?`), c.Customer, c.ID); err != nil {
		return false, err
	}
	for _, st := range c.Streams {
		var loss, packets any
		if st.PacketLoss != nil {
			loss = *st.PacketLoss
		}
		if st.Packets != nil {
			packets = *st.Packets
		}
		if _, err = tx.ExecContext(ctx, s.q(`INSERT INTO tenantgate_qoe_streams
			(customer, call_id, stream_key, direction, jitter_us, round_trip_us, packet_loss, packets, quality, reasons)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (customer, call_id, stream_key) DO NOTHING`),
			c.Customer, c.ID, st.Key, st.Direction, durPtr(st.Jitter), durPtr(st.RoundTrip), loss, packets,
			string(st.Quality), joinReasons(st.Reasons)); err != nil {
			return false, err
		}
	}
	days := []string{day}
	if oldDay != "" && oldDay != day {
		days = append(days, oldDay)
	}
	for _, d := range days {
		if err = s.recomputeDay(ctx, tx, c.Customer, d); err != nil {
			return false, err
		}
	}
	stored = true
	return true, tx.Commit()
}

// recomputeDay rewrites one day's aggregate from the stored calls.
func (s *Store) recomputeDay(ctx context.Context, tx *sql.Tx, customer, day string) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_qoe_daily WHERE customer = ? AND day = ?`), customer, day); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantgate_qoe_daily (customer, day, calls, poor, unclassified, jitter, packet_loss, round_trip)
		SELECT customer, day, count(*),
			coalesce(sum(CASE WHEN quality = 'poor' THEN 1 ELSE 0 END), 0),
			coalesce(sum(CASE WHEN quality = 'unclassified' THEN 1 ELSE 0 END), 0),
			coalesce(sum(jitter), 0), coalesce(sum(packet_loss), 0), coalesce(sum(round_trip), 0)
		FROM tenantgate_qoe_calls WHERE customer = ? AND day = ? GROUP BY customer, day`), customer, day)
	return err
}

// bumpLastSeen moves a subscription's newest call start forward.
func (s *Store) bumpLastSeen(ctx context.Context, customer string, start time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_qoe_subscriptions SET last_seen_start = ?
		WHERE customer = ? AND last_seen_start < ?`), start.UnixNano(), customer, start.UnixNano())
	return fence.Wrap(err, "qoe: record the newest call of "+strconv.Quote(customer))
}

// Purge deletes the calls (with their streams) that started before
// before, and the daily and PSTN aggregates of days before its day. It
// returns how many calls it deleted.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	cut := before.UnixNano()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_qoe_streams WHERE EXISTS (SELECT 1 FROM tenantgate_qoe_calls c
		WHERE c.customer = tenantgate_qoe_streams.customer AND c.id = tenantgate_qoe_streams.call_id AND c.start_at < ?)`), cut); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_qoe_calls WHERE start_at < ?`), cut)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	day := dayOf(before)
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_qoe_daily WHERE day < ?`), day); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_qoe_pstn WHERE day < ?`), day); err != nil {
		return 0, err
	}
	// The cut day keeps its aggregate, recomputed from the calls left.
	rows, err := tx.QueryContext(ctx, s.q(`SELECT customer FROM tenantgate_qoe_daily WHERE day = ?`), day)
	if err != nil {
		return 0, err
	}
	var customers []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return 0, err
		}
		customers = append(customers, c)
	}
	rows.Close()
	for _, c := range customers {
		if err := s.recomputeDay(ctx, tx, c, day); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
}

// ErrErased is the error of a write for a customer that was erased
// (DeleteCustomer) and not created again (Unfence): errors.Is matches it
// (it is tokenstore.ErrErased and every other store's too).
var ErrErased = fence.ErrErased

// fenceTable records the erased customers.
const fenceTable = "tenantgate_qoe_erased"

// DeleteCustomer deletes everything stored for customer and fences it:
// from then on every write of its rows fails with ErrErased, whatever
// raced the erase, until Unfence.
func (s *Store) DeleteCustomer(ctx context.Context, customer string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fence.Lock(ctx, tx, s.d, customer); err != nil {
		return err
	}
	if err := fence.Set(ctx, tx, s.d, fenceTable, customer, time.Now()); err != nil {
		return err
	}
	for _, t := range []string{"tenantgate_qoe_streams", "tenantgate_qoe_calls", "tenantgate_qoe_daily", "tenantgate_qoe_pstn", "tenantgate_qoe_subscriptions"} {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+t+` WHERE customer = ?`), customer); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Unfence lifts the customer's fence: it was created again, and may be
// stored for again.
func (s *Store) Unfence(ctx context.Context, customer string) error {
	return fence.Lift(ctx, s.db, s.d, fenceTable, customer)
}
