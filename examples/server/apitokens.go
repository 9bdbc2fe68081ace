package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/migrate"
)

// apiTokenPrefix starts every named API token, so a leaked one is easy
// to recognise (and secret scanners can be taught it).
const apiTokenPrefix = "tgk_"

// maxAPITokenName bounds a token's name, in bytes.
const maxAPITokenName = 64

// apiToken is a named API token as stored: never its value, only the
// SHA-256 of it (the value is 32 random bytes, so a fast hash is enough:
// there is nothing to guess).
type apiToken struct {
	ID        string
	Name      string
	Role      httpapi.Role
	CreatedBy string
	Created   time.Time
	Expires   time.Time // zero: never
	Revoked   time.Time // zero: live
	LastUsed  time.Time // zero: never used
}

// live reports whether t may be used at now.
func (t apiToken) live(now time.Time) bool {
	return t.Revoked.IsZero() && (t.Expires.IsZero() || now.Before(t.Expires))
}

// state is the token's state for the page: active, expired or revoked.
func (t apiToken) state(now time.Time) string {
	switch {
	case !t.Revoked.IsZero():
		return "revoked"
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return "expired"
	}
	return "active"
}

// apiTokenStore keeps the named API tokens in the portal's database.
type apiTokenStore struct {
	db  *sql.DB
	d   sqldb.Dialect
	now func() time.Time
}

// apiTokenMigrations is the token table's schema history (the portal's
// own line, applied with the packages' ones).
func apiTokenMigrations() migrate.Line {
	return migrate.Line{Name: "portal_api_tokens", Steps: [][]string{{
		`CREATE TABLE tenantgate_portal_api_tokens (
			id         TEXT   NOT NULL PRIMARY KEY,
			name       TEXT   NOT NULL,
			role       TEXT   NOT NULL,
			hash       TEXT   NOT NULL UNIQUE, -- hex SHA-256 of the token
			created_by TEXT   NOT NULL,
			created_at BIGINT NOT NULL, -- Unix seconds
			expires_at BIGINT NOT NULL, -- Unix seconds; 0: never
			revoked_at BIGINT NOT NULL, -- Unix seconds; 0: live
			last_used  BIGINT NOT NULL  -- Unix seconds; 0: never
		)`,
	}}}
}

func openAPITokens(ctx context.Context, db *sql.DB, d sqldb.Dialect, noMigrate bool, now func() time.Time) (*apiTokenStore, error) {
	if err := migrate.Apply(ctx, db, d, noMigrate, apiTokenMigrations()); err != nil {
		return nil, fmt.Errorf("the API token table: %w", err)
	}
	return &apiTokenStore{db: db, d: d, now: now}, nil
}

// errTokenName is a name the store refuses.
var errTokenName = errors.New("name the token: 1 to 64 characters of letters, digits, spaces, '-', '_' or '.'")

// errTokenInput is a role or expiry the store refuses.
var errTokenInput = errors.New("invalid token")

// checkTokenName accepts the names a person reads in the audit trail.
func checkTokenName(name string) error {
	if name == "" || len(name) > maxAPITokenName || !utf8.ValidString(name) {
		return errTokenName
	}
	for _, r := range name {
		ok := r == ' ' || r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return errTokenName
		}
	}
	return nil
}

func hashToken(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// create makes a token and returns it with its value, which is shown
// once and kept nowhere.
func (s *apiTokenStore) create(ctx context.Context, name string, role httpapi.Role, expires time.Time, by string) (apiToken, string, error) {
	name = strings.TrimSpace(name)
	if err := checkTokenName(name); err != nil {
		return apiToken{}, "", err
	}
	if !role.Valid() {
		return apiToken{}, "", fmt.Errorf("%w: choose a role: viewer, operator or admin", errTokenInput)
	}
	now := s.now().UTC().Truncate(time.Second)
	if !expires.IsZero() && !expires.After(now) {
		return apiToken{}, "", fmt.Errorf("%w: the expiry must be in the future", errTokenInput)
	}
	var idb [6]byte
	var secret [32]byte
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(secret[:])
	id := hex.EncodeToString(idb[:])
	value := apiTokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	t := apiToken{ID: id, Name: name, Role: role, CreatedBy: by, Created: now, Expires: expires.UTC().Truncate(time.Second)}
	_, err := s.db.ExecContext(ctx, s.d.Rebind(`INSERT INTO tenantgate_portal_api_tokens
		(id, name, role, hash, created_by, created_at, expires_at, revoked_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)`),
		t.ID, t.Name, string(t.Role), hashToken(value), t.CreatedBy, t.Created.Unix(), unixOrZero(t.Expires))
	if err != nil {
		return apiToken{}, "", fmt.Errorf("store the token: %w", err)
	}
	return t, value, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

const apiTokenColumns = `id, name, role, created_by, created_at, expires_at, revoked_at, last_used`

func scanToken(sc interface{ Scan(...any) error }) (apiToken, error) {
	var t apiToken
	var role string
	var created, expires, revoked, used int64
	if err := sc.Scan(&t.ID, &t.Name, &role, &t.CreatedBy, &created, &expires, &revoked, &used); err != nil {
		return apiToken{}, err
	}
	t.Role, t.Created, t.Expires, t.Revoked, t.LastUsed = httpapi.Role(role), timeOrZero(created), timeOrZero(expires), timeOrZero(revoked), timeOrZero(used)
	return t, nil
}

// list returns every token, newest first.
func (s *apiTokenStore) list(ctx context.Context) ([]apiToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+apiTokenColumns+` FROM tenantgate_portal_api_tokens ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []apiToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// errNoToken: no token has that ID (or value).
var errNoToken = errors.New("no such API token")

// get returns the token id.
func (s *apiTokenStore) get(ctx context.Context, id string) (apiToken, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT `+apiTokenColumns+` FROM tenantgate_portal_api_tokens WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return apiToken{}, errNoToken
	}
	return t, err
}

// revoke ends the token id; revoking a revoked token keeps its first
// revocation time.
func (s *apiTokenStore) revoke(ctx context.Context, id string) (apiToken, error) {
	if _, err := s.db.ExecContext(ctx, s.d.Rebind(`UPDATE tenantgate_portal_api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`),
		s.now().Unix(), id); err != nil {
		return apiToken{}, err
	}
	return s.get(ctx, id)
}

// lastUsedEvery bounds how often a token's last use is written.
const lastUsedEvery = time.Minute

// lookup returns the live token whose value is value; errNoToken when
// none is (unknown, revoked or expired).
func (s *apiTokenStore) lookup(ctx context.Context, value string) (apiToken, error) {
	if !strings.HasPrefix(value, apiTokenPrefix) || len(value) > 128 {
		return apiToken{}, errNoToken
	}
	t, err := scanToken(s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT `+apiTokenColumns+` FROM tenantgate_portal_api_tokens WHERE hash = ?`), hashToken(value)))
	if errors.Is(err, sql.ErrNoRows) {
		return apiToken{}, errNoToken
	}
	if err != nil {
		return apiToken{}, err
	}
	now := s.now()
	if !t.live(now) {
		return apiToken{}, errNoToken
	}
	if now.Sub(t.LastUsed) >= lastUsedEvery {
		// Best effort: a busy database does not refuse the request.
		_, _ = s.db.ExecContext(ctx, s.d.Rebind(`UPDATE tenantgate_portal_api_tokens SET last_used = ? WHERE id = ?`), now.Unix(), t.ID)
	}
	return t, nil
}

// sqldbDialect is the dialect of the portal's database in mode.
func sqldbDialect(mode string) sqldb.Dialect {
	if mode == modeProduction {
		return sqldb.Postgres
	}
	return sqldb.SQLite
}
