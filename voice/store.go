package voice

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/migrate"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// Store keeps each customer's number inventory, ranges, holds
// (reservations and quarantine) and operations in SQLite or PostgreSQL.
// Several replicas may share one PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	db    *sql.DB
	d     Dialect
	ownDB bool
}

// NewStore returns a Store on db, an open database of the given dialect,
// after migrating its tables. Close does not close db.
func NewStore(ctx context.Context, db *sql.DB, d Dialect, opts ...migrate.Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("voice: NewStore: nil *sql.DB")
	}
	if !d.Valid() {
		return nil, fmt.Errorf("voice: unknown dialect %v", d)
	}
	if err := migrate.Apply(ctx, db, d, migrate.NoMigrateIn(opts), Migrations()); err != nil {
		return nil, fmt.Errorf("voice: migrate %s schema: %w", d, err)
	}
	return &Store{db: db, d: d}, nil
}

// OpenSQLite opens (creating if needed) the SQLite database file at path
// with WAL, a 10 s busy timeout and immediate transactions, and migrates
// the tables. Close closes it.
func OpenSQLite(ctx context.Context, path string, opts ...migrate.Option) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, errors.New("voice: OpenSQLite needs a database file path")
	}
	db, err := sqldb.OpenSQLite(path, sqldb.SQLiteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("voice: open %s: %w", path, err)
	}
	s, err := NewStore(ctx, db, SQLite, opts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at dsn (a pool of at
// most 10 connections) and migrates the tables (migrate.NoMigrate only
// checks them). Close closes the pool.
func OpenPostgres(ctx context.Context, dsn string, opts ...migrate.Option) (*Store, error) {
	db, err := sqldb.OpenPostgres(dsn, 10)
	if err != nil {
		return nil, fmt.Errorf("voice: open PostgreSQL: %w", err) // never the DSN: it may hold a password
	}
	s, err := NewStore(ctx, db, Postgres, opts...)
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

// ---- ranges

// putRanges replaces customer's ranges with rs (already checked).
func (s *Store) putRanges(ctx context.Context, customer string, rs []Range) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_voice_ranges WHERE customer = ?`), customer); err != nil {
		return err
	}
	for _, r := range rs {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_ranges
			(customer, name, first_number, last_number, number_type, location_id, quarantine_days) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			customer, r.Name, r.From, r.To, string(r.Type), r.LocationID, r.QuarantineDays); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ranges returns customer's ranges ordered by their first number.
func (s *Store) ranges(ctx context.Context, customer string) ([]Range, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT name, first_number, last_number, number_type, location_id, quarantine_days
		FROM tenantgate_voice_ranges WHERE customer = ? ORDER BY first_number`), customer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Range{}
	for rows.Next() {
		var r Range
		var t string
		if err := rows.Scan(&r.Name, &r.From, &r.To, &t, &r.LocationID, &r.QuarantineDays); err != nil {
			return nil, err
		}
		r.Type = NumberType(t)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- inventory

// numberRow is a stored number.
type numberRow struct {
	Number, ID, Type, Activation, Status, TargetID, TargetUPN, Category, LocationID, Country, City string
	Capabilities                                                                                   []string
}

func rowOf(n graphNumber) numberRow {
	num, err := ParseNumber(n.TelephoneNumber)
	if err != nil {
		num = n.TelephoneNumber
	}
	return numberRow{Number: num, ID: n.ID, Type: n.NumberType, Activation: n.ActivationState, Status: n.AssignmentStatus,
		TargetID: n.AssignmentTargetID, Category: n.AssignmentCategory, LocationID: n.LocationID,
		Country: n.IsoCountryCode, City: n.City, Capabilities: n.Capabilities}
}

const numberCols = `number, id, number_type, activation_state, assignment_status, target_id, target_upn, capabilities, category, location_id, country, city`

// upsertNumbers writes rows of customer stamped at, in batches; a row
// whose target did not change keeps the UPN voice learnt.
func (s *Store) upsertNumbers(ctx context.Context, tx *sql.Tx, customer string, rows []numberRow, at time.Time) error {
	const batch = 400
	for len(rows) > 0 {
		n := min(batch, len(rows))
		var b strings.Builder
		b.WriteString(`INSERT INTO tenantgate_voice_numbers (customer, ` + numberCols + `, refreshed_at) VALUES `)
		args := make([]any, 0, n*14)
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
			args = append(args, customer, r.Number, r.ID, r.Type, r.Activation, r.Status, r.TargetID, r.TargetUPN,
				strings.Join(r.Capabilities, ","), r.Category, r.LocationID, r.Country, r.City, nanos(at))
		}
		b.WriteString(` ON CONFLICT (customer, number) DO UPDATE SET id = excluded.id, number_type = excluded.number_type,
			activation_state = excluded.activation_state, assignment_status = excluded.assignment_status,
			target_upn = CASE WHEN excluded.target_upn <> '' THEN excluded.target_upn
				WHEN tenantgate_voice_numbers.target_id = excluded.target_id THEN tenantgate_voice_numbers.target_upn ELSE '' END,
			target_id = excluded.target_id, capabilities = excluded.capabilities, category = excluded.category,
			location_id = excluded.location_id, country = excluded.country, city = excluded.city, refreshed_at = excluded.refreshed_at`)
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// putNumbers writes rows of customer (after an operation changed them).
func (s *Store) putNumbers(ctx context.Context, customer string, rows []numberRow, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.upsertNumbers(ctx, tx, customer, rows, at); err != nil {
		return err
	}
	return tx.Commit()
}

// replaceNumbers makes rows customer's whole inventory: it writes them in
// transactions of a few thousand rows, then deletes the rows this read
// did not see (stamped before at). Short transactions keep SQLite's one
// writer free for the others (audit, syncs) while a large inventory is
// written; each row is right on its own, and a failure part way leaves
// the previous rows in place, to be replaced by the next read.
func (s *Store) replaceNumbers(ctx context.Context, customer string, rows []numberRow, at time.Time) error {
	const perTx = 2000
	for len(rows) > 0 {
		n := min(perTx, len(rows))
		if err := s.putNumbers(ctx, customer, rows[:n], at); err != nil {
			return err
		}
		rows = rows[n:]
	}
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tenantgate_voice_numbers WHERE customer = ? AND refreshed_at < ?`), customer, nanos(at))
	return err
}

// Number is one telephone number of a customer's inventory: Microsoft's
// view as last read, and the provider's range, reservation and
// quarantine.
type Number struct {
	Number           string     `json:"number"`
	Type             NumberType `json:"type"`
	Status           string     `json:"status"` // assigned, unassigned
	AssignmentStatus string     `json:"assignmentStatus"`
	ActivationState  string     `json:"activationState"`
	User             *UserRef   `json:"user"`
	Category         string     `json:"category,omitempty"`
	City             string     `json:"city,omitempty"`
	Country          string     `json:"country,omitempty"`
	LocationID       string     `json:"locationId,omitempty"`
	Range            string     `json:"range,omitempty"`
	Reserved         bool       `json:"reserved"`
	QuarantinedUntil *time.Time `json:"quarantinedUntil"`
	// RefreshedAt is when the inventory was last read from Microsoft.
	RefreshedAt time.Time `json:"refreshedAt"`
}

// UserRef names a user.
type UserRef struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

// NumberQuery filters and pages the inventory. Zero fields do not
// filter.
type NumberQuery struct {
	// Status is "assigned" or "unassigned".
	Status string
	// Type is a number type.
	Type NumberType
	// Prefix keeps the numbers starting with it ("+3902").
	Prefix string
	// Range keeps the numbers of the named range.
	Range string
	// User keeps the numbers assigned to the user with this object ID or
	// user principal name.
	User string
	// Limit is the page size: default 100, at most 1,000.
	Limit int
	// After is the Next of the previous page.
	After string
}

// NumberPage is one page of the inventory.
type NumberPage struct {
	Numbers []Number `json:"numbers"`
	// Next continues the listing; empty on the last page.
	Next string `json:"next,omitempty"`
	// Total counts the numbers matching the filters.
	Total int `json:"total"`
}

// numbers lists customer's inventory.
func (s *Store) numbers(ctx context.Context, customer string, q NumberQuery, now time.Time) (NumberPage, error) {
	rs, err := s.ranges(ctx, customer)
	if err != nil {
		return NumberPage{}, err
	}
	where := []string{"n.customer = ?"}
	args := []any{customer}
	switch q.Status {
	case "":
	case "assigned":
		where = append(where, "n.assignment_status <> 'unassigned'")
	case "unassigned":
		where = append(where, "n.assignment_status = 'unassigned'")
	default:
		return NumberPage{}, refuse(CodeInvalid, "status", "must be assigned or unassigned")
	}
	if q.Type != "" {
		where, args = append(where, "n.number_type = ?"), append(args, string(q.Type))
	}
	if q.Prefix != "" {
		p := "+" + strings.TrimLeft(strings.TrimSpace(q.Prefix), "+")
		if strings.Trim(p[1:], "0123456789") != "" {
			return NumberPage{}, refuse(CodeInvalid, "prefix", "must be + and digits")
		}
		where, args = append(where, "n.number LIKE ?"), append(args, p+"%")
	}
	if q.Range != "" {
		r, ok := findRange(rs, q.Range)
		if !ok {
			return NumberPage{}, refuse(CodeUnknownRange, "range", "no range "+q.Range)
		}
		where = append(where, "length(n.number) = ? AND n.number >= ? AND n.number <= ?")
		args = append(args, len(r.From), r.From, r.To)
	}
	if q.User != "" {
		where = append(where, "(n.target_id = ? OR lower(n.target_upn) = ?)")
		args = append(args, q.User, strings.ToLower(q.User))
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM tenantgate_voice_numbers n WHERE `+strings.Join(where, " AND ")), args...).Scan(&total); err != nil {
		return NumberPage{}, err
	}
	if q.After != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.After)
		if err != nil {
			return NumberPage{}, refuse(CodeInvalid, "next", "not a cursor of this listing")
		}
		where, args = append(where, "n.number > ?"), append(args, string(b))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+prefixed("n.", numberCols)+`, n.refreshed_at, coalesce(h.kind, ''), coalesce(h.until, 0)
		FROM tenantgate_voice_numbers n LEFT JOIN tenantgate_voice_holds h ON h.customer = n.customer AND h.number = n.number AND h.until > ?
		WHERE `+strings.Join(where, " AND ")+` ORDER BY n.number LIMIT ?`), append(append([]any{nanos(now)}, args...), limit+1)...)
	if err != nil {
		return NumberPage{}, err
	}
	defer rows.Close()
	page := NumberPage{Numbers: []Number{}, Total: total}
	for rows.Next() {
		var r numberRow
		var caps, kind string
		var refreshed, until int64
		if err := rows.Scan(&r.Number, &r.ID, &r.Type, &r.Activation, &r.Status, &r.TargetID, &r.TargetUPN, &caps,
			&r.Category, &r.LocationID, &r.Country, &r.City, &refreshed, &kind, &until); err != nil {
			return NumberPage{}, err
		}
		n := Number{Number: r.Number, Type: NumberType(r.Type), Status: "unassigned", AssignmentStatus: r.Status,
			ActivationState: r.Activation, Category: r.Category, City: r.City, Country: r.Country, LocationID: r.LocationID,
			RefreshedAt: fromNanos(refreshed), Reserved: kind == holdReserved}
		if r.Status != "unassigned" {
			n.Status = "assigned"
			n.User = &UserRef{ID: r.TargetID, UserPrincipalName: r.TargetUPN}
		}
		if rg, ok := rangeOf(rs, r.Number); ok {
			n.Range = rg.Name
		}
		if kind == holdQuarantine {
			t := fromNanos(until)
			n.QuarantinedUntil = &t
		}
		page.Numbers = append(page.Numbers, n)
	}
	if err := rows.Err(); err != nil {
		return NumberPage{}, err
	}
	if len(page.Numbers) > limit {
		page.Numbers = page.Numbers[:limit]
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(page.Numbers[limit-1].Number))
	}
	return page, nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

func findRange(rs []Range, name string) (Range, bool) {
	for _, r := range rs {
		if strings.EqualFold(r.Name, name) {
			return r, true
		}
	}
	return Range{}, false
}

// RangeStats counts a range's numbers in the inventory.
type RangeStats struct {
	Range
	// Numbers in the inventory within the range; Free of them unassigned
	// at Microsoft and not held; Assigned, Reserved and Quarantined.
	Numbers, Free, Assigned, Reserved, Quarantined int
}

// rangeStats counts each of customer's ranges.
func (s *Store) rangeStats(ctx context.Context, customer string, now time.Time) ([]RangeStats, error) {
	rs, err := s.ranges(ctx, customer)
	if err != nil {
		return nil, err
	}
	out := make([]RangeStats, 0, len(rs))
	for _, r := range rs {
		st := RangeStats{Range: r}
		err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*),
			coalesce(sum(CASE WHEN n.assignment_status = 'unassigned' AND h.number IS NULL THEN 1 ELSE 0 END), 0),
			coalesce(sum(CASE WHEN n.assignment_status <> 'unassigned' THEN 1 ELSE 0 END), 0),
			coalesce(sum(CASE WHEN h.kind = 'reserved' THEN 1 ELSE 0 END), 0),
			coalesce(sum(CASE WHEN h.kind = 'quarantine' THEN 1 ELSE 0 END), 0)
			FROM tenantgate_voice_numbers n LEFT JOIN tenantgate_voice_holds h ON h.customer = n.customer AND h.number = n.number AND h.until > ?
			WHERE n.customer = ? AND length(n.number) = ? AND n.number >= ? AND n.number <= ?`),
			nanos(now), customer, len(r.From), r.From, r.To).Scan(&st.Numbers, &st.Free, &st.Assigned, &st.Reserved, &st.Quarantined)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// ---- holds

// The kinds of hold.
const (
	holdReserved   = "reserved"
	holdQuarantine = "quarantine"
)

// candidates returns up to n numbers of r that the inventory has
// unassigned and user-assignable, and that no live hold covers, lowest
// first.
func (s *Store) candidates(ctx context.Context, customer string, r Range, now time.Time, n int) ([]string, error) {
	return s.candidatesAfter(ctx, customer, r, "", now, n) // every stored number sorts after ""
}

// reserveNext holds for holder the lowest number of r that the inventory
// has unassigned and that no live hold covers; ok is false when there is
// none. Two callers, in one process or in two replicas, never get the
// same number: each claim is an insert under the holds' primary key.
func (s *Store) reserveNext(ctx context.Context, customer string, r Range, holder string, until, now time.Time) (string, bool, error) {
	for {
		cands, err := s.candidates(ctx, customer, r, now, 16)
		if err != nil || len(cands) == 0 {
			return "", false, err
		}
		for _, c := range cands {
			won, err := s.hold(ctx, customer, c, holdReserved, holder, until, now)
			if err != nil {
				return "", false, err
			}
			if won {
				return c, true, nil
			}
		}
		// Every candidate was taken meanwhile: read the next ones.
	}
}

// hold takes number for holder until until: it succeeds when no live hold
// of another holder covers the number (an expired one is replaced). The
// primary key makes the claim atomic across goroutines and replicas.
func (s *Store) hold(ctx context.Context, customer, number, kind, holder string, until, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_holds (customer, number, kind, holder, until, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (customer, number) DO UPDATE SET kind = excluded.kind, holder = excluded.holder, until = excluded.until, created_at = excluded.created_at
		WHERE tenantgate_voice_holds.until <= ? OR tenantgate_voice_holds.holder = excluded.holder`),
		customer, number, kind, holder, nanos(until), nanos(now), nanos(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// setQuarantine puts number in quarantine until until (replacing any
// hold).
func (s *Store) setQuarantine(ctx context.Context, customer, number, holder string, until, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_holds (customer, number, kind, holder, until, created_at)
		VALUES (?, ?, 'quarantine', ?, ?, ?)
		ON CONFLICT (customer, number) DO UPDATE SET kind = excluded.kind, holder = excluded.holder, until = excluded.until, created_at = excluded.created_at`),
		customer, number, holder, nanos(until), nanos(now))
	return err
}

// unhold drops holder's hold of number.
func (s *Store) unhold(ctx context.Context, customer, number, holder string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tenantgate_voice_holds WHERE customer = ? AND number = ? AND holder = ?`), customer, number, holder)
	return err
}

// holdOf returns the live hold of number, if any.
func (s *Store) holdOf(ctx context.Context, customer, number string, now time.Time) (kind, holder string, until time.Time, ok bool, err error) {
	var u int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT kind, holder, until FROM tenantgate_voice_holds WHERE customer = ? AND number = ? AND until > ?`),
		customer, number, nanos(now)).Scan(&kind, &holder, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", time.Time{}, false, nil
	}
	return kind, holder, fromNanos(u), err == nil, err
}

// ErrErased is the error of a write for a customer that DeleteCustomer
// erased and that was not created again (Unfence); it is
// tokenstore.ErrErased. Writes refused by the fence match it through
// fence-aware callers (the jobs stop; the API answers 409).
var ErrErased = fence.ErrErased

// fenceTable records the erased customers.
const fenceTable = "tenantgate_voice_erased"

// DeleteCustomer erases everything stored for customer and fences it, in
// one transaction: from then on every write of its rows is refused (an
// operation racing the offboarding leaves nothing behind) until Unfence.
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
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_voice_plan_items WHERE plan_id IN (SELECT id FROM tenantgate_voice_plans WHERE customer = ?)`), customer); err != nil {
		return err
	}
	for _, t := range []string{"tenantgate_voice_profiles", "tenantgate_voice_plans", "tenantgate_voice_apply_items", "tenantgate_voice_numbers", "tenantgate_voice_ranges", "tenantgate_voice_holds", "tenantgate_voice_operations", "tenantgate_voice_range_levels", "tenantgate_voice_summaries"} {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+t+` WHERE customer = ?`), customer); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Unfence lifts the fence DeleteCustomer put on the customer: it was
// created again.
func (s *Store) Unfence(ctx context.Context, customer string) error {
	return fence.Lift(ctx, s.db, s.d, fenceTable, customer)
}

// deleteNumber drops one number from customer's inventory.
func (s *Store) deleteNumber(ctx context.Context, customer, number string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tenantgate_voice_numbers WHERE customer = ? AND number = ?`), customer, number)
	return err
}

// customers lists the customers with ranges or numbers stored.
func (s *Store) customers(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT customer FROM tenantgate_voice_ranges UNION SELECT customer FROM tenantgate_voice_numbers`)
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
