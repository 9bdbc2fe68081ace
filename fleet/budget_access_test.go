package fleet_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
)

// TestBudgetCoversManagerGraphCalls: with the Budget under the Manager's
// HTTP client, every Graph request of m365access's own calls (Validate:
// /organization, the service principal's grants, ...) goes through it,
// paced per customer, and against a fake that throttles each tenant to a
// few requests per window none draws a 429; token requests are not
// counted as Graph's.
func TestBudgetCoversManagerGraphCalls(t *testing.T) {
	t.Parallel()
	// In a synctest bubble the clock is virtual: the Budget's pacing and
	// the fake's throttle windows share it, so no scheduling jitter of a
	// loaded machine can bunch paced requests into one window.
	synctest.Test(t, func(t *testing.T) {
		// 6 units per 10 Graph seconds per tenant, 20 times faster: a
		// half-second window.
		limits := &m365test.Throttle{TenantUnits: 6, TimeScale: 20}
		fake := m365test.NewServer(&m365test.Options{InMemory: true, ConsentReplicationDelay: -1, Throttle: limits})
		defer fake.Close()
		prov, err := fake.AddProvider(m365test.ProviderOptions{PublicBaseURL: "https://portal.example/m365"})
		require.NoError(t, err)
		budget := &fleet.Budget{TenantUnits: 6, TimeScale: 20}
		store := newStore(t)
		m, err := m365access.New(m365access.Config{Store: store, Logger: quiet,
			HTTPClient: &http.Client{Transport: budget.Transport(prov.HTTPClient.Transport), Timeout: time.Minute},
			Provider:   m365access.ProviderConfig{ClientID: prov.ClientID, ClientSecret: prov.ClientSecret, PublicBaseURL: prov.PublicBaseURL}})
		require.NoError(t, err)
		ctx := context.Background()
		customers := []string{"alpha", "bravo"}
		for i, c := range customers {
			tenant, err := fake.AddTenant(m365test.TenantOptions{Domains: []string{c + ".onmicrosoft.com"}, DisplayName: c, Users: 3})
			require.NoError(t, err)
			appID := fmt.Sprintf("e0e0e0e0-1111-2222-3333-%012d", i)
			secret := fmt.Sprintf("%s-app-secret-test-value-0123456789", c)
			_, err = fake.AddApp(m365test.AppOptions{ClientID: appID, HomeTenant: tenant.ID, SingleTenant: true,
				Secrets: []m365test.Secret{{Value: secret}}, ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", "TeamsUserConfiguration.Read.All"}})
			require.NoError(t, err)
			require.NoError(t, fake.GrantAdminConsent(tenant.ID, appID))
			mode, tid := m365access.ModeAppRegistration, tenant.ID
			_, err = m.SaveSettings(ctx, c, m365access.SettingsUpdate{Tenant: &tid, Mode: &mode, AppClientID: &appID, AppClientSecret: &secret})
			require.NoError(t, err)
		}
		fake.SetThrottle(limits) // count from here
		var wg sync.WaitGroup
		for _, c := range customers {
			for range 3 {
				wg.Go(func() {
					for range 3 {
						rep, err := m.Validate(fleet.WithCustomer(ctx, c), c)
						if !assert.NoError(t, err, "validate %s", c) {
							return
						}
						assert.True(t, rep.OK, "validate %s: %+v", c, rep)
					}
				})
			}
		}
		wg.Wait()
		fs, bs := fake.ThrottleStats(), budget.Stats()
		require.GreaterOrEqual(t, fs.Requests, int64(18), "Graph requests the fake judged for 18 validations")
		assert.Zero(t, fs.Throttled, "throttled by the fake: %+v", fs)
		assert.Zero(t, bs.Throttled, "throttled in the budget: %+v", bs)
		assert.Equal(t, fs.Requests, bs.Requests, "the budget's Graph requests against the fake's: some bypassed it or tokens were counted")
	})
}
