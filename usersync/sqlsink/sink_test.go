package sqlsink_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// sinks returns the sinks under test, on storage of the test's own so that
// tests run in parallel: a SQLite file always and, when
// TENANTGATE_TEST_POSTGRES holds a connection URL, a fresh PostgreSQL
// schema (testdb.Postgres) that two of them share.
func sinks(t *testing.T) map[string]*sqlsink.Sink {
	t.Helper()
	out := map[string]*sqlsink.Sink{}
	s, err := sqlsink.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "tenantgate.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	out["sqlite"] = s
	if pg, ok := testdb.Postgres(t); ok {
		p, err := sqlsink.OpenPostgres(t.Context(), pg.DSN(), sqlsink.PostgresOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		out["postgres"] = p
		// The same tests on PostgreSQL's multi-row INSERT path, which Put
		// takes when the database/sql driver is not pgx's.
		q, err := sqlsink.OpenPostgres(t.Context(), pg.DSN(), sqlsink.PostgresOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { q.Close() })
		q.SetNoCopy(true)
		out["postgres-insert"] = q
	} else {
		t.Log("PostgreSQL skipped: set TENANTGATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it")
	}
	return out
}

// customer returns a customer ID unique to this run, so that runs sharing
// a database (the postgres and postgres-insert subtests share a schema,
// the benchmark uses TENANTGATE_TEST_POSTGRES's) do not see each other's
// rows.
func customer(name string) string {
	return name + "-" + rand.Text()[:8]
}

func user(i int, title string) usersync.User {
	return usersync.User{
		ID:                fmt.Sprintf("id-%04d", i),
		UserPrincipalName: fmt.Sprintf("user%04d@contoso.example", i),
		DisplayName:       fmt.Sprintf("User %04d", i),
		JobTitle:          title,
		UsageLocation:     "IT",
		AccountEnabled:    true,
	}
}

func users(from, to int, title string) []usersync.User {
	var out []usersync.User
	for i := from; i < to; i++ {
		out = append(out, user(i, title))
	}
	return out
}

func all(t *testing.T, s *sqlsink.Sink, c string) []usersync.User {
	t.Helper()
	var out []usersync.User
	var opts sqlsink.ListOptions
	for {
		p, err := s.List(t.Context(), c, opts)
		require.NoError(t, err)
		out = append(out, p.Users...)
		if p.Next == "" {
			return out
		}
		opts.After = p.Next
	}
}

func put(t *testing.T, p usersync.Pass, us []usersync.User) usersync.Counts {
	t.Helper()
	c, err := p.Put(t.Context(), us)
	require.NoError(t, err)
	return c
}

func TestPasses(t *testing.T) {
	t.Parallel()
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			c, other := customer("c"), customer("other")

			// Another customer's rows are never touched.
			po, err := s.Begin(ctx, other)
			require.NoError(t, err)
			put(t, po, users(0, 5, "Engineer"))
			_, err = po.Commit(ctx)
			require.NoError(t, err)

			p, err := s.Begin(ctx, c)
			require.NoError(t, err)
			assert.Equal(t, usersync.Counts{Added: 600}, put(t, p, users(0, 600, "Engineer")), "first batch")
			assert.Equal(t, usersync.Counts{Added: 400}, put(t, p, users(600, 1000, "Engineer")), "second batch")
			got, err := p.Commit(ctx)
			require.NoError(t, err, "commit")
			require.Equal(t, usersync.Counts{Added: 1000}, got, "commit")

			// Second pass: users 0-99 changed, 100-899 unchanged, 900-999
			// gone, 1000-1049 new.
			p, err = s.Begin(ctx, c)
			require.NoError(t, err)
			batch := append(users(0, 100, "Manager"), users(100, 900, "Engineer")...)
			batch = append(batch, users(1000, 1050, "Analyst")...)
			assert.Equal(t, usersync.Counts{Added: 50, Changed: 100, Unchanged: 800}, put(t, p, batch), "second pass put")
			n, _ := s.Count(ctx, c)
			assert.Equal(t, 1050, n, "users before commit (nothing removed yet)")
			got, err = p.Commit(ctx)
			require.NoError(t, err, "second commit")
			require.Equal(t, usersync.Counts{Added: 50, Changed: 100, Unchanged: 800, Removed: 100}, got, "second commit")
			list := all(t, s, c)
			require.Len(t, list, 950, "listed users")
			for i, u := range list {
				want := i
				if i >= 900 {
					want = i + 100
				}
				title := map[bool]string{true: "Manager", false: "Engineer"}[want < 100]
				if want >= 1000 {
					title = "Analyst"
				}
				require.Equal(t, user(want, title), u, "user %d", i)
			}
			pi, err := s.LastPass(ctx, c)
			assert.NoError(t, err, "LastPass")
			assert.Equal(t, sqlsink.PassCommitted, pi.State, "LastPass state")
			assert.Equal(t, int64(2), pi.Generation, "LastPass generation")
			assert.Equal(t, 100, pi.Counts.Removed, "LastPass removed")
			assert.False(t, pi.CommittedAt.IsZero(), "LastPass CommittedAt is zero")

			// An aborted pass removes nothing.
			p, err = s.Begin(ctx, c)
			require.NoError(t, err)
			put(t, p, users(0, 10, "Director"))
			require.NoError(t, p.Abort(context.WithoutCancel(ctx)))
			n, _ = s.Count(ctx, c)
			assert.Equal(t, 950, n, "users after abort")
			pi, _ = s.LastPass(ctx, c)
			assert.Equal(t, sqlsink.PassAborted, pi.State, "after abort LastPass state")
			assert.Equal(t, 100, pi.Counts.Removed, "after abort LastPass removed")
			n, _ = s.Count(ctx, other)
			assert.Equal(t, 5, n, "other customer's users")
		})
	}
}

func TestSuperseded(t *testing.T) {
	t.Parallel()
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			c := customer("c")
			old, err := s.Begin(ctx, c)
			require.NoError(t, err)
			put(t, old, users(0, 3, "Engineer"))
			newer, err := s.Begin(ctx, c)
			require.NoError(t, err)
			_, err = old.Put(ctx, users(3, 4, "Engineer"))
			assert.ErrorIs(t, err, sqlsink.ErrSuperseded, "put on superseded pass")
			_, err = old.Commit(ctx)
			assert.ErrorIs(t, err, sqlsink.ErrSuperseded, "commit of superseded pass")
			put(t, newer, users(1, 2, "Engineer"))
			got, err := newer.Commit(ctx)
			assert.NoError(t, err, "newer commit")
			assert.Equal(t, usersync.Counts{Unchanged: 1, Removed: 2}, got, "newer commit")
		})
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			c := customer("c")
			p, _ := s.Begin(ctx, c)
			put(t, p, users(0, 250, "Engineer"))
			_, err := p.Commit(ctx)
			require.NoError(t, err)
			var sizes []int
			opts := sqlsink.ListOptions{Limit: 100}
			for {
				pg, err := s.List(ctx, c, opts)
				require.NoError(t, err)
				sizes = append(sizes, len(pg.Users))
				if pg.Next == "" {
					break
				}
				opts.After = pg.Next
			}
			assert.Equal(t, "[100 100 50]", fmt.Sprint(sizes), "page sizes")
			for _, bad := range []string{"!!", "bm8tc2VwYXJhdG9y"} {
				_, err := s.List(ctx, c, sqlsink.ListOptions{After: bad})
				assert.ErrorIs(t, err, sqlsink.ErrBadCursor, "List(After: %q)", bad)
			}
			_, err = s.LastPass(ctx, customer("never"))
			assert.ErrorIs(t, err, sqlsink.ErrNoPass, "LastPass of an unknown customer")
		})
	}
}

func TestListMatch(t *testing.T) {
	t.Parallel()
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			customer := "match-" + rand.Text()
			var users []usersync.User
			for i := range 2500 {
				u := usersync.User{ID: fmt.Sprintf("id-%05d", i), UserPrincipalName: fmt.Sprintf("user%05d@x.example", i)}
				if i%3 == 0 {
					u.Teams = &usersync.TeamsConfig{EnterpriseVoiceEnabled: true}
				}
				users = append(users, u)
			}
			p, err := s.Begin(ctx, customer)
			require.NoError(t, err)
			_, err = p.Put(ctx, users)
			require.NoError(t, err)
			_, err = p.Commit(ctx)
			require.NoError(t, err)
			voice := func(u *usersync.User) bool { return u.Teams != nil && u.Teams.EnterpriseVoiceEnabled }
			var got []string
			after, pages := "", 0
			for {
				page, err := s.List(ctx, customer, sqlsink.ListOptions{After: after, Limit: 300, Match: voice})
				require.NoError(t, err)
				pages++
				for _, u := range page.Users {
					require.True(t, voice(&u), "listed %s, which does not match", u.ID)
					got = append(got, u.ID)
				}
				if after = page.Next; after == "" {
					break
				}
			}
			assert.Equal(t, 3, pages, "pages of matching users")
			if assert.Len(t, got, 834, "matching users listed") {
				assert.Equal(t, "id-00000", got[0], "first matching user")
				assert.Equal(t, "id-02499", got[833], "last matching user")
			}
			n, err := s.CountMatching(ctx, customer, voice)
			assert.NoError(t, err, "CountMatching")
			assert.Equal(t, 834, n, "CountMatching")
		})
	}
}
