package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shortBusyDSN is SQLiteDSN with a 50 ms busy timeout: a writer that had
// to poll SQLite's lock behind a stream of transactions would fail fast.
func shortBusyDSN(path string) string {
	q := url.Values{}
	q.Set("_pragma", "busy_timeout(50)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

func openGated(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := OpenSQLite(path, shortBusyDSN(path))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Two pools of one file: one runs back-to-back write transactions of
// 2,000 rows each, the other writes single rows outside and inside
// transactions at the same time with a 50 ms busy timeout. Every write of
// both succeeds: writers queue at the gate instead of polling SQLite's
// lock.
func TestSQLiteWritersOfOneFileTakeTurns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	bulk, single := openGated(t, path), openGated(t, path)
	ctx := context.Background()
	_, err := bulk.ExecContext(ctx, `CREATE TABLE rows (pool TEXT, n INTEGER)`)
	require.NoError(t, err)

	const batches, batch, singles = 8, 2000, 40
	var wg sync.WaitGroup
	errs := make(chan error, batches+2*singles)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := range batches {
			tx, err := bulk.BeginTx(ctx, nil)
			if err != nil {
				errs <- err
				return
			}
			for i := range batch {
				if _, err := tx.ExecContext(ctx, `INSERT INTO rows VALUES ('bulk', ?)`, b*batch+i); err != nil {
					errs <- err
					_ = tx.Rollback()
					return
				}
			}
			if err := tx.Commit(); err != nil {
				errs <- err
				return
			}
		}
	}()
	for i := range singles {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := single.ExecContext(ctx, `INSERT INTO rows VALUES ('single', ?)`, i)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			tx, err := single.BeginTx(ctx, nil)
			if err == nil {
				_, err = tx.ExecContext(ctx, `INSERT INTO rows VALUES ('singletx', ?)`, i)
				if err == nil {
					err = tx.Commit()
				} else {
					_ = tx.Rollback()
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	counts := map[string]int{}
	rows, err := single.QueryContext(ctx, `SELECT pool, count(*) FROM rows GROUP BY pool`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var p string
		var n int
		require.NoError(t, rows.Scan(&p, &n))
		counts[p] = n
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, map[string]int{"bulk": batches * batch, "single": singles, "singletx": singles}, counts)
}

// While a transaction holds the gate, readers of another pool read and a
// writer waiting for its turn gives up when its context ends, leaving the
// gate as it was.
func TestSQLiteGateReadersAndCancel(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openGated(t, path), openGated(t, path)
	ctx := context.Background()
	_, err := a.ExecContext(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)`)
	require.NoError(t, err)
	_, err = a.ExecContext(ctx, `INSERT INTO kv VALUES ('a', '1')`)
	require.NoError(t, err)

	tx, err := a.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `UPDATE kv SET v = '2' WHERE k = 'a'`)
	require.NoError(t, err)

	var v string
	require.NoError(t, b.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = 'a'`).Scan(&v), "a reader does not wait")
	assert.Equal(t, "1", v, "the reader sees the last commit")

	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := b.ExecContext(cctx, `INSERT INTO kv VALUES ('b', '1')`)
		done <- err
	}()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	require.NoError(t, tx.Commit())
	_, err = b.ExecContext(ctx, `INSERT INTO kv VALUES ('c', '1')`)
	require.NoError(t, err, "the gate is free after the commit and the cancelled wait")
	var n int
	require.NoError(t, b.QueryRowContext(ctx, `SELECT count(*) FROM kv`).Scan(&n))
	assert.Equal(t, 2, n, "the cancelled insert wrote nothing")

	// A rolled-back transaction and INSERT ... RETURNING release the gate.
	tx, err = b.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	var k string
	require.NoError(t, a.QueryRowContext(ctx, `INSERT INTO kv VALUES ('d', '1') RETURNING k`).Scan(&k))
	assert.Equal(t, "d", k)
	_, err = b.ExecContext(ctx, `DELETE FROM kv WHERE k = 'd'`)
	require.NoError(t, err)
}

func TestWrites(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]bool{
		"SELECT 1":                       false,
		"  select * from t":              false,
		"(SELECT 1)":                     false,
		"INSERT INTO t VALUES (1)":       true,
		"WITH x AS (SELECT 1) DELETE ..": true,
		"UPDATE t SET a = 1":             true,
		"PRAGMA user_version = 3":        true,
		"":                               true,
	} {
		assert.Equal(t, want, writes(q), q)
	}
}

func TestIsBusyWriterWait(t *testing.T) {
	t.Parallel()
	err := errors.Join(errors.New("context"), ErrWriterWait)
	assert.True(t, IsBusy(err))
	assert.True(t, IsBusy(&writerWaitErr{}))
}

type writerWaitErr struct{}

func (*writerWaitErr) Error() string { return "x" }
func (*writerWaitErr) Unwrap() error { return ErrWriterWait }
