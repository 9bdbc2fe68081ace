package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envDSN names the environment variable holding the test database's DSN.
const envDSN = "TENANTGATE_TEST_POSTGRES"

func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		t.Skip("set " + envDSN + "=postgres://... to run the PostgreSQL tests")
	}
	return dsn
}

// freshSchema returns the name of a schema no other test uses, dropped
// with everything in it when the test ends. Tests in parallel packages
// sharing the database never see each other's rows.
func freshSchema(t testing.TB) string {
	t.Helper()
	return freshSchemaNamed(t, "tokenstore_test_")
}

// freshSchemaNamed is freshSchema with a chosen prefix.
func freshSchemaNamed(t testing.TB, prefix string) string {
	t.Helper()
	dsn := testDSN(t)
	var b [8]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	schema := prefix + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if !assert.NoError(t, err, "dropping test schema %s", schema) {
			return
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		assert.NoError(t, err, "dropping test schema %s", schema)
	})
	return schema
}

// openTest opens a Store on schema, closed when the test ends.
func openTest(t testing.TB, schema string) *Store {
	t.Helper()
	s, err := Open(context.Background(), testDSN(t), Options{Schema: schema})
	require.NoError(t, err, "Open")
	t.Cleanup(func() { s.Close() })
	return s
}
