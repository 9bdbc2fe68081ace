package m365access

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// ConsentCallback is what Entra ID sends to the consent redirect URI.
type ConsentCallback struct {
	State            string
	Error            string // "access_denied", ...; set on failure
	ErrorDescription string // for people; never branched on
	// Tenant is the tenant Entra names. It is informational only: the
	// customer's saved tenant decides, and consent is confirmed with an
	// app-only token for that tenant.
	Tenant string
	// AdminConsent is "True" even on failure; it decides nothing.
	AdminConsent string
}

// ConsentCallbackFromQuery reads a ConsentCallback from the callback's
// query parameters.
func ConsentCallbackFromQuery(q url.Values) ConsentCallback {
	return ConsentCallback{
		State: q.Get("state"), Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
		Tenant: q.Get("tenant"), AdminConsent: q.Get("admin_consent"),
	}
}

// Consent is a confirmed admin consent.
type Consent struct {
	Customer string
	TenantID string
	// Roles are the application permissions the app-only token carries.
	Roles     []string
	GrantedAt time.Time
}

// ConsentURL returns the admin consent link for the provider app and the
// customer's tenant. The transaction is stored single-use, expiring and
// bound to browserBinding, like Begin's.
func (m *Manager) ConsentURL(ctx context.Context, customer, browserBinding string) (BeginResult, error) {
	if m.provider.ClientID == "" {
		return BeginResult{}, errNoProviderApp(customer)
	}
	if browserBinding == "" {
		return BeginResult{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "a browser binding is required"}
	}
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return BeginResult{}, err
	}
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return BeginResult{}, err
	}
	expires := time.Now().Add(m.provider.ttl()).UTC()
	state, err := m.newPending(ctx, pending{Flow: flowConsent, Customer: customer, BindingHash: hashBinding(browserBinding), ExpiresAt: expires})
	if err != nil {
		return BeginResult{}, err
	}
	q := url.Values{}
	q.Set("client_id", m.provider.ClientID)
	q.Set("scope", ep.GraphScope())
	q.Set("redirect_uri", m.provider.consentRedirectURI())
	q.Set("state", state)
	u := ep.AuthorityHost + "/" + url.PathEscape(s.tenant()) + "/v2.0/adminconsent?" + q.Encode()
	return BeginResult{AuthorizeURL: u, ExpiresAt: expires}, nil
}

// CompleteConsent handles the admin consent callback: it checks the error
// first, then the state (single use, unexpired, same browser), then
// confirms the grant by getting an app-only token for the customer's
// saved tenant (never the callback's tenant parameter) and checks that it
// carries every ProviderConfig.AppPermissions role. The status records
// the consent and the granted roles.
func (m *Manager) CompleteConsent(ctx context.Context, cb ConsentCallback, browserBinding string) (*Consent, error) {
	if cb.Error != "" {
		// Consume the transaction so the link cannot be replayed, and
		// record the refusal on the customer it belongs to.
		p, perr := m.takePending(ctx, flowConsent, cb.State, browserBinding)
		err := &FlowError{Reason: ReasonDenied, Customer: p.Customer, Detail: "Entra ID answered " + clip(safeToken(cb.Error))}
		if perr == nil {
			m.recordFailure(ctx, p.Customer, "grant admin consent", err)
		}
		return nil, err
	}
	p, err := m.takePending(ctx, flowConsent, cb.State, browserBinding)
	if err != nil {
		return nil, err
	}
	c, err := m.confirmConsent(ctx, p.Customer)
	if err != nil {
		m.recordFailure(ctx, p.Customer, "confirm admin consent", err)
		return nil, err
	}
	return c, nil
}

// ConfirmConsent checks, without a callback, that the provider app has
// admin consent in the customer's tenant, and records it.
func (m *Manager) ConfirmConsent(ctx context.Context, customer string) (*Consent, error) {
	c, err := m.confirmConsent(ctx, customer)
	if err != nil {
		m.recordFailure(ctx, customer, "confirm admin consent", err)
	}
	return c, err
}

func (m *Manager) confirmConsent(ctx context.Context, customer string) (*Consent, error) {
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return nil, err
	}
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return nil, err
	}
	tenant, err := m.resolveTenant(ctx, ep, s.tenant())
	if err != nil {
		return nil, err
	}
	cl, err := m.appOnlyClient(customer, ep)
	if err != nil {
		return nil, err
	}
	res, err := cl.AcquireTokenByCredential(ctx, []string{ep.GraphScope()}, confidential.WithTenantID(tenant))
	if err != nil {
		return nil, FromMSAL("confirm admin consent", customer, err)
	}
	claims, err := decodeAccessToken(res.AccessToken)
	if err != nil {
		return nil, &Error{Op: "confirm admin consent", Customer: customer, Err: err}
	}
	if claims.TenantID != "" && !strings.EqualFold(claims.TenantID, tenant) {
		return nil, &FlowError{Reason: ReasonTenantMismatch, Customer: customer, Detail: "the app-only token names another tenant"}
	}
	if missing := missingRoles(m.provider.AppPermissions, claims.Roles); len(missing) > 0 {
		return nil, &FlowError{Reason: ReasonPermissionsShort, Customer: customer, Detail: "not granted: " + strings.Join(missing, ", ")}
	}
	now := time.Now().UTC()
	roles := slices.Clone(claims.Roles)
	slices.Sort(roles)
	if err := m.updateStatus(ctx, customer, func(st *statusRecord) {
		st.ConsentGrantedAt, st.GrantedRoles = &now, roles
		if st.TenantID == "" {
			st.TenantID = tenant
		}
		if st.State == StateConsentRequired {
			st.State, st.LastError = StateConnected, nil
			if s.Mode == ModeToken {
				if _, err := m.loadConnection(ctx, customer); err != nil {
					st.State = StateNotConnected
				}
			}
		}
	}); err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "m365access: admin consent confirmed", "customer", customer, "tenant", tenant, "roles", roles)
	return &Consent{Customer: customer, TenantID: tenant, Roles: roles, GrantedAt: now}, nil
}

func missingRoles(required, have []string) []string {
	var missing []string
	for _, r := range required {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, r) }) {
			missing = append(missing, r)
		}
	}
	return missing
}

// safeToken keeps an OAuth error code's characters (RFC 6749 limits them
// to printable ASCII) and drops anything else a forged callback may carry.
func safeToken(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x21 && r <= 0x7e && r != '"' && r != '\\' {
			return r
		}
		return -1
	}, s)
}
