package sqlsink

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/migrate"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/usersync"
)

// ErrSuperseded is returned by a pass's Put and Commit when a newer pass
// of the same customer began meanwhile. The superseded pass removes
// nothing; the newer one decides.
var ErrSuperseded = errors.New("sqlsink: a newer sync pass of this customer began")

// Sink is a usersync.Sink on a SQL database. It is safe for concurrent use.
type Sink struct {
	db      *sql.DB
	dialect Dialect
	ownDB   bool
	now     func() time.Time
	// noCopy makes Put on PostgreSQL write with multi-row INSERTs, as on
	// SQLite (tests and benchmarks compare the two).
	noCopy bool
}

var _ usersync.Sink = (*Sink)(nil)

// New returns a Sink on db, an open database of the given dialect (for
// example the tokenstore's PostgreSQL pool through pgx's
// stdlib.OpenDBFromPool), after migrating its tables. Close does not close
// db.
func New(ctx context.Context, db *sql.DB, d Dialect, opts ...migrate.Option) (*Sink, error) {
	if d != SQLite && d != Postgres {
		return nil, fmt.Errorf("sqlsink: unknown dialect %v", d)
	}
	if err := migrate.Apply(ctx, db, d, migrate.NoMigrateIn(opts), Migrations()); err != nil {
		return nil, fmt.Errorf("sqlsink: migrate %s schema: %w", d, err)
	}
	return &Sink{db: db, dialect: d, now: time.Now}, nil
}

// OpenSQLite opens (creating if needed) the SQLite database file at path,
// for example the tokenstore's, with WAL, a 10 s busy timeout and
// immediate transactions, and migrates the sink's tables. Close closes it.
func OpenSQLite(ctx context.Context, path string, opts ...migrate.Option) (*Sink, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, errors.New("sqlsink: OpenSQLite needs a database file path; for an in-memory sink use usersync.MemorySink")
	}
	db, err := sqldb.OpenSQLite(path, sqldb.SQLiteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlsink: open %s: %w", path, err)
	}
	s, err := New(ctx, db, SQLite, opts...)
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
	// MaxConns caps the pool's open connections; zero means 10 (a sync
	// pass holds one connection at a time).
	MaxConns int
	// NoMigrate makes OpenPostgres check that the tables are current
	// instead of migrating them (see package migrate).
	NoMigrate bool
}

// OpenPostgres connects to the PostgreSQL database at dsn (a pgx
// connection string or URL) with a pool bounded by opts.MaxConns and
// migrates the sink's tables. Close closes the connection pool.
func OpenPostgres(ctx context.Context, dsn string, opts PostgresOptions) (*Sink, error) {
	db, err := sqldb.OpenPostgres(dsn, opts.MaxConns)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: open PostgreSQL: %w", err) // never the DSN: it may hold a password
	}
	var mopts []migrate.Option
	if opts.NoMigrate {
		mopts = append(mopts, migrate.NoMigrate())
	}
	s, err := New(ctx, db, Postgres, mopts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

// Close closes the database if the Sink opened it (OpenSQLite,
// OpenPostgres).
func (s *Sink) Close() error {
	if !s.ownDB {
		return nil
	}
	return s.db.Close()
}

// Begin starts a pass over the customer's users: it takes the customer's
// next generation, which supersedes any pass of the customer still
// running.
func (s *Sink) Begin(ctx context.Context, customer string) (usersync.Pass, error) {
	if customer == "" {
		return nil, errors.New("sqlsink: begin: empty customer ID")
	}
	now := s.now().UnixNano()
	var gen int64
	// The upsert locks the customer's pass row before its trigger takes
	// the fence lock: take that first (fence.LockShared).
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: begin pass of customer %q: %w", customer, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fence.LockShared(ctx, tx, s.dialect, customer); err != nil {
		return nil, fmt.Errorf("sqlsink: begin pass of customer %q: %w", customer, err)
	}
	err = tx.QueryRowContext(ctx, s.dialect.Rebind(`
		INSERT INTO tenantgate_user_sync_passes AS p
			(customer, generation, state, started_at, finished_at, added, changed, unchanged, removed, committed_at)
		VALUES (?, 1, 'running', ?, 0, 0, 0, 0, 0, 0)
		ON CONFLICT (customer) DO UPDATE SET
			generation = p.generation + 1, state = 'running', started_at = excluded.started_at, finished_at = 0
		RETURNING generation`), customer, now).Scan(&gen)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return nil, fence.Wrap(fmt.Errorf("sqlsink: begin pass of customer %q: %w", customer, err), "sqlsink: begin pass of customer "+strconv.Quote(customer))
	}
	return &pass{sink: s, customer: customer, gen: gen}, nil
}

type pass struct {
	sink     *Sink
	customer string
	gen      int64
	counts   usersync.Counts
	cp       *usersync.Checkpoint // stored at Commit; nil clears
	done     bool
}

// maxRows bounds the rows of one multi-row statement: 10 parameters a row
// stays far below SQLite's 32,766 and PostgreSQL's 65,535.
const maxRows = 500

type row struct {
	u    *usersync.User
	hash string
}

func (p *pass) Put(ctx context.Context, users []usersync.User) (c usersync.Counts, err error) {
	defer func() { err = fence.Wrap(err, "sqlsink: customer "+strconv.Quote(p.customer)) }()
	if p.done {
		return c, errors.New("sqlsink: put after the pass ended")
	}
	s, d := p.sink, p.sink.dialect
	// Last occurrence wins when a batch names a user twice.
	rows := make(map[string]row, len(users))
	ids := make([]string, 0, len(users))
	for i := range users {
		u := &users[i]
		if u.ID == "" {
			return c, fmt.Errorf("sqlsink: user %q has no ID", u.UserPrincipalName)
		}
		h := u.Hash()
		if _, dup := rows[u.ID]; !dup {
			ids = append(ids, u.ID)
		}
		rows[u.ID] = row{u: u, hash: hex.EncodeToString(h[:])}
	}
	if d == Postgres && !s.noCopy {
		c, err := p.putCopy(ctx, ids, rows)
		if !errors.Is(err, errNotPgx) {
			if err == nil {
				p.counts = p.counts.Add(c)
			}
			return c, err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("sqlsink: put: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := p.checkCurrent(ctx, tx); err != nil {
		return c, err
	}
	stored := make(map[string]string, len(ids))
	for chunk := range slices.Chunk(ids, maxRows) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, p.customer)
		for _, id := range chunk {
			args = append(args, id)
		}
		rs, err := tx.QueryContext(ctx, d.Rebind(`SELECT id, hash FROM tenantgate_synced_users
			WHERE customer = ? AND id IN `+placeholders(1, len(chunk))), args...)
		if err != nil {
			return c, fmt.Errorf("sqlsink: put: %w", err)
		}
		for rs.Next() {
			var id, h string
			if err := rs.Scan(&id, &h); err != nil {
				rs.Close()
				return c, fmt.Errorf("sqlsink: put: %w", err)
			}
			stored[id] = h
		}
		if err := rs.Err(); err != nil {
			return c, fmt.Errorf("sqlsink: put: %w", err)
		}
		rs.Close()
	}
	var write, same []string
	for _, id := range ids {
		h, ok := stored[id]
		switch {
		case !ok:
			c.Added++
			write = append(write, id)
		case h != rows[id].hash:
			c.Changed++
			write = append(write, id)
		default:
			c.Unchanged++
			same = append(same, id)
		}
	}
	now := s.now().UnixNano()
	for chunk := range slices.Chunk(write, maxRows) {
		args := make([]any, 0, 10*len(chunk))
		for _, id := range chunk {
			r := rows[id]
			data, err := json.Marshal(r.u)
			if err != nil {
				return c, fmt.Errorf("sqlsink: put: %w", err)
			}
			lineURI, voice := teamsColumns(r.u)
			args = append(args, p.customer, id, r.u.UserPrincipalName, r.u.DisplayName, string(data), r.hash, p.gen, now, lineURI, voice)
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO tenantgate_synced_users
			(customer, id, user_principal_name, display_name, data, hash, generation, updated_at, line_uri, enterprise_voice_enabled)
			VALUES `+placeholders(len(chunk), 10)+`
			ON CONFLICT (customer, id) DO UPDATE SET
				user_principal_name = excluded.user_principal_name, display_name = excluded.display_name,
				data = excluded.data, hash = excluded.hash, generation = excluded.generation,
				updated_at = excluded.updated_at, line_uri = excluded.line_uri,
				enterprise_voice_enabled = excluded.enterprise_voice_enabled`), args...); err != nil {
			return c, fmt.Errorf("sqlsink: put: %w", err)
		}
	}
	for chunk := range slices.Chunk(same, maxRows) {
		args := make([]any, 0, len(chunk)+2)
		args = append(args, p.gen, p.customer)
		for _, id := range chunk {
			args = append(args, id)
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`UPDATE tenantgate_synced_users SET generation = ?
			WHERE customer = ? AND id IN `+placeholders(1, len(chunk))), args...); err != nil {
			return c, fmt.Errorf("sqlsink: put: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return c, fmt.Errorf("sqlsink: put: %w", err)
	}
	p.counts = p.counts.Add(c)
	return c, nil
}

// checkCurrent fails with ErrSuperseded unless this pass's generation is
// still the customer's latest. It is the first statement of every write
// transaction of a pass, so it takes the fence lock first
// (fence.LockShared): the transaction then deletes and updates rows of the
// customer before its fenced inserts.
func (p *pass) checkCurrent(ctx context.Context, tx *sql.Tx) error {
	if err := fence.LockShared(ctx, tx, p.sink.dialect, p.customer); err != nil {
		return fmt.Errorf("sqlsink: check pass: %w", err)
	}
	var gen int64
	err := tx.QueryRowContext(ctx, p.sink.dialect.Rebind(
		`SELECT generation FROM tenantgate_user_sync_passes WHERE customer = ?`), p.customer).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrSuperseded // purged since it began
	}
	if err != nil {
		return fmt.Errorf("sqlsink: check pass: %w", err)
	}
	if gen != p.gen {
		return ErrSuperseded
	}
	return nil
}

func (p *pass) Commit(ctx context.Context) (c usersync.Counts, err error) {
	defer func() { err = fence.Wrap(err, "sqlsink: customer "+strconv.Quote(p.customer)) }()
	if p.done {
		return c, errors.New("sqlsink: commit after the pass ended")
	}
	s, d := p.sink, p.sink.dialect
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("sqlsink: commit: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := p.checkCurrent(ctx, tx); err != nil {
		return c, err
	}
	res, err := tx.ExecContext(ctx, d.Rebind(`DELETE FROM tenantgate_synced_users WHERE customer = ? AND generation <> ?`),
		p.customer, p.gen)
	if err != nil {
		return c, fmt.Errorf("sqlsink: commit: remove unseen users: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return c, fmt.Errorf("sqlsink: commit: %w", err)
	}
	c = p.counts
	c.Removed = int(n)
	if err := p.writeCheckpoint(ctx, tx); err != nil {
		return c, err
	}
	now := s.now().UnixNano()
	if _, err := tx.ExecContext(ctx, d.Rebind(`UPDATE tenantgate_user_sync_passes SET
			state = 'committed', finished_at = ?, committed_at = ?, added = ?, changed = ?, unchanged = ?, removed = ?
		WHERE customer = ? AND generation = ?`),
		now, now, c.Added, c.Changed, c.Unchanged, c.Removed, p.customer, p.gen); err != nil {
		return c, fmt.Errorf("sqlsink: commit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return c, fmt.Errorf("sqlsink: commit: %w", err)
	}
	p.done = true
	return c, nil
}

func (p *pass) Abort(ctx context.Context) error {
	if p.done {
		return nil
	}
	p.done = true
	_, err := p.sink.db.ExecContext(ctx, p.sink.dialect.Rebind(`UPDATE tenantgate_user_sync_passes
		SET state = 'aborted', finished_at = ? WHERE customer = ? AND generation = ?`),
		p.sink.now().UnixNano(), p.customer, p.gen)
	if err != nil {
		return fmt.Errorf("sqlsink: abort: %w", err)
	}
	return nil
}

// teamsColumns returns the line_uri and voice column values of u: NULL
// (nil) without a Teams configuration, and line_uri NULL without a number.
func teamsColumns(u *usersync.User) (lineURI, voice any) {
	if t := u.Teams; t != nil {
		voice = t.EnterpriseVoiceEnabled
		if l := t.LineURI(); l != "" {
			lineURI = l
		}
	}
	return lineURI, voice
}
