package m365access

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/internal/telemetry"
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
	// Roles are the application permissions Graph shows granted: every
	// Graph app role assigned to the provider app's service principal when
	// it holds Application.Read.All, else the required ones a Graph
	// request confirmed.
	Roles     []string
	GrantedAt time.Time
}

// ConsentLink is an admin consent link and the app it grants.
type ConsentLink struct {
	// URL is the admin consent link for the customer's tenant.
	URL string
	// ExpiresAt is when the link's transaction lapses.
	ExpiresAt time.Time
	// ClientID is the app the consent is for: the customer's own app
	// registration (appRegistration mode; CustomerApp is true) or the
	// provider's app (token and password modes).
	ClientID    string
	CustomerApp bool
	// RedirectURI is where Entra ID sends the administrator back. The
	// customer's own app registration must list it as a Web redirect URI
	// (Entra ID refuses the link with AADSTS50011 otherwise); without it
	// an administrator grants consent in the Entra admin center instead
	// (App registrations, the app, API permissions, Grant admin consent)
	// and Validate confirms it.
	RedirectURI string
	// Shareable reports a link bound to no browser: it may be given to
	// the customer's administrator to open in their own browser.
	Shareable bool
}

// ConsentOptions tune AdminConsentLink.
type ConsentOptions struct {
	// BrowserBinding binds the link to the browser that asked for it,
	// like Begin's. Empty makes a shareable link, for the customer's
	// administrator to open in their own browser: its callback reports
	// only an outcome, which is confirmed through Graph before anything
	// is recorded as granted, so it needs no binding.
	BrowserBinding string
	// TTL is how long the link works; zero means the provider's
	// TransactionTTL for a bound link and ShareableConsentTTL for a
	// shareable one.
	TTL time.Duration
}

// ShareableConsentTTL is how long a shareable admin consent link works
// unless ConsentOptions.TTL says otherwise.
const ShareableConsentTTL = 7 * 24 * time.Hour

// ConsentURL returns the admin consent link for the customer's tenant,
// bound to browserBinding (see AdminConsentLink, which names the app).
func (m *Manager) ConsentURL(ctx context.Context, customer, browserBinding string) (BeginResult, error) {
	if browserBinding == "" {
		return BeginResult{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "a browser binding is required"}
	}
	l, err := m.AdminConsentLink(ctx, customer, ConsentOptions{BrowserBinding: browserBinding})
	if err != nil {
		return BeginResult{}, err
	}
	return BeginResult{AuthorizeURL: l.URL, ExpiresAt: l.ExpiresAt}, nil
}

// AdminConsentLink returns the admin consent link of the app the
// customer's connection uses: for an appRegistration customer its own app
// registration (consenting the provider's app would not help it), else
// the provider app. The transaction is stored single-use and expiring,
// bound to opts.BrowserBinding when set.
func (m *Manager) AdminConsentLink(ctx context.Context, customer string, opts ConsentOptions) (ConsentLink, error) {
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return ConsentLink{}, err
	}
	clientID, customerApp := m.provider.ClientID, s.Mode == ModeAppRegistration
	if customerApp {
		if s.AppClientID == "" {
			return ConsentLink{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "no app registration client ID: save the customer's app first"}
		}
		clientID = s.AppClientID
	} else if clientID == "" {
		return ConsentLink{}, errNoProviderApp(customer)
	}
	redirect := m.provider.consentRedirectURI()
	if redirect == "" || strings.HasPrefix(redirect, "/") {
		return ConsentLink{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "no public base URL for the consent callback"}
	}
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return ConsentLink{}, err
	}
	ttl := opts.TTL
	if ttl <= 0 {
		ttl = m.provider.ttl()
		if opts.BrowserBinding == "" {
			ttl = ShareableConsentTTL
		}
	}
	expires := time.Now().Add(ttl).UTC()
	p := pending{Flow: flowConsent, Customer: customer, ExpiresAt: expires, App: clientID, Shareable: opts.BrowserBinding == ""}
	if !p.Shareable {
		p.BindingHash = hashBinding(opts.BrowserBinding)
	}
	state, err := m.newPending(ctx, p)
	if err != nil {
		return ConsentLink{}, err
	}
	q := url.Values{}
	q.Set("client_id", clientID)
	q.Set("scope", ep.GraphScope())
	q.Set("redirect_uri", redirect)
	q.Set("state", state)
	u := ep.AuthorityHost + "/" + url.PathEscape(s.tenant()) + "/v2.0/adminconsent?" + q.Encode()
	return ConsentLink{URL: u, ExpiresAt: expires, ClientID: clientID, CustomerApp: customerApp, RedirectURI: redirect, Shareable: p.Shareable}, nil
}

// CompleteConsent handles the admin consent callback: it checks the error
// first, then the state (single use, unexpired, same browser), then
// confirms the grant by getting a fresh app-only token (never one from
// MSAL's cache) for the customer's saved tenant (never the callback's
// tenant parameter) and checks through Graph with it that every
// ProviderConfig.AppPermissions role is granted: the service principal's
// app role assignments when the provider app holds Application.Read.All
// (recommended), else a Graph request per permission (access tokens are
// opaque and never decoded). Entra ID replicates a new grant for
// minutes, so while Graph still shows roles missing it retries with
// backoff up to Config.ConsentWait; past that the customer is
// StateConsentPropagating and the error is ErrConsentPropagating (action
// ActionWaitAndRetry): ConfirmConsent or Validate finishes later. The
// status records the consent and the granted roles.
func (m *Manager) CompleteConsent(ctx context.Context, cb ConsentCallback, browserBinding string) (*Consent, error) {
	ctx, span := telemetry.Start(ctx, "m365access.CompleteConsent", "")
	r, err := m.completeConsent(ctx, cb, browserBinding)
	telemetry.End(span, err, errorCode(err))
	return r, err
}

func (m *Manager) completeConsent(ctx context.Context, cb ConsentCallback, browserBinding string) (*Consent, error) {
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
	c, err := m.confirmConsent(ctx, p.Customer, true)
	if err != nil {
		m.recordFailure(ctx, p.Customer, "confirm admin consent", err)
		return nil, err
	}
	return c, nil
}

// ConfirmConsent checks, without a callback, that the provider app has
// admin consent in the customer's tenant, and records it. It reads Graph
// with a fresh app-only token, as CompleteConsent does. Within ConsentPropagationWindow of a consent
// callback that reported the grant, it waits for replication as
// CompleteConsent does.
func (m *Manager) ConfirmConsent(ctx context.Context, customer string) (*Consent, error) {
	c, err := m.confirmConsent(ctx, customer, false)
	if err != nil {
		if errors.Is(err, ErrConsentPropagating) {
			// Another confirmation (a Validate) may have succeeded
			// meanwhile: it cleared ConsentReportedAt.
			if st, _, lerr := m.loadStatus(ctx, customer); lerr == nil && st.ConsentReportedAt == nil {
				return nil, err
			}
		}
		m.recordFailure(ctx, customer, "confirm admin consent", err)
	}
	return c, err
}

// Backoff of the consent confirmation: the first wait is ConsentWait/16
// within [consentBackoffMin, consentBackoffMax], doubling after each
// attempt up to consentBackoffMax.
const (
	consentBackoffMin = 50 * time.Millisecond
	consentBackoffMax = 8 * time.Second
)

func (m *Manager) confirmConsent(ctx context.Context, customer string, reported bool) (*Consent, error) {
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
	start := time.Now()
	if reported {
		at := start.UTC()
		if err := m.updateStatus(ctx, customer, func(st *statusRecord) { st.ConsentReportedAt = &at }); err != nil {
			return nil, err
		}
	}
	wait := reported
	if !wait {
		st, _, err := m.loadStatus(ctx, customer)
		if err != nil {
			return nil, err
		}
		wait = st.propagating(start)
	}
	deadline := start
	if wait {
		deadline = start.Add(m.consentWait)
	}
	delay := min(max(m.consentWait/16, consentBackoffMin), consentBackoffMax)
	var perms appPermissions
	for attempt := 1; ; attempt++ {
		tok, clientID, err := m.consentToken(ctx, customer, s, ep, tenant)
		if err != nil {
			return nil, err
		}
		perms, err = m.readAppPermissions(ctx, "confirm admin consent", customer, tok, ep, clientID, m.provider.AppPermissions)
		if err != nil {
			return nil, err
		}
		missing := perms.Missing
		if len(missing) == 0 {
			break
		}
		if !wait {
			return nil, &FlowError{Reason: ReasonPermissionsShort, Customer: customer, Detail: "not granted (" + perms.Source.describe() + "): " + strings.Join(missing, ", ")}
		}
		if time.Now().Add(delay).After(deadline) {
			return nil, &FlowError{Reason: ReasonConsentPropagating, Customer: customer, Detail: fmt.Sprintf(
				"admin consent was granted, but Graph still shows %s not granted %s (%d fresh tokens over %s); Entra ID replicates a new grant for minutes, sometimes longer: validate again later",
				strings.Join(missing, ", "), perms.Source.describe(), attempt, time.Since(start).Round(time.Millisecond))}
		}
		m.log.InfoContext(ctx, "m365access: admin consent granted, propagating", "customer", customer, "tenant", tenant,
			"attempt", attempt, "missing", missing, "retryIn", delay.String())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("m365access: confirming admin consent of customer %q: %w", customer, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, consentBackoffMax)
	}
	now := time.Now().UTC()
	roles := slices.Clone(perms.Granted)
	slices.Sort(roles)
	if err := m.updateStatus(ctx, customer, func(st *statusRecord) {
		st.ConsentGrantedAt, st.GrantedRoles, st.ConsentReportedAt = &now, roles, nil
		if st.TenantID == "" {
			st.TenantID = tenant
		}
		if st.State == StateConsentRequired || st.State == StateConsentPropagating {
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
	m.log.InfoContext(ctx, "m365access: admin consent confirmed", "customer", customer, "tenant", tenant, "roles", roles,
		"source", string(perms.Source), "unverifiable", perms.Unverifiable)
	return &Consent{Customer: customer, TenantID: tenant, Roles: roles, GrantedAt: now}, nil
}

// consentToken gets a fresh app-only token of the app whose consent is
// confirmed: the customer's own app registration in appRegistration mode,
// else the provider app. It returns the app's client ID too.
func (m *Manager) consentToken(ctx context.Context, customer string, s *settings, ep CloudEndpoints, tenant string) (azcore.AccessToken, string, error) {
	if s.Mode == ModeAppRegistration {
		res, err := m.freshAppToken(ctx, customer, s, ep)
		if err != nil {
			return azcore.AccessToken{}, "", err
		}
		return azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}, s.AppClientID, nil
	}
	if m.provider.ClientID == "" {
		return azcore.AccessToken{}, "", errNoProviderApp(customer)
	}
	tok, err := m.freshAppOnlyToken(ctx, customer, ep, tenant)
	return tok, m.provider.ClientID, err
}

// freshAppOnlyToken gets a new app-only token of the provider app for
// tenant from Entra ID (not from any cache). The token is opaque: what it
// may do is read through Graph with it.
func (m *Manager) freshAppOnlyToken(ctx context.Context, customer string, ep CloudEndpoints, tenant string) (azcore.AccessToken, error) {
	cl, err := m.freshAppOnlyClient(customer, ep)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	res, err := cl.AcquireTokenByCredential(ctx, []string{ep.GraphScope()}, confidential.WithTenantID(tenant))
	if err != nil {
		ferr := fromMSAL("confirm admin consent", customer, err)
		recordToken(ctx, "providerAppOnly", false, ferr)
		return azcore.AccessToken{}, ferr
	}
	recordToken(ctx, "providerAppOnly", true, nil)
	return azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}, nil
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
