package pgstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		require.NoError(t, err, "Open %d", i)
		defer stores[i].Close()
	}
	var count, max int
	require.NoError(t, stores[0].pool.QueryRow(t.Context(), `SELECT count(*), max(version) FROM `+tablePrefix(schema)+`tenantgate_migrations WHERE line = 'tokenstore'`).Scan(&count, &max))
	require.Equal(t, SchemaVersion, count, "migrations table: rows")
	require.Equal(t, SchemaVersion, max, "migrations table: highest version")
	for i, s := range stores {
		_, err := s.Put(t.Context(), tokenstore.Record{Key: key(fmt.Sprint(i))}, 0)
		require.NoError(t, err, "Put through store %d", i)
	}
	page, err := stores[n-1].List(t.Context(), "cust-1", "msal.cache", tokenstore.ListOptions{})
	require.NoError(t, err, "List through the last store")
	require.Len(t, page.Records, n, "List through the last store")
}

func TestReopenKeepsDataAndNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	s := openTest(t, schema)
	_, err := s.Put(t.Context(), tokenstore.Record{Key: key("kept"), Data: []byte("x")}, 0)
	require.NoError(t, err)
	s.Close()
	s = openTest(t, schema)
	got, err := s.Get(t.Context(), key("kept"))
	require.NoError(t, err, "after reopen")
	require.Equal(t, "x", string(got.Data), "after reopen: %+v", got)
	_, err = s.pool.Exec(t.Context(), `INSERT INTO `+tablePrefix(schema)+`tenantgate_migrations (line, version, applied_at) VALUES ('tokenstore', $1, 0)`, SchemaVersion+1)
	require.NoError(t, err)
	s2, err := Open(t.Context(), testDSN(t), Options{Schema: schema})
	if err == nil {
		s2.Close()
	}
	require.Error(t, err, "Open of a schema newer than this build succeeded")
	require.Contains(t, err.Error(), "newer", "Open of a newer schema: want it to say the schema is newer")
}

// TestSchemasIsolate checks that stores on different schemas share nothing.
func TestSchemasIsolate(t *testing.T) {
	t.Parallel()
	a, b := openTest(t, freshSchema(t)), openTest(t, freshSchema(t))
	_, err := a.Put(t.Context(), tokenstore.Record{Key: key("same"), Data: []byte("a")}, 0)
	require.NoError(t, err)
	_, err = b.Get(t.Context(), key("same"))
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "record visible in another schema")
	_, err = b.Put(t.Context(), tokenstore.Record{Key: key("same"), Data: []byte("b")}, 0)
	require.NoError(t, err, "create of the same key in another schema")
	la, err := a.Lock(t.Context(), "lease", time.Minute)
	require.NoError(t, err)
	defer la.Release(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	lb, err := b.Lock(ctx, "lease", time.Minute)
	require.NoError(t, err, "lease of the same name in another schema")
	lb.Release(t.Context())
}

// TestOpenPool uses a host's pool: the Store works on it and leaves it
// open on Close.
func TestOpenPool(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	pool, err := pgxpool.New(t.Context(), testDSN(t))
	require.NoError(t, err)
	defer pool.Close()
	s, err := OpenPool(t.Context(), pool, Options{Schema: schema})
	require.NoError(t, err, "OpenPool")
	_, err = s.Put(t.Context(), tokenstore.Record{Key: key("a"), Data: []byte("x")}, 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.Get(t.Context(), key("a"))
	require.ErrorIs(t, err, tokenstore.ErrClosed, "Get after Close")
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM `+tablePrefix(schema)+`tokenstore_records`).Scan(&n), "host pool after Store.Close: want the pool open")
	require.Equal(t, 1, n, "host pool after Store.Close: rows")
	_, err = OpenPool(t.Context(), nil, Options{})
	require.ErrorIs(t, err, tokenstore.ErrInvalid, "OpenPool(nil)")
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
		}
		require.Error(t, err, "Open of an unreachable server succeeded")
		assert.NotContains(t, err.Error(), password, "Open error reveals the password")
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
		_, err := s.Put(ctx, tokenstore.Record{Key: k}, 0)
		assert.ErrorIs(t, err, tokenstore.ErrInvalid, "Put(%q)", k)
	}
	_, err := s.Put(ctx, tokenstore.Record{Key: key("a")}, -1)
	assert.ErrorIs(t, err, tokenstore.ErrInvalid, "Put with version -1")
	assert.ErrorIs(t, s.Delete(ctx, key("a"), -2), tokenstore.ErrInvalid, "Delete with version -2")
	_, err = s.List(ctx, "c", "", tokenstore.ListOptions{})
	assert.ErrorIs(t, err, tokenstore.ErrInvalid, "List without kind")
	lease, err := s.Lock(ctx, "held", time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "second Close")
	_, err = s.Get(ctx, key("a"))
	assert.ErrorIs(t, err, tokenstore.ErrClosed, "Get after Close")
	_, err = s.Lock(ctx, "other", time.Minute)
	assert.ErrorIs(t, err, tokenstore.ErrClosed, "Lock after Close")
	assert.ErrorIs(t, lease.Release(ctx), tokenstore.ErrClosed, "Release after Close")
}

// TestQuotedSchemaName uses a schema name that only works quoted.
func TestQuotedSchemaName(t *testing.T) {
	t.Parallel()
	schema := freshSchemaNamed(t, `Tenant Gate-"Test" `)
	s := openTest(t, schema)
	_, err := s.Put(t.Context(), tokenstore.Record{Key: key("a"), Data: []byte("x")}, 0)
	require.NoError(t, err)
	got, err := s.Get(t.Context(), key("a"))
	require.NoError(t, err, "Get")
	require.Equal(t, "x", string(got.Data), "Get: %+v", got)
	var n int
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n), "schema %q", schema)
	require.Equal(t, 1, n, "schema %q: times it exists", schema)
}
