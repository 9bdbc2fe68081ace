package sqlsink

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tenantgate/tenantgate/usersync"
)

// TestUpgradeFromSchema1 writes a database the way schema version 1 did
// (users without Teams data), opens it with this build, and checks that
// the migration kept every user and that the next sync adds Teams data
// as changes.
func TestUpgradeFromSchema1(t *testing.T) {
	dbs := map[string]struct {
		db *sql.DB
		d  Dialect
	}{}
	path := filepath.Join(t.TempDir(), "v1.db")
	lite, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	dbs["sqlite"] = struct {
		db *sql.DB
		d  Dialect
	}{lite, SQLite}
	if dsn := os.Getenv("TENANTGATE_TEST_POSTGRES"); dsn != "" {
		// A fresh schema of its own, so the shared database's tables
		// (already at the latest version) are not involved.
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close() })
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "upgrade_" + hex.EncodeToString(b[:])
		if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
		sep := "?"
		if containsByte(dsn, '?') {
			sep = "&"
		}
		pg, err := sql.Open("pgx", dsn+sep+"search_path="+schema)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pg.Close() })
		dbs["postgres"] = struct {
			db *sql.DB
			d  Dialect
		}{pg, Postgres}
	}
	for name, x := range dbs {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			if err := migrateTo(ctx, x.db, x.d, 1); err != nil {
				t.Fatal(err)
			}
			// Rows as version 1 wrote them: usersync.User JSON without
			// Teams, and its hash.
			var old []usersync.User
			for i := range 5 {
				u := usersync.User{ID: fmt.Sprintf("id-%d", i), UserPrincipalName: fmt.Sprintf("user%05d@contoso.example", i),
					DisplayName: fmt.Sprintf("User %05d", i), UsageLocation: "IT", AccountEnabled: true, ProxyAddresses: []string{"SMTP:x"}}
				old = append(old, u)
				data, _ := json.Marshal(u)
				h := u.Hash()
				if _, err := x.db.ExecContext(ctx, x.d.Rebind(`INSERT INTO tenantgate_synced_users
					(customer, id, user_principal_name, display_name, data, hash, generation, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, 1, 1)`), "c1", u.ID, u.UserPrincipalName, u.DisplayName, string(data), hex.EncodeToString(h[:])); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := x.db.ExecContext(ctx, x.d.Rebind(`INSERT INTO tenantgate_user_sync_passes
				(customer, generation, state, started_at, finished_at, added, changed, unchanged, removed, committed_at)
				VALUES ('c1', 1, 'committed', 1, 2, 5, 0, 0, 0, 2)`)); err != nil {
				t.Fatal(err)
			}

			s, err := New(ctx, x.db, x.d)
			if err != nil {
				t.Fatal(err)
			}
			var v int
			if err := x.db.QueryRowContext(ctx, `SELECT max(version) FROM tenantgate_migrations WHERE line = 'synced_users'`).Scan(&v); err != nil || v != SchemaVersion {
				t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion)
			}
			page, err := s.List(ctx, "c1", ListOptions{})
			if err != nil || !reflect.DeepEqual(page.Users, old) {
				t.Fatalf("after the upgrade: %+v, %v; want the version 1 users", page.Users, err)
			}
			if pi, err := s.LastPass(ctx, "c1"); err != nil || pi.Counts.Added != 5 || pi.State != PassCommitted {
				t.Errorf("last pass %+v, %v", pi, err)
			}

			// The same users, unchanged: unchanged. With Teams data: changed.
			p, _ := s.Begin(ctx, "c1")
			if c, err := p.Put(ctx, old[:2]); err != nil || c.Unchanged != 2 {
				t.Fatalf("unchanged users: %+v, %v", c, err)
			}
			withTeams := append([]usersync.User(nil), old[2:]...)
			withTeams[0].Teams = &usersync.TeamsConfig{AccountType: "user", EnterpriseVoiceEnabled: true,
				TelephoneNumbers: []usersync.TelephoneNumber{{Number: "+39020000024", Category: "primary"}},
				Policies:         map[string]string{"OnlineVoiceRoutingPolicy": "VRP-IT"}}
			withTeams[1].Teams = &usersync.TeamsConfig{AccountType: "user"}
			if c, err := p.Put(ctx, withTeams); err != nil || c.Changed != 2 || c.Unchanged != 1 {
				t.Fatalf("users with Teams data: %+v, %v; want 2 changed, 1 unchanged", c, err)
			}
			if c, err := p.Commit(ctx); err != nil || c.Removed != 0 {
				t.Fatalf("commit: %+v, %v", c, err)
			}
			got, err := s.ByLineURI(ctx, "c1", "tel:+39020000024")
			if err != nil || len(got) != 1 || got[0].ID != "id-2" || got[0].Teams.Policies["OnlineVoiceRoutingPolicy"] != "VRP-IT" {
				t.Errorf("by line URI: %+v, %v", got, err)
			}
			// A newer schema than this build knows is refused.
			if _, err := x.db.ExecContext(ctx, x.d.Rebind(`INSERT INTO tenantgate_migrations (line, version, applied_at) VALUES ('synced_users', ?, 0)`), SchemaVersion+1); err != nil {
				t.Fatal(err)
			}
			if _, err := New(ctx, x.db, x.d); err == nil {
				t.Error("a newer schema was accepted")
			}
		})
	}
}

func containsByte(s string, c byte) bool {
	for i := range len(s) {
		if s[i] == c {
			return true
		}
	}
	return false
}
