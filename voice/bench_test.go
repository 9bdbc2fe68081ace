package voice_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/voice"
)

// BenchmarkSetVoice sets one user's voice (a Teams Phone license, a
// number, two voice policies) per iteration against the fake cloud with
// its default number operation delay (m365test.DefaultNumberOperationDelay,
// 3 s), from the request to the operation's end. It reports the Graph
// requests per user (all, the writes, the operation polls) and the
// overhead over the fake's own delay.
func BenchmarkSetVoice(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	fake := m365test.NewServer(nil)
	defer fake.Close()
	tenant, _ := fake.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 1000})
	provider, _ := fake.AddProvider(m365test.ProviderOptions{PublicBaseURL: "https://portal.example/m365"})
	app, _ := fake.AddApp(m365test.AppOptions{HomeTenant: tenant.ID, Secrets: []m365test.Secret{{Value: "customer-app-secret-0123456789"}},
		ApplicationPermissions: append([]string{"User.Read.All", m365access.TeamsPermission}, m365access.VoicePermissions...)})
	_ = fake.GrantAdminConsent(tenant.ID, app.ClientID)
	key, _ := tokenstore.GenerateKey("k1")
	keyring, _ := tokenstore.NewKeyring(key)
	m, _ := m365access.New(m365access.Config{Store: tokenstore.New(memstore.New(), keyring), HTTPClient: provider.HTTPClient, Logger: discard,
		Provider: m365access.ProviderConfig{ClientID: provider.ClientID, ClientSecret: provider.ClientSecret, PublicBaseURL: provider.PublicBaseURL}})
	domain, mode, appID, secret := tenant.Domain(), m365access.ModeAppRegistration, app.ClientID, "customer-app-secret-0123456789"
	_, err := m.SaveSettings(ctx, "contoso", m365access.SettingsUpdate{Tenant: &domain, Mode: &mode, AppClientID: &appID, AppClientSecret: &secret})
	require.NoError(b, err)
	store, err := voice.OpenSQLite(ctx, filepath.Join(dir, "voice.db"))
	require.NoError(b, err)
	defer store.Close()
	done := make(emitted, 1)
	svc, err := voice.New(voice.Config{Access: m, Store: store, HTTPClient: provider.HTTPClient, Events: done, Logger: discard})
	require.NoError(b, err)
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	db.SetMaxOpenConns(1)
	defer db.Close()
	driver := riversqlite.New(db)
	migrator, _ := rivermigrate.New(driver, nil)
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(b, err)
	workers := river.NewWorkers()
	require.NoError(b, svc.AddWorkers(workers))
	client, err := river.NewClient(driver, &river.Config{Workers: workers,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}}, FetchCooldown: 5 * time.Millisecond, FetchPollInterval: 10 * time.Millisecond, Logger: discard})
	require.NoError(b, err)
	_ = svc.UseInserter(ctx, client)
	require.NoError(b, client.Start(ctx))
	defer client.Stop(ctx)

	before := svc.Stats()
	users, i := 0, 0
	var wall time.Duration
	for b.Loop() {
		// The next user without voice, Direct Routing: even, not a multiple of 3.
		for i++; i%2 != 0 || i%3 == 0; i++ {
		}
		start := time.Now()
		_, err := svc.SetVoice(ctx, "contoso", fmt.Sprintf("user%05d@contoso.onmicrosoft.com", i), voice.SetRequest{
			Number: fmt.Sprintf("%s%07d", prefixOf(i), i), Licenses: "auto",
			Policies: map[string]string{voice.PolicyVoiceRouting: "VRP-IT", voice.PolicyDialPlan: "DP-IT"},
		}, "bench")
		require.NoError(b, err)
		e := <-done
		require.Equal(b, "succeeded", e.Data.State, "user %d: %+v", i, e.Data)
		wall += time.Since(start)
		users++
	}
	st := svc.Stats()
	b.ReportMetric(float64(st.GraphRequests-before.GraphRequests)/float64(users), "requests/user")
	b.ReportMetric(float64(st.Polls-before.Polls)/float64(users), "polls/user")
	b.ReportMetric(float64(st.Writes-before.Writes)/float64(users), "writes/user")
	b.ReportMetric((wall/time.Duration(users)-m365test.DefaultNumberOperationDelay).Seconds()*1000, "ms-overhead/user")
}

// prefixOf is the demo rule's country prefix of location i % 10.
func prefixOf(i int) string {
	return []string{"+1206", "+4420", "+4930", "+331", "+3902", "+3491", "+3120", "+468", "+4822", "+813"}[i%10]
}
