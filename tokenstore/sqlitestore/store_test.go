package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/leasetest"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.db")
	s, err := Open(t.Context(), path, Options{})
	require.NoError(t, err, "Open")
	t.Cleanup(func() {
		assert.NoError(t, s.Close(), "Close")
	})
	return s, path
}

func key(name string) tokenstore.Key {
	return tokenstore.Key{Customer: "cust-1", Kind: "msal.cache", Name: name}
}

func TestCRUD(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := t.Context()
	k := key("a")
	_, err := s.Get(ctx, k)
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "Get of a missing record")
	before := time.Now()
	in := []byte("v1")
	created, err := s.Put(ctx, tokenstore.Record{Key: k, Data: in, Sealed: true}, 0)
	require.NoError(t, err, "Put create")
	require.Equal(t, int64(1), created.Version, "Put create returned %+v", created)
	require.True(t, created.Sealed, "Put create returned %+v", created)
	require.Equal(t, "v1", string(created.Data), "Put create returned %+v", created)
	require.NotSame(t, &in[0], &created.Data[0], "Put returned the caller's slice")

	require.False(t, created.CreatedAt.Before(before.Add(-time.Second)), "Put create timestamps: created %v updated %v", created.CreatedAt, created.UpdatedAt)
	require.True(t, created.CreatedAt.Equal(created.UpdatedAt), "Put create timestamps: created %v updated %v", created.CreatedAt, created.UpdatedAt)
	got, err := s.Get(ctx, k)
	require.NoError(t, err, "Get")
	require.Equal(t, k, got.Key, "Get = %+v, want %+v", got, created)
	// created is v1, sealed, "v1" (checked above): Get returns the same.
	require.Equal(t, created.Version, got.Version, "Get = %+v, want %+v", got, created)
	require.Equal(t, created.Sealed, got.Sealed, "Get = %+v, want %+v", got, created)
	require.Equal(t, string(created.Data), string(got.Data), "Get = %+v, want %+v", got, created)
	require.True(t, got.CreatedAt.Equal(created.CreatedAt), "Get = %+v, want %+v", got, created)
	require.True(t, got.UpdatedAt.Equal(created.UpdatedAt), "Get = %+v, want %+v", got, created)

	_, err = s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("again")}, 0)
	require.ErrorIs(t, err, tokenstore.ErrConflict, "second create")
	updated, err := s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("v2")}, 1)
	require.NoError(t, err, "Put replace")
	require.Equal(t, int64(2), updated.Version, "Put replace returned %+v (created %+v)", updated, created)
	require.False(t, updated.Sealed, "Put replace returned %+v (created %+v)", updated, created)
	require.Equal(t, "v2", string(updated.Data), "Put replace returned %+v (created %+v)", updated, created)
	require.True(t, updated.CreatedAt.Equal(created.CreatedAt), "Put replace returned %+v (created %+v)", updated, created)
	require.False(t, updated.UpdatedAt.Before(created.UpdatedAt), "Put replace returned %+v (created %+v)", updated, created)
	_, err = s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("stale")}, 1)
	var ce *tokenstore.ConflictError
	require.ErrorAs(t, err, &ce, "stale Put: want ConflictError expected 1 actual 2")
	require.Equal(t, int64(1), ce.Expected, "stale Put: %v", err)
	require.Equal(t, int64(2), ce.Actual, "stale Put: %v", err)
	require.Equal(t, k, ce.Key, "stale Put: %v", err)
	_, err = s.Put(ctx, tokenstore.Record{Key: key("missing"), Data: []byte("x")}, 3)
	require.ErrorAs(t, err, &ce, "Put replace of a missing record: want ConflictError actual 0")
	require.Equal(t, int64(3), ce.Expected, "Put replace of a missing record: %v", err)
	require.Equal(t, int64(0), ce.Actual, "Put replace of a missing record: %v", err)
	got, _ = s.Get(ctx, k)
	require.Equal(t, "v2", string(got.Data), "failed writes changed the record")

	err = s.Delete(ctx, k, 1)
	require.ErrorAs(t, err, &ce, "stale Delete: want ConflictError actual 2")
	require.Equal(t, int64(2), ce.Actual, "stale Delete: %v", err)
	require.NoError(t, s.Delete(ctx, k, 2), "Delete")
	require.ErrorIs(t, s.Delete(ctx, k, tokenstore.AnyVersion), tokenstore.ErrNotFound, "Delete of a deleted record")
	require.ErrorIs(t, s.Delete(ctx, k, 2), tokenstore.ErrNotFound, "versioned Delete of a deleted record")
	// Re-creating starts at version 1 again.
	again, err := s.Put(ctx, tokenstore.Record{Key: k, Data: nil}, 0)
	require.NoError(t, err, "re-create")
	require.Equal(t, int64(1), again.Version, "re-create: %+v", again)
	got, err = s.Get(ctx, k)
	require.NoError(t, err, "empty payload round trip")
	require.NotNil(t, got.Data, "empty payload round trip: nil Data, want empty non-nil")
	require.Empty(t, got.Data, "empty payload round trip")
	require.NoError(t, s.Delete(ctx, k, tokenstore.AnyVersion), "Delete AnyVersion")
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := t.Context()
	for _, k := range []tokenstore.Key{
		{Customer: "", Kind: "k", Name: "n"},
		{Customer: "c", Kind: "", Name: "n"},
		{Customer: "c", Kind: "k", Name: ""},
		{Customer: "c\x00d", Kind: "k", Name: "n"},
		{Customer: "c", Kind: "k", Name: "\xff"},
	} {
		_, err := s.Put(ctx, tokenstore.Record{Key: k}, 0)
		assert.ErrorIs(t, err, tokenstore.ErrInvalid, "Put(%q): want an invalid argument error", k)
		_, err = s.Get(ctx, k)
		assert.ErrorIs(t, err, tokenstore.ErrInvalid, "Get(%q): want an invalid argument error", k)
	}
	_, err := s.Put(ctx, tokenstore.Record{Key: key("a")}, -1)
	assert.ErrorIs(t, err, tokenstore.ErrInvalid, "Put with version -1: got")
	assert.ErrorIs(t, s.Delete(ctx, key("a"), -2), tokenstore.ErrInvalid, "Delete with version -2: got")
	_, err = s.List(ctx, "", "k", tokenstore.ListOptions{})
	assert.ErrorIs(t, err, tokenstore.ErrInvalid, "List without customer: got")
	for _, p := range []string{"", ":memory:", filepath.Join(t.TempDir(), "missing", "tokens.db")} {
		_, err := Open(ctx, p, Options{})
		assert.Error(t, err, "Open(%q) succeeded, want an error", p)
	}
}

// TestRacingReplace has 50 goroutines replace the same version at once:
// exactly one wins, every other one gets a conflict naming the new version.
func TestRacingReplace(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := t.Context()
	k := key("raced")
	_, err := s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("v1")}, 0)
	require.NoError(t, err)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Put(ctx, tokenstore.Record{Key: k, Data: fmt.Appendf(nil, "writer %d", i)}, 1)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var ce *tokenstore.ConflictError
		switch {
		case err == nil:
			require.Negative(t, winner, "writers %d and %d both won", winner, i)
			winner = i
		case errors.As(err, &ce) && ce.Actual == 2:
		default:
			assert.Fail(t, "writer failed other than with a conflict at version 2", "writer %d: %v", i, err)
		}
	}
	require.GreaterOrEqual(t, winner, 0, "no writer won")
	got, err := s.Get(ctx, k)
	require.NoError(t, err, "after the race")
	require.Equal(t, int64(2), got.Version, "after the race: %+v; want the winner %d's data at version 2", got, winner)
	require.Equal(t, fmt.Sprintf("writer %d", winner), string(got.Data), "after the race: %+v; want the winner's data at version 2", got)
}

func TestListAndScan(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := t.Context()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("n%02d", i)
		want = append(want, name)
		for _, k := range []tokenstore.Key{
			{Customer: "c1", Kind: "k1", Name: name},
			{Customer: "c1", Kind: "k2", Name: name},
			{Customer: "c2", Kind: "k1", Name: name},
		} {
			_, err := s.Put(ctx, tokenstore.Record{Key: k, Data: []byte(k.Customer + k.Kind + k.Name)}, 0)
			require.NoError(t, err)
		}
	}
	var got []string
	opts := tokenstore.ListOptions{Limit: 3}
	pages := 0
	for {
		page, err := s.List(ctx, "c1", "k1", opts)
		require.NoError(t, err, "List")
		pages++
		for _, r := range page.Records {
			require.Equal(t, "c1", r.Customer, "List returned a foreign record %+v", r)
			require.Equal(t, "k1", r.Kind, "List returned a foreign record %+v", r)
			require.Equal(t, "c1k1"+r.Name, string(r.Data), "List returned a foreign record %+v", r)
			got = append(got, r.Name)
		}
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	require.Equal(t, fmt.Sprint(want), fmt.Sprint(got), "paged List")
	require.Equal(t, 3, pages, "paged List: pages")
	full, err := s.List(ctx, "c1", "k1", tokenstore.ListOptions{})
	require.NoError(t, err, "List with default page")
	require.Len(t, full.Records, 7, "List with default page")
	require.Empty(t, full.Next, "List with default page: next")
	exact, err := s.List(ctx, "c2", "k1", tokenstore.ListOptions{Limit: 7})
	require.NoError(t, err, "List with an exact page")
	require.Len(t, exact.Records, 7, "List with an exact page")
	require.Empty(t, exact.Next, "List with an exact page: next")
	none, err := s.List(ctx, "c3", "k1", tokenstore.ListOptions{})
	require.NoError(t, err, "List of an unknown customer")
	require.Empty(t, none.Records, "List of an unknown customer: %+v", none)
	require.Empty(t, none.Next, "List of an unknown customer: %+v", none)

	var scanned []tokenstore.Key
	var after tokenstore.Key
	for {
		recs, err := s.Scan(ctx, after, 4)
		require.NoError(t, err, "Scan")
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			scanned = append(scanned, r.Key)
		}
		after = recs[len(recs)-1].Key
	}
	require.Len(t, scanned, 21, "Scan returned records")
	for i := 1; i < len(scanned); i++ {
		p, c := scanned[i-1], scanned[i]
		require.NotEqual(t, [3]string{p.Customer, p.Kind, p.Name}, [3]string{c.Customer, c.Kind, c.Name}, "Scan returned a key twice at %d", i)
		outOfOrder := p.Customer > c.Customer || p.Customer == c.Customer && (p.Kind > c.Kind || p.Kind == c.Kind && p.Name >= c.Name)
		require.False(t, outOfOrder, "Scan out of order at %d: %v then %v", i, p, c)
	}
}

// TestOrderIsBytewise checks names sort as Go strings do (byte order), so
// paging agrees with every other backend.
func TestOrderIsBytewise(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := t.Context()
	names := []string{"B", "a", "_", "é", "Z", "z", "0", "ä"}
	for _, n := range names {
		_, err := s.Put(ctx, tokenstore.Record{Key: key(n)}, 0)
		require.NoError(t, err)
	}
	page, err := s.List(ctx, "cust-1", "msal.cache", tokenstore.ListOptions{})
	require.NoError(t, err)
	for i := 1; i < len(page.Records); i++ {
		require.Less(t, page.Records[i-1].Name, page.Records[i].Name, "List order is not byte order")
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	_, err = s.Put(ctx, tokenstore.Record{Key: key("kept"), Data: []byte("x")}, 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s, err = Open(ctx, path, Options{})
	require.NoError(t, err, "second Open")
	defer s.Close()
	got, err := s.Get(ctx, key("kept"))
	require.NoError(t, err, "after reopen")
	require.Equal(t, "x", string(got.Data), "after reopen: %+v", got)
	var versions, mode string
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT group_concat(version) FROM tenantgate_migrations WHERE line = 'tokenstore'`).Scan(&versions))
	var want []string
	for v := 1; v <= SchemaVersion; v++ {
		want = append(want, fmt.Sprint(v))
	}
	require.Equal(t, strings.Join(want, ","), versions, "migrations table: each version once")
	require.NoError(t, s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode), "journal_mode")
	require.Equal(t, "wal", mode, "journal_mode")
}

// TestConcurrentOpen opens one fresh file from many goroutines at once, as
// processes starting together would: all succeed, the schema is migrated
// once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	const n = 8
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), path, Options{}) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "Open %d", i)
		defer stores[i].Close()
	}
	var count int
	require.NoError(t, stores[0].db.QueryRowContext(t.Context(), `SELECT count(*) FROM tenantgate_migrations WHERE line = 'tokenstore'`).Scan(&count), "migration rows")
	require.Equal(t, SchemaVersion, count, "migration rows")
	for i, s := range stores {
		_, err := s.Put(t.Context(), tokenstore.Record{Key: key(fmt.Sprint(i))}, 0)
		require.NoError(t, err, "Put through store %d", i)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	_, err := s.db.ExecContext(t.Context(), `INSERT INTO tenantgate_migrations (line, version, applied_at) VALUES ('tokenstore', ?, 0)`, SchemaVersion+1)
	require.NoError(t, err)
	s2, err := Open(t.Context(), path, Options{})
	if err == nil {
		s2.Close()
	}
	require.Error(t, err, "Open of a database with a newer schema succeeded")
}

// TestBusy holds the write lock from another connection: a write gives up
// after the busy timeout with ErrBusy and changes nothing.
func TestBusy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	s, err := Open(t.Context(), path, Options{BusyTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	other, err := sql.Open("sqlite", dsn(path, Options{}))
	require.NoError(t, err)
	defer other.Close()
	tx, err := other.BeginTx(t.Context(), nil) // immediate: takes the write lock
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.ExecContext(t.Context(), `DELETE FROM tokenstore_leases`)
	require.NoError(t, err)
	_, err = s.Put(t.Context(), tokenstore.Record{Key: key("blocked")}, 0)
	require.ErrorIs(t, err, ErrBusy, "Put while another process writes")
	// A context that ends while waiting wins over the busy timeout.
	s2, err := Open(t.Context(), path, Options{BusyTimeout: time.Minute})
	require.NoError(t, err)
	defer s2.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s2.Put(ctx, tokenstore.Record{Key: key("blocked")}, 0)
	require.ErrorIs(t, err, context.DeadlineExceeded, "Put with an expiring context while busy")
	waited := time.Since(start)
	require.LessOrEqual(t, waited, 30*time.Second, "Put ignored its context for %v", waited)
	require.NoError(t, tx.Rollback())
	_, err = s.Get(t.Context(), key("blocked"))
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "a failed busy write left a record")
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Put(ctx, tokenstore.Record{Key: key("a")}, 0)
	assert.ErrorIs(t, err, context.Canceled, "Put")
	_, err = s.Get(ctx, key("a"))
	assert.ErrorIs(t, err, context.Canceled, "Get")
	_, err = s.List(ctx, "c", "k", tokenstore.ListOptions{})
	assert.ErrorIs(t, err, context.Canceled, "List")
	_, err = s.Get(t.Context(), key("a"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "a cancelled Put wrote")
}

func TestPathWithURICharacters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "odd?name#x%20.db")
	s, err := Open(t.Context(), path, Options{})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Put(t.Context(), tokenstore.Record{Key: key("a")}, 0)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err, "database not created at %q", path)
	require.NotZero(t, fi.Size(), "database not created at %q: empty", path)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if assert.NoError(t, err, filepath.Base(p)) {
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s: mode", filepath.Base(p))
		}
	}
}

// TestLeasesAcrossStores runs the lease tests on two Stores sharing one
// file, as two processes would.
func TestLeasesAcrossStores(t *testing.T) {
	t.Parallel()
	leasetest.Run(t, func(t *testing.T) (tokenstore.Locker, tokenstore.Locker) {
		a, path := openTemp(t)
		b, err := Open(t.Context(), path, Options{})
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		return a, b
	})
}
