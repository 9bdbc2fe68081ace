package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// demoCustomer is one more customer of the demo fleet, seeded in a state
// that shows on the Customers page what it looks like and what to do.
type demoCustomer struct {
	id, domain, name string
	mode             m365access.AuthMode
	// appID and appSecret: the customer's own app registration
	// (appRegistration mode); the secret is a test value of the fake.
	appID, appSecret string
	// secretDays is how long the app's secret lives from the start.
	secretDays int
	// consent: whether the app has admin consent in the tenant.
	consent bool
}

// demoFleet are the demo customers beside the main one:
//   - fabrikam works, but its app registration's secret expires in ten
//     days (action rotateSecret);
//   - northwind's app registration has no admin consent (consentRequired,
//     action grantConsent);
//   - tailspin is configured for the token connection but never
//     connected (notConnected, action sendInvitation).
var demoFleet = []demoCustomer{
	{id: "fabrikam", domain: "fabrikam.onmicrosoft.com", name: "Fabrikam Inc", mode: m365access.ModeAppRegistration,
		appID: "f4b71c2a-0d3e-4b5f-8a6c-1e2d3f4a5b6c", appSecret: "fabrikam-demo-app-secret-test-value-0001", secretDays: 10, consent: true},
	{id: "northwind", domain: "northwind.onmicrosoft.com", name: "Northwind Traders", mode: m365access.ModeAppRegistration,
		appID: "a9d2e8f1-3c4b-4d5e-9f60-7a8b9c0d1e2f", appSecret: "northwind-demo-app-secret-test-value-0001", secretDays: 365},
	{id: "tailspin", domain: "tailspintoys.onmicrosoft.com", name: "Tailspin Toys", mode: m365access.ModeToken},
}

// addDemoFleet adds the extra demo tenants and their app registrations
// to the fake.
func (a *app) addDemoFleet() error {
	for _, c := range demoFleet {
		t, err := a.fake.AddTenant(m365test.TenantOptions{Domains: []string{c.domain}, DisplayName: c.name, Users: a.cfg.DemoFleetUsers})
		if err != nil {
			return fmt.Errorf("demo tenant %s: %w", c.domain, err)
		}
		if c.appID == "" {
			continue
		}
		// The customer registered the provider's consent callback as a
		// Web redirect URI of its app, so the admin consent link of the
		// app (Grant admin consent) comes back to the portal.
		if _, err := a.fake.AddApp(m365test.AppOptions{ClientID: c.appID, DisplayName: c.name + " tenantgate app", HomeTenant: t.ID, SingleTenant: true,
			RedirectURIs:           []string{strings.TrimSuffix(a.publicURL, "/") + m365access.ConsentCallbackPath},
			Secrets:                []m365test.Secret{{Value: c.appSecret, Expires: time.Now().AddDate(0, 0, c.secretDays)}},
			ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", "TeamsUserConfiguration.Read.All"}}); err != nil {
			return fmt.Errorf("demo app of %s: %w", c.domain, err)
		}
		if c.consent {
			if err := a.fake.GrantAdminConsent(t.ID, c.appID); err != nil {
				return err
			}
		}
	}
	return nil
}

// seedDemoFleet configures the extra demo customers (unless they have
// settings already: a restart keeps what the user changed), enrolls them
// and asks for their first health check at once.
func (a *app) seedDemoFleet(ctx context.Context) error {
	for _, c := range demoFleet {
		if err := a.fleet.Enroll(ctx, c.id, c.name); errors.Is(err, fleet.ErrOffboarding) {
			continue
		} else if err != nil {
			return fmt.Errorf("enroll demo customer %s: %w", c.id, err)
		}
		if _, err := a.manager.GetSettings(ctx, c.id); err == nil {
			continue
		} else if !errors.Is(err, tokenstore.ErrNotFound) {
			return err
		}
		tenant, mode, account := c.domain, c.mode, "admin@"+c.domain
		u := m365access.SettingsUpdate{Tenant: &tenant, Mode: &mode, ServiceAccount: &account}
		if c.appID != "" {
			exp := time.Now().AddDate(0, 0, c.secretDays).UTC()
			u.AppClientID, u.AppClientSecret, u.AppClientSecretExpiresAt = &c.appID, &c.appSecret, &exp
		}
		if _, err := a.manager.SaveSettings(ctx, c.id, u); err != nil && !errors.Is(err, tokenstore.ErrConflict) {
			return fmt.Errorf("configure demo customer %s: %w", c.id, err)
		}
		if _, err := a.fleet.CheckNow(ctx, c.id); err != nil {
			return fmt.Errorf("check demo customer %s: %w", c.id, err)
		}
	}
	return nil
}
