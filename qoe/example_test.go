package qoe_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// Example wires the QoE service to a River client on SQLite and to the
// fake Microsoft cloud, places the demo's first 100 calls and reads the
// summary.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "qoe-example")
	defer os.RemoveAll(dir)

	// The fake cloud: a tenant and the customer's QoE app with its role.
	fake := m365test.NewServer(nil)
	defer fake.Close()
	tenant, _ := fake.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 100})
	provider, _ := fake.AddProvider(m365test.ProviderOptions{PublicBaseURL: "https://portal.example/m365"})
	app, _ := fake.AddApp(m365test.AppOptions{HomeTenant: tenant.ID, Secrets: []m365test.Secret{{Value: "qoe-app-secret-0123456789"}},
		ApplicationPermissions: []string{qoe.RoleCallRecords}})
	_ = fake.GrantAdminConsent(tenant.ID, app.ClientID)

	// m365access keeps the customer's QoE settings (sealed).
	key, _ := tokenstore.GenerateKey("k1")
	keyring, _ := tokenstore.NewKeyring(key)
	m, _ := m365access.New(m365access.Config{Store: tokenstore.New(memstore.New(), keyring), HTTPClient: provider.HTTPClient, Logger: discard,
		Provider: m365access.ProviderConfig{ClientID: provider.ClientID, ClientSecret: provider.ClientSecret, PublicBaseURL: provider.PublicBaseURL}})
	domain, mode, admin, appID, secret := tenant.Domain(), m365access.ModeToken, tenant.AdminUPN(), app.ClientID, "qoe-app-secret-0123456789"
	if _, err := m.SaveSettings(ctx, "contoso", m365access.SettingsUpdate{Tenant: &domain, Mode: &mode, ServiceAccount: &admin,
		QoEAppID: &appID, QoEClientSecret: &secret}); err != nil {
		panic(err)
	}

	// The receiver on a public URL (https in production).
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	store, err := qoe.OpenSQLite(ctx, filepath.Join(dir, "qoe.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	svc, err := qoe.New(qoe.Config{Access: m, Store: store, HTTPClient: provider.HTTPClient, NotificationURL: srv.URL + "/qoe/notifications", Logger: discard})
	if err != nil {
		panic(err)
	}
	mux.Handle("POST /qoe/notifications", svc.Handler())

	// River: the service's workers and periodic jobs on the host's client.
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	db.SetMaxOpenConns(1)
	defer db.Close()
	driver := riversqlite.New(db)
	migrator, _ := rivermigrate.New(driver, nil)
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		panic(err)
	}
	workers := river.NewWorkers()
	if err := svc.AddWorkers(workers); err != nil {
		panic(err)
	}
	client, err := river.NewClient(driver, &river.Config{Workers: workers, PeriodicJobs: svc.PeriodicJobs(),
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}}, FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, Logger: discard})
	if err != nil {
		panic(err)
	}
	if err := svc.UseInserter(ctx, client); err != nil {
		panic(err)
	}
	if err := client.Start(ctx); err != nil {
		panic(err)
	}
	defer client.Stop(ctx)

	if err := svc.EnsureSubscription(ctx, "contoso"); err != nil {
		panic(err)
	}
	if _, err := fake.PlaceCalls(ctx, tenant.ID, 100); err != nil {
		panic(err)
	}
	for svc.Stats().Stored < 100 {
		time.Sleep(20 * time.Millisecond)
	}
	sum, _ := svc.Summary(ctx, "contoso", time.Now(), time.Now())
	fmt.Printf("%d calls, %d poor (%.0f%%): %d jitter, %d packet loss, %d round trip\n", sum.Calls, sum.PoorCalls, 100*sum.PoorRate,
		sum.PoorByReason.Jitter, sum.PoorByReason.PacketLoss, sum.PoorByReason.RoundTrip)
	// Output: 100 calls, 24 poor (24%): 10 jitter, 10 packet loss, 4 round trip
}
