package m365access

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

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
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	key, err := tokenstore.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := tokenstore.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ := newTestManager(t, func(c *Config) { s := tokenstore.New(b, kr); c.Store, c.Locker = s, s })
	const tenant = "aaaaaaaa-0000-0000-0000-000000000001"
	if _, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(tenant), Mode: ptr(ModeAppRegistration),
		AppClientID: ptr("11111111-2222-3333-4444-555555555555"), AppClientSecret: ptr("the-real-secret-0123456789")}); err != nil {
		t.Fatal(err)
	}

	planted, _ := json.Marshal(settings{Tenant: tenant, TenantID: tenant, Mode: ModeAppRegistration,
		AppClientID: "99999999-9999-9999-9999-999999999999", AppSecret: "attacker-secret-0123456789"})
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.ExecContext(ctx, `UPDATE tokenstore_records SET sealed = 0, data = ? WHERE customer = 'c1' AND kind = ?`, planted, kindSettings)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("updated %d rows", n)
	}

	if s, err := m.GetSettings(ctx, "c1"); !errors.Is(err, tokenstore.ErrNotSealed) {
		t.Fatalf("GetSettings of a planted row = %+v, %v; want ErrNotSealed", s, err)
	}
	if _, err := m.SaveSettings(ctx, "c1", SettingsUpdate{UserFilter: ptr("")}); !errors.Is(err, tokenstore.ErrNotSealed) {
		t.Fatalf("SaveSettings over a planted row: %v; want ErrNotSealed", err)
	}
	if _, err := m.Credential("c1").GetToken(ctx, graphScope()); err == nil {
		t.Fatal("a credential was built from planted settings")
	}
}

// A planted unsealed sign-in transaction (whose verifier and nonce the
// writer knows) is refused like an unknown one would be.
func TestUnsealedPendingRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, backend := sealedStore(t)
	m, _, _ := newTestManager(t, func(c *Config) { c.Store, c.Locker = store, store })
	if _, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("aaaaaaaa-0000-0000-0000-000000000001")}); err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal(pending{Flow: flowSignIn, Customer: "c1", BindingHash: hashBinding(binding), Verifier: "v", Nonce: "n",
		ExpiresAt: m.now().Add(DefaultTransactionTTL)})
	if _, err := backend.Put(ctx, tokenstore.Record{Key: pendingKey("planted-state"), Data: p}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Complete(ctx, "planted-state", "code", binding); !errors.Is(err, tokenstore.ErrNotSealed) {
		t.Fatalf("Complete with a planted transaction: %v; want ErrNotSealed", err)
	}
}
