package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/migrate"
)

// sessionStore keeps the portal's signed-in sessions and its sign-ins under
// way in the portal's database, so that every replica behind a load
// balancer knows them: a browser signed in at one replica is signed in at
// all, and Microsoft's callback may reach another replica than the one
// that started the sign-in.
//
// Nothing in it is a credential: a session is found by the SHA-256 of its
// cookie (32 random bytes), a sign-in by the SHA-256 of its state, and the
// sign-in's PKCE verifier is not kept at all: it is derived from the
// browser's binding cookie (pkceVerifier), which only that browser holds.
type sessionStore struct {
	db *sql.DB
	d  sqldb.Dialect
}

// sessionMigrations is the schema history of the portal's sessions and
// sign-ins (the portal's own line, applied with the packages' ones).
func sessionMigrations() migrate.Line {
	return migrate.Line{Name: "portal_sessions", Steps: [][]string{{
		`CREATE TABLE tenantgate_portal_sessions (
			hash        TEXT   NOT NULL PRIMARY KEY, -- hex SHA-256 of the cookie value
			kind        TEXT   NOT NULL,
			principal   TEXT   NOT NULL, -- the technician's object ID, the token's ID or ''
			name        TEXT   NOT NULL,
			username    TEXT   NOT NULL,
			role        TEXT   NOT NULL,
			expires_at  BIGINT NOT NULL, -- Unix seconds: the absolute end
			last_seen   BIGINT NOT NULL  -- Unix seconds, to the minute
		)`,
		`CREATE TABLE tenantgate_portal_signins (
			state_hash   TEXT   NOT NULL PRIMARY KEY, -- hex SHA-256 of the state
			binding_hash TEXT   NOT NULL,             -- hex SHA-256 of the browser's flow cookie
			nonce        TEXT   NOT NULL,
			next         TEXT   NOT NULL,
			expires_at   BIGINT NOT NULL               -- Unix seconds
		)`,
	}}}
}

func openSessionStore(ctx context.Context, db *sql.DB, d sqldb.Dialect, noMigrate bool) (*sessionStore, error) {
	if err := migrate.Apply(ctx, db, d, noMigrate, sessionMigrations()); err != nil {
		return nil, fmt.Errorf("the session tables: %w", err)
	}
	return &sessionStore{db: db, d: d}, nil
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// touchEvery is how often a session's last request is written down: the
// idle limit is kept to the minute, not to the request.
const touchEvery = time.Minute

// put stores a new session for the cookie value and removes the ones that
// ended (by either limit) by now.
func (s *sessionStore) put(ctx context.Context, value string, who principal, now time.Time, ttl, idle time.Duration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store the session: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.d.Rebind(`DELETE FROM tenantgate_portal_sessions WHERE expires_at <= ? OR last_seen <= ?`),
		now.Unix(), now.Add(-idle).Unix()); err != nil {
		return fmt.Errorf("store the session: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.d.Rebind(`INSERT INTO tenantgate_portal_sessions
		(hash, kind, principal, name, username, role, expires_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		hexSHA256(value), who.Kind, who.ID, who.Name, who.Username, string(who.Role), now.Add(ttl).Unix(), now.Unix()); err != nil {
		return fmt.Errorf("store the session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store the session: %w", err)
	}
	return nil
}

// get returns the live session of the cookie value, recording the request
// (to the minute); ok is false when there is none or it ended, and an
// ended one is removed.
func (s *sessionStore) get(ctx context.Context, value string, now time.Time, idle time.Duration) (who principal, ok bool, err error) {
	h := hexSHA256(value)
	var role string
	var expires, seen int64
	err = s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT kind, principal, name, username, role, expires_at, last_seen
		FROM tenantgate_portal_sessions WHERE hash = ?`), h).Scan(&who.Kind, &who.ID, &who.Name, &who.Username, &role, &expires, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return principal{}, false, nil
	}
	if err != nil {
		return principal{}, false, fmt.Errorf("read the session: %w", err)
	}
	last := time.Unix(seen, 0)
	if now.Unix() >= expires || now.Sub(last) >= idle {
		_, _ = s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM tenantgate_portal_sessions WHERE hash = ?`), h)
		return principal{}, false, nil
	}
	if now.Sub(last) >= touchEvery {
		// Best effort: a busy database does not sign anyone out.
		_, _ = s.db.ExecContext(ctx, s.d.Rebind(`UPDATE tenantgate_portal_sessions SET last_seen = ? WHERE hash = ?`), now.Unix(), h)
	}
	who.Role = httpapi.Role(role)
	who.Session = true
	return who, true, nil
}

// remove ends the session of the cookie value.
func (s *sessionStore) remove(ctx context.Context, value string) error {
	if _, err := s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM tenantgate_portal_sessions WHERE hash = ?`), hexSHA256(value)); err != nil {
		return fmt.Errorf("end the session: %w", err)
	}
	return nil
}

// maxSignIns bounds the sign-ins under way, so that an anonymous client
// starting sign-ins in a loop cannot fill the database.
const maxSignIns = 10000

// errTooManySignIns is begin's answer past maxSignIns.
var errTooManySignIns = errors.New("too many sign-ins under way; try again in a few minutes")

// putSignIn records a started sign-in, removing those that expired.
func (s *sessionStore) putSignIn(ctx context.Context, state string, f signInFlow) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record the sign-in: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	now := f.expires.Add(-signInFlowTTL)
	if _, err := tx.ExecContext(ctx, s.d.Rebind(`DELETE FROM tenantgate_portal_signins WHERE expires_at < ?`), now.Unix()); err != nil {
		return fmt.Errorf("record the sign-in: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenantgate_portal_signins`).Scan(&n); err != nil {
		return fmt.Errorf("record the sign-in: %w", err)
	}
	if n >= maxSignIns {
		return errTooManySignIns
	}
	if _, err := tx.ExecContext(ctx, s.d.Rebind(`INSERT INTO tenantgate_portal_signins (state_hash, binding_hash, nonce, next, expires_at)
		VALUES (?, ?, ?, ?, ?)`), hexSHA256(state), hex.EncodeToString(f.binding[:]), f.nonce, f.next, f.expires.Unix()); err != nil {
		return fmt.Errorf("record the sign-in: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record the sign-in: %w", err)
	}
	return nil
}

// takeSignIn returns and removes the sign-in started with state: each is
// used once, whichever replica the callback reaches. ok is false when none
// is recorded.
func (s *sessionStore) takeSignIn(ctx context.Context, state string) (f signInFlow, ok bool, err error) {
	h := hexSHA256(state)
	var binding string
	var expires int64
	err = s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT binding_hash, nonce, next, expires_at FROM tenantgate_portal_signins WHERE state_hash = ?`), h).
		Scan(&binding, &f.nonce, &f.next, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return signInFlow{}, false, nil
	}
	if err != nil {
		return signInFlow{}, false, fmt.Errorf("read the sign-in: %w", err)
	}
	// The DELETE decides who used it: of two callbacks racing with one
	// state, at most one removes the row.
	res, err := s.db.ExecContext(ctx, s.d.Rebind(`DELETE FROM tenantgate_portal_signins WHERE state_hash = ?`), h)
	if err != nil {
		return signInFlow{}, false, fmt.Errorf("use the sign-in: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return signInFlow{}, false, nil
	}
	b, err := hex.DecodeString(binding)
	if err != nil || len(b) != len(f.binding) {
		return signInFlow{}, false, nil
	}
	copy(f.binding[:], b)
	f.expires = time.Unix(expires, 0)
	return f, true, nil
}

// pkceVerifier is the PKCE code verifier of the sign-in started by the
// browser holding binding (its flow cookie, 32 random bytes): 43
// characters of base64url, as RFC 7636 asks, never stored anywhere.
func pkceVerifier(binding string) string {
	sum := sha256.Sum256([]byte("tenantgate portal PKCE verifier\x00" + binding))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
