package sqlsink_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// BenchmarkFullPassPostgres measures one full pass of 5,000 new users (5
// pages of 1,000, then Commit) on PostgreSQL, with COPY into the staging
// table (pgx) and with multi-row INSERTs (the path of other drivers).
// Needs TENANTGATE_TEST_POSTGRES.
func BenchmarkFullPassPostgres(b *testing.B) {
	dsn := os.Getenv("TENANTGATE_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("set TENANTGATE_TEST_POSTGRES")
	}
	pages := make([][]usersync.User, 5)
	for i := range pages {
		pages[i] = users(i*1000, (i+1)*1000, "Engineer")
	}
	for _, bc := range []struct {
		name   string
		noCopy bool
	}{{"copy", false}, {"insert", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := sqlsink.OpenPostgres(b.Context(), dsn, sqlsink.PostgresOptions{})
			require.NoError(b, err)
			defer s.Close()
			s.SetNoCopy(bc.noCopy)
			ctx := b.Context()
			var made []string
			for b.Loop() {
				c := customer("bench")
				made = append(made, c)
				p, err := s.Begin(ctx, c)
				require.NoError(b, err)
				for _, pg := range pages {
					_, err := p.Put(ctx, pg)
					require.NoError(b, err)
				}
				got, err := p.Commit(ctx)
				require.NoError(b, err, "commit")
				require.Equal(b, 5000, got.Added, "commit: added")
			}
			b.StopTimer()
			for _, c := range made {
				require.NoError(b, s.Purge(ctx, c))
			}
		})
	}
}
