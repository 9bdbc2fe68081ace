package sqlsink_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// sinks returns the sinks under test: SQLite always, PostgreSQL when
// TENANTGATE_TEST_POSTGRES holds a connection URL.
func sinks(t *testing.T) map[string]*sqlsink.Sink {
	t.Helper()
	out := map[string]*sqlsink.Sink{}
	s, err := sqlsink.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "tenantgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out["sqlite"] = s
	if dsn := os.Getenv("TENANTGATE_TEST_POSTGRES"); dsn != "" {
		p, err := sqlsink.OpenPostgres(t.Context(), dsn, sqlsink.PostgresOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		out["postgres"] = p
		// The same tests on PostgreSQL's multi-row INSERT path, which Put
		// takes when the database/sql driver is not pgx's.
		q, err := sqlsink.OpenPostgres(t.Context(), dsn, sqlsink.PostgresOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Close() })
		q.SetNoCopy(true)
		out["postgres-insert"] = q
	} else {
		t.Log("PostgreSQL skipped: set TENANTGATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it")
	}
	return out
}

// customer returns a customer ID unique to this run, so that tests sharing
// a PostgreSQL database do not see each other's rows.
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
		if err != nil {
			t.Fatal(err)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPasses(t *testing.T) {
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			c, other := customer("c"), customer("other")

			// Another customer's rows are never touched.
			po, err := s.Begin(ctx, other)
			if err != nil {
				t.Fatal(err)
			}
			put(t, po, users(0, 5, "Engineer"))
			if _, err := po.Commit(ctx); err != nil {
				t.Fatal(err)
			}

			p, err := s.Begin(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if got := put(t, p, users(0, 600, "Engineer")); got != (usersync.Counts{Added: 600}) {
				t.Errorf("first batch: %+v", got)
			}
			if got := put(t, p, users(600, 1000, "Engineer")); got != (usersync.Counts{Added: 400}) {
				t.Errorf("second batch: %+v", got)
			}
			got, err := p.Commit(ctx)
			if err != nil || got != (usersync.Counts{Added: 1000}) {
				t.Fatalf("commit: %+v, %v", got, err)
			}

			// Second pass: users 0-99 changed, 100-899 unchanged, 900-999
			// gone, 1000-1049 new.
			p, err = s.Begin(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			batch := append(users(0, 100, "Manager"), users(100, 900, "Engineer")...)
			batch = append(batch, users(1000, 1050, "Analyst")...)
			if got := put(t, p, batch); got != (usersync.Counts{Added: 50, Changed: 100, Unchanged: 800}) {
				t.Errorf("second pass put: %+v", got)
			}
			if n, _ := s.Count(ctx, c); n != 1050 {
				t.Errorf("before commit: %d users, want 1050 (nothing removed yet)", n)
			}
			got, err = p.Commit(ctx)
			if err != nil || got != (usersync.Counts{Added: 50, Changed: 100, Unchanged: 800, Removed: 100}) {
				t.Fatalf("second commit: %+v, %v", got, err)
			}
			list := all(t, s, c)
			if len(list) != 950 {
				t.Fatalf("listed %d users, want 950", len(list))
			}
			for i, u := range list {
				want := i
				if i >= 900 {
					want = i + 100
				}
				title := map[bool]string{true: "Manager", false: "Engineer"}[want < 100]
				if want >= 1000 {
					title = "Analyst"
				}
				if !reflect.DeepEqual(u, user(want, title)) {
					t.Fatalf("user %d = %+v, want %+v", i, u, user(want, title))
				}
			}
			pi, err := s.LastPass(ctx, c)
			if err != nil || pi.State != sqlsink.PassCommitted || pi.Generation != 2 || pi.Counts.Removed != 100 || pi.CommittedAt.IsZero() {
				t.Errorf("LastPass = %+v, %v", pi, err)
			}

			// An aborted pass removes nothing.
			p, err = s.Begin(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			put(t, p, users(0, 10, "Director"))
			if err := p.Abort(context.WithoutCancel(ctx)); err != nil {
				t.Fatal(err)
			}
			if n, _ := s.Count(ctx, c); n != 950 {
				t.Errorf("after abort: %d users, want 950", n)
			}
			pi, _ = s.LastPass(ctx, c)
			if pi.State != sqlsink.PassAborted || pi.Counts.Removed != 100 {
				t.Errorf("after abort LastPass = %+v", pi)
			}
			if n, _ := s.Count(ctx, other); n != 5 {
				t.Errorf("other customer: %d users, want 5", n)
			}
		})
	}
}

func TestSuperseded(t *testing.T) {
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			c := customer("c")
			old, err := s.Begin(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			put(t, old, users(0, 3, "Engineer"))
			newer, err := s.Begin(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := old.Put(ctx, users(3, 4, "Engineer")); !errors.Is(err, sqlsink.ErrSuperseded) {
				t.Errorf("put on superseded pass: %v", err)
			}
			if _, err := old.Commit(ctx); !errors.Is(err, sqlsink.ErrSuperseded) {
				t.Errorf("commit of superseded pass: %v", err)
			}
			put(t, newer, users(1, 2, "Engineer"))
			got, err := newer.Commit(ctx)
			if err != nil || got != (usersync.Counts{Unchanged: 1, Removed: 2}) {
				t.Errorf("newer commit: %+v, %v", got, err)
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			c := customer("c")
			p, _ := s.Begin(ctx, c)
			put(t, p, users(0, 250, "Engineer"))
			if _, err := p.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			var sizes []int
			opts := sqlsink.ListOptions{Limit: 100}
			for {
				pg, err := s.List(ctx, c, opts)
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(pg.Users))
				if pg.Next == "" {
					break
				}
				opts.After = pg.Next
			}
			if fmt.Sprint(sizes) != "[100 100 50]" {
				t.Errorf("page sizes %v, want [100 100 50]", sizes)
			}
			for _, bad := range []string{"!!", "bm8tc2VwYXJhdG9y"} {
				if _, err := s.List(ctx, c, sqlsink.ListOptions{After: bad}); !errors.Is(err, sqlsink.ErrBadCursor) {
					t.Errorf("List(After: %q) err = %v, want ErrBadCursor", bad, err)
				}
			}
			if _, err := s.LastPass(ctx, customer("never")); !errors.Is(err, sqlsink.ErrNoPass) {
				t.Errorf("LastPass of an unknown customer: %v", err)
			}
		})
	}
}

func TestListMatch(t *testing.T) {
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
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
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Put(ctx, users); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			voice := func(u *usersync.User) bool { return u.Teams != nil && u.Teams.EnterpriseVoiceEnabled }
			var got []string
			after, pages := "", 0
			for {
				page, err := s.List(ctx, customer, sqlsink.ListOptions{After: after, Limit: 300, Match: voice})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, u := range page.Users {
					if !voice(&u) {
						t.Fatalf("listed %s, which does not match", u.ID)
					}
					got = append(got, u.ID)
				}
				if after = page.Next; after == "" {
					break
				}
			}
			if len(got) != 834 || pages != 3 || got[0] != "id-00000" || got[833] != "id-02499" {
				t.Errorf("listed %d matching users in %d pages (first %s); want 834 in 3", len(got), pages, got[0])
			}
			if n, err := s.CountMatching(ctx, customer, voice); err != nil || n != 834 {
				t.Errorf("CountMatching = %d, %v; want 834", n, err)
			}
		})
	}
}
