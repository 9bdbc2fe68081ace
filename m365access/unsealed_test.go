package m365access

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/sqlitestore"
)

// Someone with write access to the database but no sealing key flips a
// settings row to sealed=0 and writes plaintext settings of their choosing
// (their own app registration). The Manager refuses the row instead of
// using it, and saving on top of it fails too.
func TestUnsealedSettingsRowRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tg.db")
	b, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	key, err := tokenstore.GenerateKey("k1")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(key)
	require.NoError(t, err)
	m, _, _ := newTestManager(t, func(c *Config) { s := tokenstore.New(b, kr); c.Store, c.Locker = s, s })
	const tenant = "aaaaaaaa-0000-0000-0000-000000000001"
	_, err = m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(tenant), Mode: ptr(ModeAppRegistration),
		AppClientID: ptr("11111111-2222-3333-4444-555555555555"), AppClientSecret: ptr("the-real-secret-0123456789")})
	require.NoError(t, err)

	planted, _ := json.Marshal(settings{Tenant: tenant, TenantID: tenant, Mode: ModeAppRegistration,
		AppClientID: "99999999-9999-9999-9999-999999999999", AppSecret: "attacker-secret-0123456789"})
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	res, err := db.ExecContext(ctx, `UPDATE tokenstore_records SET sealed = 0, data = ? WHERE customer = 'c1' AND kind = ?`, planted, kindSettings)
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	require.Equal(t, int64(1), n, "rows updated")

	s, err := m.GetSettings(ctx, "c1")
	require.ErrorIs(t, err, tokenstore.ErrNotSealed, "GetSettings of a planted row = %+v", s)
	_, err = m.SaveSettings(ctx, "c1", SettingsUpdate{UserFilter: ptr("")})
	require.ErrorIs(t, err, tokenstore.ErrNotSealed, "SaveSettings over a planted row")
	_, err = m.Credential("c1").GetToken(ctx, graphScope())
	require.Error(t, err, "a credential was built from planted settings")
}

// A planted unsealed sign-in transaction (whose verifier and nonce the
// writer knows) is refused like an unknown one would be.
func TestUnsealedPendingRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, backend := sealedStore(t)
	m, _, _ := newTestManager(t, func(c *Config) { c.Store, c.Locker = store, store })
	_, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("aaaaaaaa-0000-0000-0000-000000000001")})
	require.NoError(t, err)
	p, _ := json.Marshal(pending{Flow: flowSignIn, Customer: "c1", BindingHash: hashBinding(binding), Verifier: "v", Nonce: "n",
		ExpiresAt: m.now().Add(DefaultTransactionTTL)})
	_, err = backend.Put(ctx, tokenstore.Record{Key: pendingKey("planted-state"), Data: p}, 0)
	require.NoError(t, err)
	_, err = m.Complete(ctx, "planted-state", "code", binding)
	require.ErrorIs(t, err, tokenstore.ErrNotSealed, "Complete with a planted transaction")
}
