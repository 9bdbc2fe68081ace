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

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/leasetest"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
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
	if _, err := s.Get(ctx, k); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("Get of a missing record: got %v, want ErrNotFound", err)
	}
	before := time.Now()
	in := []byte("v1")
	created, err := s.Put(ctx, tokenstore.Record{Key: k, Data: in, Sealed: true}, 0)
	if err != nil {
		t.Fatalf("Put create: %v", err)
	}
	if created.Version != 1 || !created.Sealed || string(created.Data) != "v1" {
		t.Fatalf("Put create returned %+v", created)
	}
	if &created.Data[0] == &in[0] {
		t.Fatal("Put returned the caller's slice")
	}

	if created.CreatedAt.Before(before.Add(-time.Second)) || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Fatalf("Put create timestamps: created %v updated %v", created.CreatedAt, created.UpdatedAt)
	}
	got, err := s.Get(ctx, k)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Key != k || got.Version != 1 || !got.Sealed || string(got.Data) != "v1" ||
		!got.CreatedAt.Equal(created.CreatedAt) || !got.UpdatedAt.Equal(created.UpdatedAt) {
		t.Fatalf("Get = %+v, want %+v", got, created)
	}

	if _, err := s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("again")}, 0); !errors.Is(err, tokenstore.ErrConflict) {
		t.Fatalf("second create: got %v, want ErrConflict", err)
	}
	updated, err := s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("v2")}, 1)
	if err != nil {
		t.Fatalf("Put replace: %v", err)
	}
	if updated.Version != 2 || updated.Sealed || string(updated.Data) != "v2" ||
		!updated.CreatedAt.Equal(created.CreatedAt) || updated.UpdatedAt.Before(created.UpdatedAt) {
		t.Fatalf("Put replace returned %+v (created %+v)", updated, created)
	}
	_, err = s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("stale")}, 1)
	var ce *tokenstore.ConflictError
	if !errors.As(err, &ce) || ce.Expected != 1 || ce.Actual != 2 || ce.Key != k {
		t.Fatalf("stale Put: got %v, want ConflictError expected 1 actual 2", err)
	}
	_, err = s.Put(ctx, tokenstore.Record{Key: key("missing"), Data: []byte("x")}, 3)
	if !errors.As(err, &ce) || ce.Expected != 3 || ce.Actual != 0 {
		t.Fatalf("Put replace of a missing record: got %v, want ConflictError actual 0", err)
	}
	if got, _ := s.Get(ctx, k); string(got.Data) != "v2" {
		t.Fatalf("failed writes changed the record: %q", got.Data)
	}

	if err := s.Delete(ctx, k, 1); !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("stale Delete: got %v, want ConflictError actual 2", err)
	}
	if err := s.Delete(ctx, k, 2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ctx, k, tokenstore.AnyVersion); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("Delete of a deleted record: got %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, k, 2); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("versioned Delete of a deleted record: got %v, want ErrNotFound", err)
	}
	// Re-creating starts at version 1 again.
	again, err := s.Put(ctx, tokenstore.Record{Key: k, Data: nil}, 0)
	if err != nil || again.Version != 1 {
		t.Fatalf("re-create: %+v, %v", again, err)
	}
	if got, err := s.Get(ctx, k); err != nil || got.Data == nil || len(got.Data) != 0 {
		t.Fatalf("empty payload round trip: %#v, %v", got.Data, err)
	}
	if err := s.Delete(ctx, k, tokenstore.AnyVersion); err != nil {
		t.Fatalf("Delete AnyVersion: %v", err)
	}
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
		if _, err := s.Put(ctx, tokenstore.Record{Key: k}, 0); !errors.Is(err, tokenstore.ErrInvalid) {
			t.Errorf("Put(%q): got %v, want an invalid argument error", k, err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, tokenstore.ErrInvalid) {
			t.Errorf("Get(%q): got %v, want an invalid argument error", k, err)
		}
	}
	if _, err := s.Put(ctx, tokenstore.Record{Key: key("a")}, -1); !errors.Is(err, tokenstore.ErrInvalid) {
		t.Errorf("Put with version -1: got %v", err)
	}
	if err := s.Delete(ctx, key("a"), -2); !errors.Is(err, tokenstore.ErrInvalid) {
		t.Errorf("Delete with version -2: got %v", err)
	}
	if _, err := s.List(ctx, "", "k", tokenstore.ListOptions{}); !errors.Is(err, tokenstore.ErrInvalid) {
		t.Errorf("List without customer: got %v", err)
	}
	for _, p := range []string{"", ":memory:", filepath.Join(t.TempDir(), "missing", "tokens.db")} {
		if _, err := Open(ctx, p, Options{}); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

// TestRacingReplace has 50 goroutines replace the same version at once:
// exactly one wins, every other one gets a conflict naming the new version.
func TestRacingReplace(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := t.Context()
	k := key("raced")
	if _, err := s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("v1")}, 0); err != nil {
		t.Fatal(err)
	}
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
			if winner >= 0 {
				t.Fatalf("writers %d and %d both won", winner, i)
			}
			winner = i
		case errors.As(err, &ce) && ce.Actual == 2:
		default:
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	got, err := s.Get(ctx, k)
	if err != nil || got.Version != 2 || string(got.Data) != fmt.Sprintf("writer %d", winner) {
		t.Fatalf("after the race: %+v, %v; want the winner %d's data at version 2", got, err, winner)
	}
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
			if _, err := s.Put(ctx, tokenstore.Record{Key: k, Data: []byte(k.Customer + k.Kind + k.Name)}, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	opts := tokenstore.ListOptions{Limit: 3}
	pages := 0
	for {
		page, err := s.List(ctx, "c1", "k1", opts)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		pages++
		for _, r := range page.Records {
			if r.Customer != "c1" || r.Kind != "k1" || string(r.Data) != "c1k1"+r.Name {
				t.Fatalf("List returned a foreign record %+v", r)
			}
			got = append(got, r.Name)
		}
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Fatalf("paged List = %v in %d pages, want %v in 3", got, pages, want)
	}
	full, err := s.List(ctx, "c1", "k1", tokenstore.ListOptions{})
	if err != nil || len(full.Records) != 7 || full.Next != "" {
		t.Fatalf("List with default page: %d records, next %q, %v", len(full.Records), full.Next, err)
	}
	exact, err := s.List(ctx, "c2", "k1", tokenstore.ListOptions{Limit: 7})
	if err != nil || len(exact.Records) != 7 || exact.Next != "" {
		t.Fatalf("List with an exact page: %d records, next %q, %v", len(exact.Records), exact.Next, err)
	}
	none, err := s.List(ctx, "c3", "k1", tokenstore.ListOptions{})
	if err != nil || len(none.Records) != 0 || none.Next != "" {
		t.Fatalf("List of an unknown customer: %+v, %v", none, err)
	}

	var scanned []tokenstore.Key
	var after tokenstore.Key
	for {
		recs, err := s.Scan(ctx, after, 4)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			scanned = append(scanned, r.Key)
		}
		after = recs[len(recs)-1].Key
	}
	if len(scanned) != 21 {
		t.Fatalf("Scan returned %d records, want 21", len(scanned))
	}
	for i := 1; i < len(scanned); i++ {
		p, c := scanned[i-1], scanned[i]
		if [3]string{p.Customer, p.Kind, p.Name} == [3]string{c.Customer, c.Kind, c.Name} ||
			p.Customer > c.Customer || p.Customer == c.Customer && (p.Kind > c.Kind || p.Kind == c.Kind && p.Name >= c.Name) {
			t.Fatalf("Scan out of order at %d: %v then %v", i, p, c)
		}
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
		if _, err := s.Put(ctx, tokenstore.Record{Key: key(n)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.List(ctx, "cust-1", "msal.cache", tokenstore.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(page.Records); i++ {
		if page.Records[i-1].Name >= page.Records[i].Name {
			t.Fatalf("List order is not byte order: %q before %q", page.Records[i-1].Name, page.Records[i].Name)
		}
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, tokenstore.Record{Key: key("kept"), Data: []byte("x")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s.Close()
	if got, err := s.Get(ctx, key("kept")); err != nil || string(got.Data) != "x" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	var versions, mode string
	if err := s.db.QueryRowContext(ctx, `SELECT group_concat(version) FROM tenantgate_migrations WHERE line = 'tokenstore'`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	var want []string
	for v := 1; v <= SchemaVersion; v++ {
		want = append(want, fmt.Sprint(v))
	}
	if versions != strings.Join(want, ",") {
		t.Fatalf("migrations table holds %q, want %q: each version once", versions, strings.Join(want, ","))
	}
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
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
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var count int
	if err := stores[0].db.QueryRowContext(t.Context(), `SELECT count(*) FROM tenantgate_migrations WHERE line = 'tokenstore'`).Scan(&count); err != nil || count != SchemaVersion {
		t.Fatalf("%d migration rows, %v; want %d", count, err, SchemaVersion)
	}
	for i, s := range stores {
		if _, err := s.Put(t.Context(), tokenstore.Record{Key: key(fmt.Sprint(i))}, 0); err != nil {
			t.Fatalf("Put through store %d: %v", i, err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	if _, err := s.db.ExecContext(t.Context(), `INSERT INTO tenantgate_migrations (line, version, applied_at) VALUES ('tokenstore', ?, 0)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(t.Context(), path, Options{}); err == nil {
		s2.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
}

// TestBusy holds the write lock from another connection: a write gives up
// after the busy timeout with ErrBusy and changes nothing.
func TestBusy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	s, err := Open(t.Context(), path, Options{BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", dsn(path, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(t.Context(), nil) // immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), `DELETE FROM tokenstore_leases`); err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(t.Context(), tokenstore.Record{Key: key("blocked")}, 0)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Put while another process writes: got %v, want ErrBusy", err)
	}
	// A context that ends while waiting wins over the busy timeout.
	s2, err := Open(t.Context(), path, Options{BusyTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s2.Put(ctx, tokenstore.Record{Key: key("blocked")}, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put with an expiring context while busy: got %v, want DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Fatalf("Put ignored its context for %v", waited)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), key("blocked")); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("a failed busy write left a record: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Put(ctx, tokenstore.Record{Key: key("a")}, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: got %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, key("a")); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: got %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, "c", "k", tokenstore.ListOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List: got %v, want context.Canceled", err)
	}
	if _, err := s.Get(t.Context(), key("a")); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("a cancelled Put wrote: %v", err)
	}
}

func TestPathWithURICharacters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "odd?name#x%20.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(t.Context(), tokenstore.Record{Key: key("a")}, 0); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("database not created at %q: %v", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", filepath.Base(p), fi.Mode(), err)
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
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return a, b
	})
}
