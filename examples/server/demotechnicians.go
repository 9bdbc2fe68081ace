package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
)

// The demo provider's own tenant in the fake: its technicians sign in to
// the portal there. It is a tenant of its own, besides the customers'
// (contoso and the demo fleet), whose generated users and counts it does
// not touch.
const (
	demoProviderDomain   = "tenantgate-msp.onmicrosoft.com"
	demoSignInClientID   = "3f6d2b8a-9c41-4e7a-8b15-6a0d4c2e9f73"
	demoSignInAppName    = "tenantgate portal sign-in (demo)"
	demoTechnicianDomain = "@" + demoProviderDomain
)

// demoTechnician is a demo technician: sign-in name, name and role.
type demoTechnician struct {
	UPN, Name string
	Role      httpapi.Role
}

// demoTechnicianList are the demo's technicians, one per role, plus one
// without a role (the portal refuses them).
var demoTechnicianList = []demoTechnician{
	{UPN: "ada.admin" + demoTechnicianDomain, Name: "Ada Admin", Role: httpapi.RoleAdmin},
	{UPN: "oscar.operator" + demoTechnicianDomain, Name: "Oscar Operator", Role: httpapi.RoleOperator},
	{UPN: "vera.viewer" + demoTechnicianDomain, Name: "Vera Viewer", Role: httpapi.RoleViewer},
	{UPN: "nora.norole" + demoTechnicianDomain, Name: "Nora Norole"},
}

// addDemoTechnicians adds the demo provider's tenant to the fake, its
// sign-in app (single-tenant, app roles viewer, operator, admin, the
// portal's /login/callback) and the technicians with their roles, and
// returns the sign-in app's secret (random per start).
func (a *app) addDemoTechnicians() (string, error) {
	t, err := a.fake.AddTenant(m365test.TenantOptions{Domains: []string{demoProviderDomain}, DisplayName: a.cfg.ProviderName})
	if err != nil {
		return "", fmt.Errorf("demo provider tenant: %w", err)
	}
	secret := randomToken(24)
	app, err := a.fake.AddApp(m365test.AppOptions{
		ClientID: demoSignInClientID, DisplayName: demoSignInAppName, HomeTenant: t.ID, SingleTenant: true,
		Secrets: []m365test.Secret{{Value: secret}}, RedirectURIs: []string{a.publicURL + "/login/callback"}, RequirePKCE: true,
		AppRoles: []m365test.AppRole{
			{Value: string(httpapi.RoleViewer), DisplayName: "Viewer"},
			{Value: string(httpapi.RoleOperator), DisplayName: "Operator"},
			{Value: string(httpapi.RoleAdmin), DisplayName: "Admin"},
		},
	})
	if err != nil {
		return "", fmt.Errorf("demo sign-in app: %w", err)
	}
	for _, tech := range demoTechnicianList {
		if _, err := a.fake.AddMember(t.ID, m365test.MemberOptions{UserPrincipalName: tech.UPN, DisplayName: tech.Name, JobTitle: "Technician"}); err != nil {
			return "", fmt.Errorf("demo technician: %w", err)
		}
		if tech.Role != "" {
			if err := a.fake.AssignAppRole(t.ID, app.ClientID, tech.UPN, string(tech.Role)); err != nil {
				return "", fmt.Errorf("demo technician's role: %w", err)
			}
		}
	}
	a.demoTechnicians = demoTechnicianList
	return secret, nil
}

// openSignIn opens the API token store and, when configured (always in
// the demo), the technicians' sign-in with Microsoft Entra ID.
func (a *app) openSignIn(ctx context.Context, auth *adminAuth, hc *http.Client) error {
	dialect := sqldbDialect(a.cfg.Mode)
	var err error
	if a.apiTokens, err = openAPITokens(ctx, a.recordsDB, dialect, a.cfg.NoMigrate, auth.clock); err != nil {
		return err
	}
	auth.tokens = a.apiTokens
	if auth.sessions, err = openSessionStore(ctx, a.recordsDB, dialect, a.cfg.NoMigrate); err != nil {
		return err
	}
	tenant, clientID, secret := a.cfg.SignInTenant, a.cfg.SignInClientID, a.cfg.SignInClientSecret
	if a.fake != nil && tenant == "" {
		if secret, err = a.addDemoTechnicians(); err != nil {
			return err
		}
		tenant, clientID = demoProviderDomain, demoSignInClientID
	}
	if tenant == "" {
		return nil
	}
	ep, _ := m365access.DefaultClouds.Lookup(m365access.Cloud(a.cfg.Cloud)) // checked by parseConfig
	a.signIn = newEntraSignIn(ep.AuthorityHost, tenant, clientID, secret, a.publicURL+"/login/callback", hc, auth.clock, auth.sessions)
	return nil
}
