package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/leasetest"
	"github.com/tenantgate/tenantgate/tokenstore/storetest"
)

// TestConformance runs the tokenstore conformance suite through two Stores
// (two pools) on one schema, alternating, as two replicas would.
func TestConformance(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	a, b := openTest(t, schema), openTest(t, schema)
	n := 0
	storetest.Run(t, func(t *testing.T) tokenstore.Backend {
		n++
		if n%2 == 0 {
			return b
		}
		return a
	})
}

// TestLeasesAcrossStores runs the lease tests on two Stores on one
// database, as two replicas would have.
func TestLeasesAcrossStores(t *testing.T) {
	t.Parallel()
	leasetest.Run(t, func(t *testing.T) (tokenstore.Locker, tokenstore.Locker) {
		schema := freshSchema(t)
		return openTest(t, schema), openTest(t, schema)
	})
}

func key(name string) tokenstore.Key {
	return tokenstore.Key{Customer: "cust-1", Kind: "msal.cache", Name: name}
}

// TestConcurrentOpen opens one fresh schema from several pools at once, as
// replicas starting together would: all succeed, each migration runs once.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	dsn := testDSN(t)
	const n = 6
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), dsn, Options{Schema: schema, MaxConns: 2}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var count, max int
	if err := stores[0].pool.QueryRow(t.Context(), `SELECT count(*), max(version) FROM `+tablePrefix(schema)+`tenantgate_migrations WHERE line = 'tokenstore'`).Scan(&count, &max); err != nil {
		t.Fatal(err)
	}
	if count != SchemaVersion || max != SchemaVersion {
		t.Fatalf("migrations table: %d rows up to version %d, want %d rows up to %d", count, max, SchemaVersion, SchemaVersion)
	}
	for i, s := range stores {
		if _, err := s.Put(t.Context(), tokenstore.Record{Key: key(fmt.Sprint(i))}, 0); err != nil {
			t.Fatalf("Put through store %d: %v", i, err)
		}
	}
	page, err := stores[n-1].List(t.Context(), "cust-1", "msal.cache", tokenstore.ListOptions{})
	if err != nil || len(page.Records) != n {
		t.Fatalf("List through the last store: %d records, %v; want %d", len(page.Records), err, n)
	}
}

func TestReopenKeepsDataAndNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	s := openTest(t, schema)
	if _, err := s.Put(t.Context(), tokenstore.Record{Key: key("kept"), Data: []byte("x")}, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, schema)
	if got, err := s.Get(t.Context(), key("kept")); err != nil || string(got.Data) != "x" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	if _, err := s.pool.Exec(t.Context(), `INSERT INTO `+tablePrefix(schema)+`tenantgate_migrations (line, version, applied_at) VALUES ('tokenstore', $1, 0)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(t.Context(), testDSN(t), Options{Schema: schema}); err == nil {
		s2.Close()
		t.Fatal("Open of a schema newer than this build succeeded")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v, want it to say the schema is newer", err)
	}
}

// TestSchemasIsolate checks that stores on different schemas share nothing.
func TestSchemasIsolate(t *testing.T) {
	t.Parallel()
	a, b := openTest(t, freshSchema(t)), openTest(t, freshSchema(t))
	if _, err := a.Put(t.Context(), tokenstore.Record{Key: key("same"), Data: []byte("a")}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(t.Context(), key("same")); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("record visible in another schema: %v", err)
	}
	if _, err := b.Put(t.Context(), tokenstore.Record{Key: key("same"), Data: []byte("b")}, 0); err != nil {
		t.Fatalf("create of the same key in another schema: %v", err)
	}
	la, err := a.Lock(t.Context(), "lease", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer la.Release(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	lb, err := b.Lock(ctx, "lease", time.Minute)
	if err != nil {
		t.Fatalf("lease of the same name in another schema: %v", err)
	}
	lb.Release(t.Context())
}

// TestOpenPool uses a host's pool: the Store works on it and leaves it
// open on Close.
func TestOpenPool(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	pool, err := pgxpool.New(t.Context(), testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := OpenPool(t.Context(), pool, Options{Schema: schema})
	if err != nil {
		t.Fatalf("OpenPool: %v", err)
	}
	if _, err := s.Put(t.Context(), tokenstore.Record{Key: key("a"), Data: []byte("x")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), key("a")); !errors.Is(err, tokenstore.ErrClosed) {
		t.Fatalf("Get after Close: got %v, want ErrClosed", err)
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+tablePrefix(schema)+`tokenstore_records`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("host pool after Store.Close: %d rows, %v; want the pool open and 1 row", n, err)
	}
	if _, err := OpenPool(t.Context(), nil, Options{}); !errors.Is(err, tokenstore.ErrInvalid) {
		t.Fatalf("OpenPool(nil): got %v, want ErrInvalid", err)
	}
}

// TestOpenErrorsHidePassword checks that a failed connection says what
// failed without echoing the DSN's password.
func TestOpenErrorsHidePassword(t *testing.T) {
	t.Parallel()
	const password = "Sup3r-Secret-Pa55"
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://someone:" + password + "@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2",
		"postgres://someone:" + password + "@127.0.0.1:1/nowhere?sslmode=bogus",
		"host=127.0.0.1 port=1 user=someone password=" + password + " connect_timeout=2 sslmode=disable",
	} {
		s, err := Open(ctx, dsn, Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open of an unreachable server succeeded")
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("Open error reveals the password: %v", err)
		}
	}
}

func TestBadArgumentsAndClose(t *testing.T) {
	t.Parallel()
	s := openTest(t, freshSchema(t))
	ctx := t.Context()
	for _, k := range []tokenstore.Key{
		{Customer: "", Kind: "k", Name: "n"},
		{Customer: "c\x00d", Kind: "k", Name: "n"},
		{Customer: "c", Kind: "k", Name: "\xff"},
		{Customer: "c", Kind: "k", Name: strings.Repeat("n", tokenstore.MaxKeyPartLen+1)},
	} {
		if _, err := s.Put(ctx, tokenstore.Record{Key: k}, 0); !errors.Is(err, tokenstore.ErrInvalid) {
			t.Errorf("Put(%q): got %v, want ErrInvalid", k, err)
		}
	}
	if _, err := s.Put(ctx, tokenstore.Record{Key: key("a")}, -1); !errors.Is(err, tokenstore.ErrInvalid) {
		t.Errorf("Put with version -1: got %v, want ErrInvalid", err)
	}
	if err := s.Delete(ctx, key("a"), -2); !errors.Is(err, tokenstore.ErrInvalid) {
		t.Errorf("Delete with version -2: got %v, want ErrInvalid", err)
	}
	if _, err := s.List(ctx, "c", "", tokenstore.ListOptions{}); !errors.Is(err, tokenstore.ErrInvalid) {
		t.Errorf("List without kind: got %v, want ErrInvalid", err)
	}
	lease, err := s.Lock(ctx, "held", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Get(ctx, key("a")); !errors.Is(err, tokenstore.ErrClosed) {
		t.Errorf("Get after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.Lock(ctx, "other", time.Minute); !errors.Is(err, tokenstore.ErrClosed) {
		t.Errorf("Lock after Close: got %v, want ErrClosed", err)
	}
	if err := lease.Release(ctx); !errors.Is(err, tokenstore.ErrClosed) {
		t.Errorf("Release after Close: got %v, want ErrClosed", err)
	}
}

// TestQuotedSchemaName uses a schema name that only works quoted.
func TestQuotedSchemaName(t *testing.T) {
	t.Parallel()
	schema := freshSchemaNamed(t, `Tenant Gate-"Test" `)
	s := openTest(t, schema)
	if _, err := s.Put(t.Context(), tokenstore.Record{Key: key("a"), Data: []byte("x")}, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(t.Context(), key("a")); err != nil || string(got.Data) != "x" {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil || n != 1 {
		t.Fatalf("schema %q exists %d times, %v", schema, n, err)
	}
}
