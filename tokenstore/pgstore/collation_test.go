package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/storetest"
)

// TestLinguisticDefaultCollation runs the conformance suite (whose paging
// tests use names that sort differently under locale rules) on a database
// whose default collation is ICU en-US, not C: List and Scan must still
// order byte-wise, as tokenstore.Key.Compare does.
func TestLinguisticDefaultCollation(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close(context.Background()) })
	var b [8]byte
	_, err = rand.Read(b[:])
	require.NoError(t, err)
	name := "tokenstore_test_icu_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+
		` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`); err != nil {
		t.Skipf("cannot create an ICU-collated test database (needs CREATEDB and ICU): %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := admin.Exec(ctx, `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
		assert.NoError(t, err, "dropping test database %s", name)
	})

	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	// The database really sorts linguistically by default.
	var sorted []string
	rows, err := pool.Query(ctx, `SELECT x FROM unnest(ARRAY['b', 'B', 'a', '_x']) AS x ORDER BY x`)
	require.NoError(t, err)
	sorted, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.False(t, slices.IsSorted(sorted), "default collation sorts byte-wise (%q); the test proves nothing", sorted)

	s, err := OpenPool(ctx, pool, Options{})
	require.NoError(t, err)
	storetest.Run(t, func(t *testing.T) tokenstore.Backend { return s })
}
