package fleet_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// Example runs a fleet on SQLite against the in-memory fake cloud: one
// customer in app-registration mode is enrolled, gets a health check on
// demand, and the fleet listing shows its state and its schedule.
func Example() {
	ctx := context.Background()
	fake := m365test.NewServer(&m365test.Options{InMemory: true})
	defer fake.Close()
	tenant, _ := fake.AddTenant(m365test.TenantOptions{Domains: []string{"woodgrove.onmicrosoft.com"}, DisplayName: "Woodgrove", Users: 10})
	const appID, secret = "e0e0e0e0-1111-2222-3333-444444444444", "woodgrove-app-secret-test-value-01"
	_, _ = fake.AddApp(m365test.AppOptions{ClientID: appID, HomeTenant: tenant.ID, SingleTenant: true,
		Secrets: []m365test.Secret{{Value: secret}}, ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", "TeamsUserConfiguration.Read.All"}})
	_ = fake.GrantAdminConsent(tenant.ID, appID)
	prov, _ := fake.AddProvider(m365test.ProviderOptions{PublicBaseURL: "https://portal.example/m365"})

	key, _ := tokenstore.GenerateKey("example")
	kr, _ := tokenstore.NewKeyring(key)
	store := tokenstore.New(memstore.New(), kr)
	m, err := m365access.New(m365access.Config{Store: store, HTTPClient: prov.HTTPClient, Logger: slog.New(slog.DiscardHandler),
		Provider: m365access.ProviderConfig{ClientID: prov.ClientID, ClientSecret: prov.ClientSecret, PublicBaseURL: prov.PublicBaseURL}})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "fleet-example")
	defer os.RemoveAll(dir)
	f, err := fleet.New(ctx, fleet.Config{SQLitePath: filepath.Join(dir, "jobs.db"), Access: m, Store: store,
		CheckInterval: 6 * time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := f.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer f.Stop(ctx)

	mode, tid, app, sec := m365access.ModeAppRegistration, tenant.ID, appID, secret
	if _, err := m.SaveSettings(ctx, "woodgrove", m365access.SettingsUpdate{Tenant: &tid, Mode: &mode, AppClientID: &app, AppClientSecret: &sec}); err != nil {
		fmt.Println(err)
		return
	}
	_ = f.Enroll(ctx, "woodgrove", "Woodgrove Bank")
	if _, err := f.CheckNow(ctx, "woodgrove"); err != nil {
		fmt.Println(err)
		return
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := f.Customer(ctx, "woodgrove"); err == nil && c.Checks == 1 {
			break
		}
	}
	page, _ := f.Customers(ctx, fleet.ListOptions{})
	for _, c := range page.Customers {
		fmt.Printf("%s (%s): %s, %d check, next check in about %v\n", c.Name, c.AuthMode, c.State, c.Checks,
			time.Until(*c.NextCheckAt).Round(time.Hour))
	}
	// Output:
	// Woodgrove Bank (appRegistration): connected, 1 check, next check in about 6h0m0s
}
