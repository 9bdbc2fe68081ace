package sqlsink

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/usersync"
)

// ErrBadCursor is matched by errors for a ListOptions.After that no List
// call returned.
var ErrBadCursor = errors.New("sqlsink: invalid page cursor")

// DefaultPageSize is the page size of List when ListOptions.Limit is
// unset; MaxPageSize is the largest it allows.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// ListOptions pages through List. The zero value lists the first page
// with DefaultPageSize users.
type ListOptions struct {
	// After is Page.Next of the previous page; empty starts at the first.
	After string
	// Limit is the page size, at most MaxPageSize; zero or negative means
	// DefaultPageSize.
	Limit int
	// Match, when set, keeps only the users it accepts, for example a
	// compiled user filter's Plan.Match: a page holds up to Limit of
	// them, however many stored users it passes over.
	Match func(*usersync.User) bool
}

// Page is one page of a customer's synced users, ordered by
// UserPrincipalName. Next is empty on the last page.
type Page struct {
	Users []usersync.User
	Next  string
}

// scanBatch is how many rows List reads at a time when Match is set.
const scanBatch = 1000

// List returns one page of the customer's synced users, for the portal.
func (s *Sink) List(ctx context.Context, customer string, opts ListOptions) (Page, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	var upn, id string
	after := opts.After != ""
	if after {
		var err error
		if upn, id, err = decodeCursor(opts.After); err != nil {
			return Page{}, err
		}
	}
	batch := limit + 1
	if opts.Match != nil {
		batch = max(batch, scanBatch)
	}
	var p Page
	var lastUPN, lastID string
	for {
		rows, err := s.scan(ctx, customer, upn, id, after, batch)
		if err != nil {
			return Page{}, err
		}
		for _, r := range rows {
			if opts.Match != nil && !opts.Match(&r.user) {
				continue
			}
			if len(p.Users) == limit {
				p.Next = encodeCursor(lastUPN, lastID)
				return p, nil
			}
			p.Users = append(p.Users, r.user)
			lastUPN, lastID = r.upn, r.id
		}
		if len(rows) < batch {
			return p, nil
		}
		upn, id, after = rows[len(rows)-1].upn, rows[len(rows)-1].id, true
	}
}

type storedUser struct {
	upn, id string
	user    usersync.User
}

// scan reads up to n of the customer's users in listing order, after
// (upn, id) when after is set.
func (s *Sink) scan(ctx context.Context, customer, upn, id string, after bool, n int) ([]storedUser, error) {
	query := `SELECT user_principal_name, id, data FROM tenantgate_synced_users WHERE customer = ?`
	args := []any{customer}
	if after {
		query += ` AND (user_principal_name > ? OR (user_principal_name = ? AND id > ?))`
		args = append(args, upn, upn, id)
	}
	query += ` ORDER BY user_principal_name, id LIMIT ?`
	args = append(args, n)
	rows, err := s.db.QueryContext(ctx, s.dialect.Rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: list users of customer %q: %w", customer, err)
	}
	defer rows.Close()
	var out []storedUser
	for rows.Next() {
		var r storedUser
		var data string
		if err := rows.Scan(&r.upn, &r.id, &data); err != nil {
			return nil, fmt.Errorf("sqlsink: list users of customer %q: %w", customer, err)
		}
		if err := json.Unmarshal([]byte(data), &r.user); err != nil {
			return nil, fmt.Errorf("sqlsink: list users of customer %q: user %s: %w", customer, r.id, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlsink: list users of customer %q: %w", customer, err)
	}
	return out, nil
}

// CountMatching returns how many of the customer's synced users match
// accepts; it reads every stored user of the customer.
func (s *Sink) CountMatching(ctx context.Context, customer string, match func(*usersync.User) bool) (int, error) {
	n := 0
	var upn, id string
	after := false
	for {
		rows, err := s.scan(ctx, customer, upn, id, after, scanBatch)
		if err != nil {
			return 0, err
		}
		for i := range rows {
			if match(&rows[i].user) {
				n++
			}
		}
		if len(rows) < scanBatch {
			return n, nil
		}
		upn, id, after = rows[len(rows)-1].upn, rows[len(rows)-1].id, true
	}
}

// ByLineURI returns the customer's synced users whose Teams line URI is
// lineURI (for example "tel:+39020000024"), through the line URI index.
func (s *Sink) ByLineURI(ctx context.Context, customer, lineURI string) ([]usersync.User, error) {
	rows, err := s.db.QueryContext(ctx, s.dialect.Rebind(`SELECT id, data FROM tenantgate_synced_users
		WHERE customer = ? AND line_uri = ? ORDER BY user_principal_name, id`), customer, lineURI)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: users by line URI of customer %q: %w", customer, err)
	}
	defer rows.Close()
	var out []usersync.User
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("sqlsink: users by line URI of customer %q: %w", customer, err)
		}
		var u usersync.User
		if err := json.Unmarshal([]byte(data), &u); err != nil {
			return nil, fmt.Errorf("sqlsink: users by line URI of customer %q: user %s: %w", customer, id, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func encodeCursor(upn, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(upn + "\x00" + id))
}

func decodeCursor(c string) (upn, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", ErrBadCursor
	}
	upn, id, ok := strings.Cut(string(b), "\x00")
	if !ok || id == "" {
		return "", "", ErrBadCursor
	}
	return upn, id, nil
}

// Count returns the number of the customer's synced users.
func (s *Sink) Count(ctx context.Context, customer string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.dialect.Rebind(
		`SELECT count(*) FROM tenantgate_synced_users WHERE customer = ?`), customer).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlsink: count users of customer %q: %w", customer, err)
	}
	return n, nil
}

// PassState is the state of a customer's latest pass.
type PassState string

// The pass states.
const (
	PassRunning   PassState = "running"
	PassCommitted PassState = "committed"
	PassAborted   PassState = "aborted"
)

// PassInfo describes a customer's latest pass, for the portal's sync
// status.
type PassInfo struct {
	Generation int64
	State      PassState
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	// Counts and CommittedAt are those of the last committed pass, which
	// may be older than the latest pass.
	Counts      usersync.Counts
	CommittedAt time.Time // zero if no pass was ever committed
}

// ErrNoPass is returned by LastPass for a customer never synced.
var ErrNoPass = errors.New("sqlsink: customer never synced")

// LastPass describes the customer's latest pass.
func (s *Sink) LastPass(ctx context.Context, customer string) (PassInfo, error) {
	var pi PassInfo
	var state string
	var started, finished, committed int64
	err := s.db.QueryRowContext(ctx, s.dialect.Rebind(`SELECT generation, state, started_at, finished_at,
			added, changed, unchanged, removed, committed_at
		FROM tenantgate_user_sync_passes WHERE customer = ?`), customer).Scan(
		&pi.Generation, &state, &started, &finished,
		&pi.Counts.Added, &pi.Counts.Changed, &pi.Counts.Unchanged, &pi.Counts.Removed, &committed)
	if errors.Is(err, sql.ErrNoRows) {
		return PassInfo{}, ErrNoPass
	}
	if err != nil {
		return PassInfo{}, fmt.Errorf("sqlsink: last pass of customer %q: %w", customer, err)
	}
	pi.State = PassState(state)
	pi.StartedAt = nanos(started)
	pi.FinishedAt = nanos(finished)
	pi.CommittedAt = nanos(committed)
	return pi, nil
}

func nanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
