package sqlsink

import (
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/usersync"
)

// TestUpgradeFromSchema1 writes a database the way schema version 1 did
// (users without Teams data), opens it with this build, and checks that
// the migration kept every user and that the next sync adds Teams data
// as changes.
func TestUpgradeFromSchema1(t *testing.T) {
	t.Parallel()
	dbs := map[string]struct {
		db *sql.DB
		d  Dialect
	}{}
	path := filepath.Join(t.TempDir(), "v1.db")
	lite, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	require.NoError(t, err)
	t.Cleanup(func() { lite.Close() })
	dbs["sqlite"] = struct {
		db *sql.DB
		d  Dialect
	}{lite, SQLite}
	// A fresh schema of its own (testdb.Postgres), where no tables are
	// yet.
	if pg, ok := testdb.Postgres(t); ok {
		dbs["postgres"] = struct {
			db *sql.DB
			d  Dialect
		}{pg.DB, Postgres}
	}
	for name, x := range dbs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			require.NoError(t, migrateTo(ctx, x.db, x.d, 1))
			// Rows as version 1 wrote them: usersync.User JSON without
			// Teams, and its hash.
			var old []usersync.User
			for i := range 5 {
				u := usersync.User{ID: fmt.Sprintf("id-%d", i), UserPrincipalName: fmt.Sprintf("user%05d@contoso.example", i),
					DisplayName: fmt.Sprintf("User %05d", i), UsageLocation: "IT", AccountEnabled: true, ProxyAddresses: []string{"SMTP:x"}}
				old = append(old, u)
				data, _ := json.Marshal(u)
				h := u.Hash()
				_, err := x.db.ExecContext(ctx, x.d.Rebind(`INSERT INTO tenantgate_synced_users
					(customer, id, user_principal_name, display_name, data, hash, generation, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, 1, 1)`), "c1", u.ID, u.UserPrincipalName, u.DisplayName, string(data), hex.EncodeToString(h[:]))
				require.NoError(t, err)
			}
			_, err := x.db.ExecContext(ctx, x.d.Rebind(`INSERT INTO tenantgate_user_sync_passes
				(customer, generation, state, started_at, finished_at, added, changed, unchanged, removed, committed_at)
				VALUES ('c1', 1, 'committed', 1, 2, 5, 0, 0, 0, 2)`))
			require.NoError(t, err)

			s, err := New(ctx, x.db, x.d)
			require.NoError(t, err)
			var v int
			err = x.db.QueryRowContext(ctx, `SELECT max(version) FROM tenantgate_migrations WHERE line = 'synced_users'`).Scan(&v)
			require.NoError(t, err, "schema version")
			require.Equal(t, SchemaVersion, v, "schema version")
			page, err := s.List(ctx, "c1", ListOptions{})
			require.NoError(t, err, "after the upgrade")
			require.Equal(t, old, page.Users, "after the upgrade: want the version 1 users")
			pi, err := s.LastPass(ctx, "c1")
			assert.NoError(t, err, "last pass")
			assert.Equal(t, 5, pi.Counts.Added, "last pass added")
			assert.Equal(t, PassCommitted, pi.State, "last pass state")

			// The same users, unchanged: unchanged. With Teams data: changed.
			p, _ := s.Begin(ctx, "c1")
			c, err := p.Put(ctx, old[:2])
			require.NoError(t, err, "unchanged users")
			require.Equal(t, 2, c.Unchanged, "unchanged users")
			withTeams := append([]usersync.User(nil), old[2:]...)
			withTeams[0].Teams = &usersync.TeamsConfig{AccountType: "user", EnterpriseVoiceEnabled: true,
				TelephoneNumbers: []usersync.TelephoneNumber{{Number: "+39020000024", Category: "primary"}},
				Policies:         map[string]string{"OnlineVoiceRoutingPolicy": "VRP-IT"}}
			withTeams[1].Teams = &usersync.TeamsConfig{AccountType: "user"}
			c, err = p.Put(ctx, withTeams)
			require.NoError(t, err, "users with Teams data")
			require.Equal(t, 2, c.Changed, "users with Teams data: changed")
			require.Equal(t, 1, c.Unchanged, "users with Teams data: unchanged")
			c, err = p.Commit(ctx)
			require.NoError(t, err, "commit")
			require.Equal(t, 0, c.Removed, "commit: removed")
			got, err := s.ByLineURI(ctx, "c1", "tel:+39020000024")
			assert.NoError(t, err, "by line URI")
			if assert.Len(t, got, 1, "by line URI") {
				assert.Equal(t, "id-2", got[0].ID, "by line URI")
				if assert.NotNil(t, got[0].Teams, "by line URI: Teams") {
					assert.Equal(t, "VRP-IT", got[0].Teams.Policies["OnlineVoiceRoutingPolicy"], "by line URI: policy")
				}
			}
			// A newer schema than this build knows is refused.
			_, err = x.db.ExecContext(ctx, x.d.Rebind(`INSERT INTO tenantgate_migrations (line, version, applied_at) VALUES ('synced_users', ?, 0)`), SchemaVersion+1)
			require.NoError(t, err)
			_, err = New(ctx, x.db, x.d)
			assert.Error(t, err, "a newer schema was accepted")
		})
	}
}
