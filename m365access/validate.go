package m365access

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/internal/telemetry"
)

// Check is one line of a validation report.
type Check struct {
	// Name is "settings", "token", "tenant", "permissions", "teams",
	// "serviceAccount" or "consent" (an admin consent still propagating
	// when the last one was reported).
	Name   string
	OK     bool
	Detail string
	// Action is what a person must do when the check failed.
	Action Action
}

// Report is the outcome of Validate (a settings screen's Validate
// Authentication button).
type Report struct {
	Customer string
	Mode     AuthMode
	TenantID string
	OK       bool
	Checks   []Check
	// Capabilities are the optional capabilities (Teams Phone
	// provisioning) the granted permissions allow; a missing one does not
	// make OK false. Empty when the permissions could not be read.
	Capabilities []Capability
	At           time.Time
}

// Check returns the named check, if present.
func (r *Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Validate tests the customer's connection in its mode: it gets a token,
// reads Graph /organization to confirm the tenant, compares the token's
// permissions with the required ones and checks the service account. It
// records the outcome in the status and returns the report; an error
// means the report could not be made (for example, no settings).
func (m *Manager) Validate(ctx context.Context, customer string) (*Report, error) {
	ctx, span := telemetry.Start(ctx, "m365access.Validate", customer)
	r, err := m.validateNow(ctx, customer)
	telemetry.End(span, err, errorCode(err))
	return r, err
}

func (m *Manager) validateNow(ctx context.Context, customer string) (*Report, error) {
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return nil, err
	}
	return m.validate(ctx, customer, s, s.Mode)
}

func (m *Manager) validate(ctx context.Context, customer string, s *settings, mode AuthMode) (*Report, error) {
	r := &Report{Customer: customer, Mode: mode, At: time.Now().UTC()}
	add := func(name string, ok bool, action Action, format string, args ...any) {
		c := Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)}
		if !ok {
			c.Action = action
		}
		r.Checks = append(r.Checks, c)
	}
	fail := func(name string, err error) {
		a := ActionOf(err)
		if a == ActionNone {
			a = ActionWaitAndRetry
		}
		add(name, false, a, "%v", err)
	}
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return nil, err
	}
	add("settings", true, ActionNone, "mode %s, tenant %s", mode, s.Tenant)

	// Admin consent Entra ID reported that was still propagating: finish
	// its confirmation (a fresh app-only token of the provider app).
	if st, _, err := m.loadStatus(ctx, customer); err == nil && st.propagating(time.Now()) {
		if c, err := m.confirmConsent(ctx, customer, false); err != nil {
			fail("consent", err)
		} else {
			add("consent", true, ActionNone, "admin consent confirmed: %s", strings.Join(c.Roles, ", "))
		}
	}

	var res confidential.AuthResult
	if mode == ModeAppRegistration {
		// A token from MSAL's cache may predate a grant by an hour.
		res, err = m.freshAppToken(ctx, customer, s, ep)
	} else {
		res, err = m.acquire(ctx, customer, s, mode, nil)
	}
	if err != nil {
		fail("token", err)
		return m.finishReport(ctx, r, err), nil
	}
	add("token", true, ActionNone, "token valid until %s", res.ExpiresOn.UTC().Format(time.RFC3339))
	tok := azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}

	// Tenant: Graph's own answer, compared with the tenant the settings
	// (or the token connection's id_token) name. The access token is
	// opaque: its tid is never read.
	want := s.TenantID
	if want == "" {
		if want, err = m.resolveTenant(ctx, ep, s.tenant()); err != nil {
			want = ""
		}
	}
	r.TenantID = want
	var orgs struct {
		Value []struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		} `json:"value"`
	}
	err = m.graphGet(ctx, "read the organization", customer, tok, ep, "/organization?$select=id,displayName", &orgs)
	switch {
	case err != nil:
		fail("tenant", err)
	case len(orgs.Value) == 0 || orgs.Value[0].ID == "":
		add("tenant", false, ActionFixTenant, "Graph returned no organization")
	case want == "":
		r.TenantID = strings.ToLower(orgs.Value[0].ID)
		add("tenant", true, ActionNone, "organization %q (%s)", orgs.Value[0].DisplayName, orgs.Value[0].ID)
	default:
		org := orgs.Value[0]
		if strings.EqualFold(org.ID, want) {
			add("tenant", true, ActionNone, "organization %q (%s)", org.DisplayName, org.ID)
		} else {
			add("tenant", false, ActionFixTenant, "Graph answered for tenant %s, expected %s", org.ID, want)
		}
	}

	// Permissions, read through Graph (app registration) or from the
	// token endpoint's granted set (delegated): never from the token.
	switch mode {
	case ModeAppRegistration:
		perms, err := m.readAppPermissions(ctx, "read the granted permissions", customer, tok, ep, s.AppClientID, m.provider.AppPermissions)
		switch {
		case err != nil:
			fail("permissions", err)
		case len(perms.Missing) > 0:
			add("permissions", false, ActionGrantConsent, "%s", perms.detail())
		default:
			add("permissions", true, ActionNone, "%s", perms.detail())
		}
		if err == nil && perms.Source == PermissionsFromDirectory {
			r.Capabilities = capabilitiesOf(perms.Granted, mode)
		}
	default:
		src := PermissionsFromGrantedScopes.describe()
		if missing := missingScopes(m.provider.delegatedScopes(), res.GrantedScopes); len(missing) > 0 {
			add("permissions", false, ActionGrantConsent, "delegated permissions %s: not granted: %s", src, strings.Join(missing, ", "))
		} else {
			add("permissions", true, ActionNone, "delegated permissions %s: %s", src, strings.Join(res.GrantedScopes, " "))
		}
		r.Capabilities = capabilitiesOf(res.GrantedScopes, mode)
	}

	// Teams Phone System configuration, which user sync joins to users.
	var teams struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	err = m.graphGet(ctx, "read Teams user configurations", customer, tok, ep, "/admin/teams/userConfigurations?$top=1&$select=id", &teams)
	var tge *Error
	switch {
	case err == nil:
		add("teams", true, ActionNone, "Teams Phone System configuration is readable")
	case errors.As(err, &tge) && (tge.HTTPStatus == 401 || tge.HTTPStatus == 403):
		kind := "the delegated permission " + TeamsPermission + " to the token connection, then send a new invitation"
		if mode == ModeAppRegistration {
			kind = "the application permission " + TeamsPermission + " to the app registration, then grant admin consent"
		}
		add("teams", false, ActionGrantConsent, "Teams Phone System configuration cannot be read (HTTP %d %s): add %s", tge.HTTPStatus, tge.GraphCode, kind)
	default:
		fail("teams", err)
	}

	// Service account.
	switch {
	case s.ServiceAccount == "":
		add("serviceAccount", true, ActionNone, "no service account configured")
	case mode == ModeAppRegistration:
		var u struct {
			AccountEnabled *bool `json:"accountEnabled"`
		}
		err := m.graphGet(ctx, "read the service account", customer, tok, ep, "/users/"+url.PathEscape(s.ServiceAccount)+"?$select=id,accountEnabled", &u)
		var ge *Error
		switch {
		case errors.As(err, &ge) && ge.GraphCode == "Request_ResourceNotFound":
			add("serviceAccount", false, ActionFixSettings, "the service account %s does not exist in the tenant", s.ServiceAccount)
		case err != nil:
			fail("serviceAccount", err)
		case u.AccountEnabled != nil && !*u.AccountEnabled:
			add("serviceAccount", false, ActionFixSettings, "the service account %s is disabled", s.ServiceAccount)
		default:
			add("serviceAccount", true, ActionNone, "the service account %s exists", s.ServiceAccount)
		}
	default:
		// The signed-in account, from Graph's /me.
		me, err := m.readMe(ctx, "read the signed-in account", customer, tok, ep)
		switch {
		case err != nil:
			fail("serviceAccount", err)
		case (s.ServiceAccountID != "" && strings.EqualFold(me.ID, s.ServiceAccountID)) || me.matches(s.ServiceAccount):
			add("serviceAccount", true, ActionNone, "signed in as %s", me.UserPrincipalName)
		default:
			add("serviceAccount", false, ActionReInvite, "signed in as %s, expected %s", me.UserPrincipalName, s.ServiceAccount)
		}
	}
	return m.finishReport(ctx, r, nil), nil
}

// finishReport sets OK and records the validation in the status.
func (m *Manager) finishReport(ctx context.Context, r *Report, tokenErr error) *Report {
	r.OK = true
	var firstFail *Check
	for i := range r.Checks {
		if !r.Checks[i].OK {
			r.OK = false
			if firstFail == nil {
				firstFail = &r.Checks[i]
			}
		}
	}
	if tokenErr != nil {
		m.recordFailure(ctx, r.Customer, "validate", tokenErr)
	}
	if err := m.updateStatus(ctx, r.Customer, func(st *statusRecord) {
		at := r.At
		st.LastValidation, st.LastValidationOK = &at, r.OK
		if r.Capabilities != nil {
			st.Capabilities = r.Capabilities
		}
		if r.TenantID != "" {
			st.TenantID = r.TenantID
		}
		switch {
		case r.OK:
			st.State, st.LastError = StateConnected, nil
		case tokenErr == nil && firstFail != nil:
			st.State = StateDegraded
			switch {
			case firstFail.Action == ActionGrantConsent:
				st.State = StateConsentRequired
			case firstFail.Name == "consent" && firstFail.Action == ActionWaitAndRetry:
				st.State = StateConsentPropagating
			}
			st.LastError = &ErrorInfo{At: at, Op: "validate " + firstFail.Name, Action: firstFail.Action, Message: firstFail.Detail}
		}
	}); err != nil {
		m.log.WarnContext(ctx, "m365access: recording the validation failed", "customer", r.Customer, "err", err)
	}
	return r
}
