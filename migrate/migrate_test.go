package migrate_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/migrate"
)

func line(steps int) migrate.Line {
	all := [][]string{
		{`CREATE TABLE mt_a (id BIGINT NOT NULL PRIMARY KEY)`},
		{`ALTER TABLE mt_a ADD COLUMN name TEXT NOT NULL DEFAULT ''`, `CREATE TABLE mt_b (id BIGINT NOT NULL PRIMARY KEY)`},
	}
	return migrate.Line{Name: "mt", Steps: all[:steps], Legacy: "mt_legacy_migrations"}
}

// TestUpCheckVersions: Up applies what is missing, once; Check tells an
// outdated line; a database newer than the build fails.
func TestUpCheckVersions(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := t.Context()
			var oe *migrate.OutdatedError
			require.ErrorAs(t, migrate.Check(ctx, db.DB, db.Dialect, line(1)), &oe)
			assert.Equal(t, migrate.OutdatedError{Line: "mt", Have: 0, Need: 1}, *oe)

			require.NoError(t, migrate.Up(ctx, db.DB, db.Dialect, line(1)))
			require.NoError(t, migrate.Check(ctx, db.DB, db.Dialect, line(1)))
			require.ErrorAs(t, migrate.Check(ctx, db.DB, db.Dialect, line(2)), &oe)
			assert.Equal(t, 1, oe.Have)

			require.NoError(t, migrate.Up(ctx, db.DB, db.Dialect, line(2)))
			require.NoError(t, migrate.Up(ctx, db.DB, db.Dialect, line(2)), "again: nothing to do")
			v, err := migrate.Versions(ctx, db.DB, db.Dialect, line(2), migrate.Line{Name: "other"})
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"mt": 2, "other": 0}, v)
			_, err = db.DB.ExecContext(ctx, `INSERT INTO mt_b (id) VALUES (1)`)
			require.NoError(t, err, "step 2 ran")

			err = migrate.Up(ctx, db.DB, db.Dialect, line(1))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "newer than this build knows")
			assert.False(t, errors.As(err, &oe))
		})
	}
}

// TestLegacyAdopted: a line recorded in its own table by an earlier
// release is adopted, not run again.
func TestLegacyAdopted(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := t.Context()
			for _, q := range []string{
				`CREATE TABLE mt_legacy_migrations (version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)`,
				`INSERT INTO mt_legacy_migrations (version, applied_at) VALUES (1, 7)`,
				`CREATE TABLE mt_a (id BIGINT NOT NULL PRIMARY KEY)`,
			} {
				_, err := db.DB.ExecContext(ctx, q)
				require.NoError(t, err)
			}
			require.NoError(t, migrate.Check(ctx, db.DB, db.Dialect, line(1)), "the legacy version counts")
			require.NoError(t, migrate.Up(ctx, db.DB, db.Dialect, line(2)), "step 1 is not run again")
			var n int
			require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT count(*) FROM tenantgate_migrations WHERE line = 'mt'`).Scan(&n))
			assert.Equal(t, 2, n)
			require.NoError(t, db.DB.QueryRowContext(ctx, `SELECT count(*) FROM mt_legacy_migrations`).Scan(&n))
			assert.Equal(t, 1, n, "the legacy table stays for older replicas")
		})
	}
}

// TestNoMigrateIn reads the option.
func TestNoMigrateIn(t *testing.T) {
	t.Parallel()
	assert.False(t, migrate.NoMigrateIn(nil))
	assert.True(t, migrate.NoMigrateIn([]migrate.Option{nil, migrate.NoMigrate()}))
}
