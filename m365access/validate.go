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

// validation is what the checks of one validation share: the settings
// checked, the report being written and what earlier checks learned.
type validation struct {
	m        *Manager
	customer string
	s        *settings
	mode     AuthMode
	ep       CloudEndpoints
	r        *Report
	// res and tok are the token the token check acquired.
	res confidential.AuthResult
	tok azcore.AccessToken
}

// add appends a check to the report.
func (v *validation) add(c Check) { v.r.Checks = append(v.r.Checks, c) }

// validationCheck is one named step of a validation. run adds the
// step's lines to the report; an error ends the validation there, as a
// token that cannot be acquired does (the report is still recorded).
type validationCheck struct {
	name string
	run  func(v *validation, ctx context.Context) error
}

// validationChecks are the checks of Validate, in order; a new check is
// one more line. Their names are the report's check names.
var validationChecks = []validationCheck{
	{"settings", (*validation).checkSettings},
	{"consent", (*validation).checkConsent},
	{"token", (*validation).checkToken},
	{"tenant", (*validation).checkTenant},
	{"permissions", (*validation).checkPermissions},
	{"teams", (*validation).checkTeams},
	{"serviceAccount", (*validation).checkServiceAccount},
}

func (m *Manager) validate(ctx context.Context, customer string, s *settings, mode AuthMode) (*Report, error) {
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return nil, err
	}
	v := &validation{m: m, customer: customer, s: s, mode: mode, ep: ep,
		r: &Report{Customer: customer, Mode: mode, At: time.Now().UTC()}}
	for _, c := range validationChecks {
		if err := c.run(v, ctx); err != nil {
			return m.finishReport(ctx, v.r, err), nil
		}
	}
	return m.finishReport(ctx, v.r, nil), nil
}

// passed is a check that passed.
func passed(name, format string, args ...any) Check {
	return Check{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)}
}

// failed is a check that failed, with what a person must do.
func failed(name string, action Action, format string, args ...any) Check {
	return Check{Name: name, Action: action, Detail: fmt.Sprintf(format, args...)}
}

// failedWith is a check that failed on err, with err's action (waiting
// and retrying when err names none).
func failedWith(name string, err error) Check {
	a := ActionOf(err)
	if a == ActionNone {
		a = ActionWaitAndRetry
	}
	return failed(name, a, "%v", err)
}

// checkSettings reports the mode and tenant checked.
func (v *validation) checkSettings(context.Context) error {
	v.add(passed("settings", "mode %s, tenant %s", v.mode, v.s.Tenant))
	return nil
}

// checkConsent finishes the confirmation of an admin consent Entra ID
// reported that was still propagating (a fresh app-only token of the
// provider app); nothing is reported otherwise.
func (v *validation) checkConsent(ctx context.Context) error {
	st, _, err := v.m.loadStatus(ctx, v.customer)
	if err != nil || !st.propagating(time.Now()) {
		return nil
	}
	if c, err := v.m.confirmConsent(ctx, v.customer, false); err != nil {
		v.add(failedWith("consent", err))
	} else {
		v.add(passed("consent", "admin consent confirmed: %s", strings.Join(c.Roles, ", ")))
	}
	return nil
}

// checkToken acquires a token in the mode; without one the validation
// ends.
func (v *validation) checkToken(ctx context.Context) error {
	var err error
	if v.mode == ModeAppRegistration {
		// A token from MSAL's cache may predate a grant by an hour.
		v.res, err = v.m.freshAppToken(ctx, v.customer, v.s, v.ep)
	} else {
		v.res, err = v.m.acquire(ctx, v.customer, v.s, v.mode, nil)
	}
	if err != nil {
		v.add(failedWith("token", err))
		return err
	}
	v.add(passed("token", "token valid until %s", v.res.ExpiresOn.UTC().Format(time.RFC3339)))
	v.tok = azcore.AccessToken{Token: v.res.AccessToken, ExpiresOn: v.res.ExpiresOn}
	return nil
}

// organization is Graph's /organization entry.
type organization struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// checkTenant compares Graph's own answer with the tenant the settings
// (or the token connection's id_token) name. The access token is opaque:
// its tid is never read.
func (v *validation) checkTenant(ctx context.Context) error {
	want := v.s.TenantID
	if want == "" {
		if resolved, err := v.m.resolveTenant(ctx, v.ep, v.s.tenant()); err == nil {
			want = resolved
		}
	}
	var orgs struct {
		Value []organization `json:"value"`
	}
	err := v.m.graphGet(ctx, "read the organization", v.customer, v.tok, v.ep, "/organization?$select=id,displayName", &orgs)
	c, tenantID := tenantCheck(orgs.Value, want, err)
	v.r.TenantID = tenantID
	v.add(c)
	return nil
}

// tenantCheck judges Graph's organizations (or the error reading them)
// against the tenant ID wanted ("" when unknown); it returns the check
// and the report's tenant ID.
func tenantCheck(orgs []organization, want string, err error) (Check, string) {
	switch {
	case err != nil:
		return failedWith("tenant", err), want
	case len(orgs) == 0 || orgs[0].ID == "":
		return failed("tenant", ActionFixTenant, "Graph returned no organization"), want
	case want == "":
		return passed("tenant", "organization %q (%s)", orgs[0].DisplayName, orgs[0].ID), strings.ToLower(orgs[0].ID)
	case strings.EqualFold(orgs[0].ID, want):
		return passed("tenant", "organization %q (%s)", orgs[0].DisplayName, orgs[0].ID), want
	default:
		return failed("tenant", ActionFixTenant, "Graph answered for tenant %s, expected %s", orgs[0].ID, want), want
	}
}

// checkPermissions reads the permissions through Graph (app
// registration) or from the token endpoint's granted set (delegated):
// never from the token.
func (v *validation) checkPermissions(ctx context.Context) error {
	if v.mode != ModeAppRegistration {
		v.add(delegatedPermissionsCheck(v.m.provider.delegatedScopes(), v.res.GrantedScopes))
		v.r.Capabilities = capabilitiesOf(v.res.GrantedScopes, v.mode)
		return nil
	}
	perms, err := v.m.readAppPermissions(ctx, "read the granted permissions", v.customer, v.tok, v.ep, v.s.AppClientID, v.m.provider.AppPermissions)
	v.add(appPermissionsCheck(perms, err))
	if err == nil && perms.Source == PermissionsFromDirectory {
		v.r.Capabilities = capabilitiesOf(perms.Granted, v.mode)
	}
	return nil
}

// appPermissionsCheck judges an app registration's permissions.
func appPermissionsCheck(perms appPermissions, err error) Check {
	switch {
	case err != nil:
		return failedWith("permissions", err)
	case len(perms.Missing) > 0:
		return failed("permissions", ActionGrantConsent, "%s", perms.detail())
	default:
		return passed("permissions", "%s", perms.detail())
	}
}

// delegatedPermissionsCheck judges a token connection's granted scopes
// against the required ones.
func delegatedPermissionsCheck(required, granted []string) Check {
	src := PermissionsFromGrantedScopes.describe()
	if missing := missingScopes(required, granted); len(missing) > 0 {
		return failed("permissions", ActionGrantConsent, "delegated permissions %s: not granted: %s", src, strings.Join(missing, ", "))
	}
	return passed("permissions", "delegated permissions %s: %s", src, strings.Join(granted, " "))
}

// checkTeams reads the Teams Phone System configuration, which user sync
// joins to users.
func (v *validation) checkTeams(ctx context.Context) error {
	var teams struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	err := v.m.graphGet(ctx, "read Teams user configurations", v.customer, v.tok, v.ep, "/admin/teams/userConfigurations?$top=1&$select=id", &teams)
	v.add(teamsCheck(v.mode, err))
	return nil
}

// teamsCheck judges the read of Teams user configurations: a refusal
// says which permission to add in the mode.
func teamsCheck(mode AuthMode, err error) Check {
	var tge *Error
	switch {
	case err == nil:
		return passed("teams", "Teams Phone System configuration is readable")
	case errors.As(err, &tge) && (tge.HTTPStatus == 401 || tge.HTTPStatus == 403):
		kind := "the delegated permission " + TeamsPermission + " to the token connection, then send a new invitation"
		if mode == ModeAppRegistration {
			kind = "the application permission " + TeamsPermission + " to the app registration, then grant admin consent"
		}
		return failed("teams", ActionGrantConsent, "Teams Phone System configuration cannot be read (HTTP %d %s): add %s", tge.HTTPStatus, tge.GraphCode, kind)
	default:
		return failedWith("teams", err)
	}
}

// checkServiceAccount checks the service account: that it exists and is
// enabled (app registration) or is the signed-in account (Graph's /me).
func (v *validation) checkServiceAccount(ctx context.Context) error {
	account := v.s.ServiceAccount
	switch {
	case account == "":
		v.add(passed("serviceAccount", "no service account configured"))
	case v.mode == ModeAppRegistration:
		var u struct {
			AccountEnabled *bool `json:"accountEnabled"`
		}
		err := v.m.graphGet(ctx, "read the service account", v.customer, v.tok, v.ep, "/users/"+url.PathEscape(account)+"?$select=id,accountEnabled", &u)
		v.add(accountCheck(account, u.AccountEnabled, err))
	default:
		u, err := v.m.readMe(ctx, "read the signed-in account", v.customer, v.tok, v.ep)
		v.add(signedInCheck(v.s, u, err))
	}
	return nil
}

// accountCheck judges the read of the service account by an app
// registration: enabled is its accountEnabled (nil when not read).
func accountCheck(account string, enabled *bool, err error) Check {
	var ge *Error
	switch {
	case errors.As(err, &ge) && ge.GraphCode == "Request_ResourceNotFound":
		return failed("serviceAccount", ActionFixSettings, "the service account %s does not exist in the tenant", account)
	case err != nil:
		return failedWith("serviceAccount", err)
	case enabled != nil && !*enabled:
		return failed("serviceAccount", ActionFixSettings, "the service account %s is disabled", account)
	default:
		return passed("serviceAccount", "the service account %s exists", account)
	}
}

// signedInCheck judges the signed-in account u (Graph's /me, or the error
// reading it) against the settings' service account: its pinned object
// ID, else its name.
func signedInCheck(s *settings, u me, err error) Check {
	switch {
	case err != nil:
		return failedWith("serviceAccount", err)
	case (s.ServiceAccountID != "" && strings.EqualFold(u.ID, s.ServiceAccountID)) || u.matches(s.ServiceAccount):
		return passed("serviceAccount", "signed in as %s", u.UserPrincipalName)
	default:
		return failed("serviceAccount", ActionReInvite, "signed in as %s, expected %s", u.UserPrincipalName, s.ServiceAccount)
	}
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
