package voice_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/voice"
)

var discard = slog.New(slog.DiscardHandler)

// emitted hands the Service's events to the example.
type emitted chan events.Event

func (c emitted) Emit(_ context.Context, e events.Event) error { c <- e; return nil }

// Example provisions a joiner against the fake Microsoft cloud: the
// customer's app registration holds the voice permissions; the inventory
// is read, a Milan range defined, and user 4 gets a Teams Phone license,
// the range's next free number and two voice policies in one operation;
// then its readiness is read.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "voice-example")
	defer os.RemoveAll(dir)

	// The fake cloud: a tenant of 100 users and the customer's app
	// registration with the read and provisioning permissions.
	fake := m365test.NewServer(&m365test.Options{NumberOperationDelay: 300 * time.Millisecond})
	defer fake.Close()
	tenant, _ := fake.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 100})
	provider, _ := fake.AddProvider(m365test.ProviderOptions{PublicBaseURL: "https://portal.example/m365"})
	app, _ := fake.AddApp(m365test.AppOptions{HomeTenant: tenant.ID, Secrets: []m365test.Secret{{Value: "customer-app-secret-0123456789"}},
		ApplicationPermissions: append([]string{"User.Read.All", m365access.TeamsPermission}, m365access.VoicePermissions...)})
	_ = fake.GrantAdminConsent(tenant.ID, app.ClientID)

	key, _ := tokenstore.GenerateKey("k1")
	keyring, _ := tokenstore.NewKeyring(key)
	m, _ := m365access.New(m365access.Config{Store: tokenstore.New(memstore.New(), keyring), HTTPClient: provider.HTTPClient, Logger: discard,
		Provider: m365access.ProviderConfig{ClientID: provider.ClientID, ClientSecret: provider.ClientSecret, PublicBaseURL: provider.PublicBaseURL}})
	domain, mode, appID, secret := tenant.Domain(), m365access.ModeAppRegistration, app.ClientID, "customer-app-secret-0123456789"
	if _, err := m.SaveSettings(ctx, "contoso", m365access.SettingsUpdate{Tenant: &domain, Mode: &mode, AppClientID: &appID, AppClientSecret: &secret}); err != nil {
		panic(err)
	}

	// The Service, its store on SQLite, its jobs on a River client (the
	// fleet's, when it is a fleet plugin).
	store, err := voice.OpenSQLite(ctx, filepath.Join(dir, "voice.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	done := make(emitted, 1)
	svc, err := voice.New(voice.Config{Access: m, Store: store, HTTPClient: provider.HTTPClient, Events: done, Logger: discard,
		PollInterval: 300 * time.Millisecond})
	if err != nil {
		panic(err)
	}
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
	client, err := river.NewClient(driver, &river.Config{Workers: workers,
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

	// The inventory and the provider's Milan range.
	n, err := svc.Refresh(ctx, "contoso")
	if err != nil {
		panic(err)
	}
	if _, err := svc.PutRanges(ctx, "contoso", []voice.Range{{Name: "Milan", From: "+39020000000", To: "+39029999999", Type: voice.DirectRouting, QuarantineDays: 30}}); err != nil {
		panic(err)
	}
	free, _ := svc.Numbers(ctx, "contoso", voice.NumberQuery{Range: "Milan", Status: "unassigned"})
	fmt.Printf("%d numbers, %d free in Milan\n", n, free.Total)

	// The joiner: license, next number, policies.
	before, _ := svc.Voice(ctx, "contoso", "user00004@contoso.onmicrosoft.com")
	fmt.Println("ready before:", before.Ready)
	op, err := svc.SetVoice(ctx, "contoso", "user00004@contoso.onmicrosoft.com", voice.SetRequest{
		Number: "next", Range: "Milan", Licenses: "auto",
		Policies: map[string]string{voice.PolicyVoiceRouting: "VRP-IT", voice.PolicyDialPlan: "DP-IT"},
	}, "alice@provider.example")
	if err != nil {
		panic(err)
	}
	e := <-done
	op, _ = svc.Operation(ctx, "contoso", op.ID)
	fmt.Println(e.Type, e.Data.Number, op.State)
	for _, st := range op.Items[0].Steps {
		fmt.Println(" ", st.Step, st.Status)
	}
	after, _ := svc.Voice(ctx, "contoso", "user00004@contoso.onmicrosoft.com")
	fmt.Println("ready after:", after.Ready, *after.Policies[voice.PolicyVoiceRouting], after.Licenses)
	// Output:
	// 100 numbers, 7 free in Milan
	// ready before: false
	// voice.assigned +39020000004 succeeded
	//   license succeeded
	//   number succeeded
	//   policy:OnlineVoiceRoutingPolicy succeeded
	//   policy:TenantDialPlan succeeded
	// ready after: true VRP-IT [MCOEV MCOMEETADV SPE_E3]
}
