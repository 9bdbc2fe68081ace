package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// WriterWait is how long a writer waits for its turn at a SQLite file's
// write gate before it gives up with an error IsBusy recognises.
const WriterWait = time.Minute

// ErrWriterWait is returned (wrapped) by a write that waited WriterWait
// for its turn. IsBusy reports true for it: the write can be tried again.
var ErrWriterWait = errors.New("database is locked: waited for the other writers of this file")

// OpenSQLite opens the SQLite database file at path through
// modernc.org/sqlite with the data source name dsn (SQLiteDSN, or a
// package's own with its pragmas).
//
// SQLite has one writer per file. Several pools of one process (the token
// store, the user sink, the QoE and voice stores, the audit) share the
// file, and SQLite's busy handler makes a blocked writer sleep and poll:
// a steady run of short transactions in one pool can starve another
// pool's writer past the busy timeout (SQLITE_BUSY). So every pool that
// OpenSQLite opens on the same file queues its writers at one gate, in
// arrival order: a transaction that is not read-only holds the gate from
// BEGIN to COMMIT or ROLLBACK, and a statement run outside a transaction
// holds it while it runs unless it is a plain SELECT. Readers never wait
// at the gate (WAL lets them read beside the writer). Other processes on
// the same file still meet SQLite's busy timeout.
//
// A writer that waits WriterWait at the gate fails with ErrWriterWait;
// code that writes through another pool while holding a transaction
// therefore fails after that wait instead of hanging.
func OpenSQLite(path, dsn string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", path, err)
	}
	db := sql.OpenDB(&gatedConnector{dsn: dsn, gate: gateFor(filepath.Clean(abs))})
	// Keep connections for the next statement: database/sql keeps two
	// idle by default, and each new SQLite connection runs the DSN's
	// pragmas and parses the schema again. A voice apply of 64 users at
	// a time opened and closed connections all along (a quarter of its
	// CPU; docs/benchmarks.md, issue 24).
	db.SetMaxIdleConns(SQLiteMaxIdleConns)
	return db, nil
}

// SQLiteMaxIdleConns is how many idle connections a pool opened by
// OpenSQLite keeps.
const SQLiteMaxIdleConns = 16

var (
	gatesMu sync.Mutex
	gates   = map[string]*gate{}
)

// gate is a FIFO mutex with a context: goroutines blocked sending on a
// channel are served in arrival order.
type gate struct {
	path string
	ch   chan struct{}
}

func gateFor(path string) *gate {
	gatesMu.Lock()
	defer gatesMu.Unlock()
	g, ok := gates[path]
	if !ok {
		g = &gate{path: path, ch: make(chan struct{}, 1)}
		gates[path] = g
	}
	return g
}

func (g *gate) enter(ctx context.Context) error {
	select {
	case g.ch <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(WriterWait)
	defer t.Stop()
	select {
	case g.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("sqldb: %s: %w (%s)", filepath.Base(g.path), ErrWriterWait, WriterWait)
	}
}

func (g *gate) leave() { <-g.ch }

type gatedConnector struct {
	dsn  string
	gate *gate
}

var sqliteDriver = &sqlite.Driver{}

func (c *gatedConnector) Connect(context.Context) (driver.Conn, error) {
	dc, err := sqliteDriver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(sqliteConn)
	if !ok {
		_ = dc.Close()
		return nil, errors.New("sqldb: modernc.org/sqlite connection lacks the context methods")
	}
	return &gatedConn{sqliteConn: inner, gate: c.gate}, nil
}

func (c *gatedConnector) Driver() driver.Driver { return sqliteDriver }

// sqliteConn is what modernc.org/sqlite's connection implements and the
// gate relies on.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// gatedConn is one connection; database/sql never uses a connection from
// two goroutines at once, so inTx needs no lock.
type gatedConn struct {
	sqliteConn
	gate *gate
	inTx bool
}

func (c *gatedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *gatedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly {
		return c.sqliteConn.BeginTx(ctx, opts)
	}
	if err := c.gate.enter(ctx); err != nil {
		return nil, err
	}
	tx, err := c.sqliteConn.BeginTx(ctx, opts)
	if err != nil {
		c.gate.leave()
		return nil, err
	}
	c.inTx = true
	return &gatedTx{Tx: tx, conn: c}, nil
}

type gatedTx struct {
	driver.Tx
	conn *gatedConn
	done bool
}

func (t *gatedTx) Commit() error   { return t.end(t.Tx.Commit) }
func (t *gatedTx) Rollback() error { return t.end(t.Tx.Rollback) }

func (t *gatedTx) end(f func() error) error {
	err := f()
	if !t.done {
		t.done, t.conn.inTx = true, false
		t.conn.gate.leave()
	}
	return err
}

// writes reports whether a statement run outside a transaction must take
// the gate: everything but a plain SELECT.
func writes(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) < 6 || !strings.EqualFold(q[:6], "select")
}

func (c *gatedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !c.inTx && writes(query) {
		if err := c.gate.enter(ctx); err != nil {
			return nil, err
		}
		defer c.gate.leave()
	}
	return c.sqliteConn.ExecContext(ctx, query, args)
}

func (c *gatedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.inTx || !writes(query) {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	// INSERT ... RETURNING and the like: the gate is held until the rows
	// are closed, since SQLite finishes the write as they are read.
	if err := c.gate.enter(ctx); err != nil {
		return nil, err
	}
	rows, err := c.sqliteConn.QueryContext(ctx, query, args)
	if err != nil {
		c.gate.leave()
		return nil, err
	}
	return &gatedRows{Rows: rows, gate: c.gate}, nil
}

func (c *gatedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if !writes(query) {
		return s, nil
	}
	return &gatedStmt{Stmt: s, conn: c}, nil
}

func (c *gatedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

type gatedRows struct {
	driver.Rows
	gate   *gate
	closed bool
}

func (r *gatedRows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.gate.leave()
	}
	return err
}

// gatedStmt is a prepared write statement: run outside a transaction, it
// takes the gate like ExecContext.
type gatedStmt struct {
	driver.Stmt
	conn *gatedConn
}

func (s *gatedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if !s.conn.inTx {
		if err := s.conn.gate.enter(ctx); err != nil {
			return nil, err
		}
		defer s.conn.gate.leave()
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *gatedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.conn.inTx {
		return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	}
	if err := s.conn.gate.enter(ctx); err != nil {
		return nil, err
	}
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		s.conn.gate.leave()
		return nil, err
	}
	return &gatedRows{Rows: rows, gate: s.conn.gate}, nil
}
