package m365access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/tenantgate/tenantgate/tokenstore/msalcache"
)

// customerClients are one customer's MSAL clients. Each customer has its
// own: an MSAL client holds one lock across cache load, network call and
// cache save, so sharing one client would make every tenant queue behind
// every other tenant's refresh.
type customerClients struct {
	provider   *confidential.Client // provider app, customer's persisted cache
	providerFP string
	cache      *msalcache.Cache     // provider's persisted cache
	app        *confidential.Client // customer's app registration
	appFP      string
	public     *public.Client // provider app as a public client (legacy password mode)
	publicFP   string
	qoe        *confidential.Client // the customer's QoE app, in-memory cache
	qoeFP      string
}

// errNoProviderApp reports a flow that needs the provider app when none
// is configured.
func errNoProviderApp(customer string) error {
	return &FlowError{Reason: ReasonNotConfigured, Customer: customer,
		Detail: "the provider app's client ID is not configured (ProviderConfig.ClientID)"}
}

func (m *Manager) newConfidential(ep CloudEndpoints, clientID string, cred confidential.Credential, c cache.ExportReplace) (*confidential.Client, error) {
	opts := []confidential.Option{confidential.WithHTTPClient(retryingDoer{m.http})}
	if ep.DisableInstanceDiscovery {
		opts = append(opts, confidential.WithInstanceDiscovery(false))
	}
	if c != nil {
		opts = append(opts, confidential.WithCache(c))
	}
	cl, err := confidential.New(ep.AuthorityHost+"/organizations", clientID, cred, opts...)
	if err != nil {
		return nil, fmt.Errorf("m365access: creating the MSAL client: %w", sanitized{err})
	}
	return &cl, nil
}

// providerCredential builds the provider app's MSAL credential.
func (p ProviderConfig) credential() (confidential.Credential, error) {
	if p.ClientAssertion != nil {
		assert := p.ClientAssertion
		return confidential.NewCredFromAssertionCallback(func(ctx context.Context, _ confidential.AssertionRequestOptions) (string, error) {
			return assert(ctx)
		}), nil
	}
	if len(p.CertificatePEM) != 0 {
		certs, key, _, err := parseCertificatePEM(p.CertificatePEM)
		if err != nil {
			return confidential.Credential{}, err
		}
		return confidential.NewCredFromCert(certs, key)
	}
	return confidential.NewCredFromSecret(p.ClientSecret)
}

// appCredential builds the customer's app registration credential; the
// certificate wins over the secret when both are set.
func (s *settings) appCredential() (confidential.Credential, error) {
	if s.AppCertPEM != "" {
		certs, key, _, err := parseCertificatePEM([]byte(s.AppCertPEM))
		if err != nil {
			return confidential.Credential{}, err
		}
		return confidential.NewCredFromCert(certs, key)
	}
	if s.AppSecret == "" {
		return confidential.Credential{}, &FlowError{Reason: ReasonNotConfigured, Detail: "the app registration has no secret or certificate"}
	}
	return confidential.NewCredFromSecret(s.AppSecret)
}

func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (m *Manager) entry(customer string) *customerClients {
	m.mu.Lock()
	defer m.mu.Unlock()
	cc := m.clients[customer]
	if cc == nil {
		cc = &customerClients{}
		m.clients[customer] = cc
	}
	return cc
}

// providerClient returns the provider app's client for customer, whose
// token cache is persisted sealed in the store.
func (m *Manager) providerClient(customer string, ep CloudEndpoints) (*confidential.Client, error) {
	if m.provider.ClientID == "" {
		return nil, errNoProviderApp(customer)
	}
	fp := fingerprint(ep.AuthorityHost)
	cc := m.entry(customer)
	m.mu.Lock()
	if cc.provider != nil && cc.providerFP == fp {
		defer m.mu.Unlock()
		return cc.provider, nil
	}
	m.mu.Unlock()
	cred, err := m.provider.credential()
	if err != nil {
		return nil, err
	}
	c, err := msalcache.New(m.store, customer, msalcache.Options{})
	if err != nil {
		return nil, fmt.Errorf("m365access: token cache of customer %q: %w", customer, err)
	}
	cl, err := m.newConfidential(ep, m.provider.ClientID, cred, c)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cc.provider != nil && cc.providerFP == fp {
		return cc.provider, nil
	}
	cc.provider, cc.providerFP, cc.cache = cl, fp, c
	return cl, nil
}

// appClient returns the customer's app registration client (in-memory
// token cache: app tokens are cheap to get again).
func (m *Manager) appClient(customer string, s *settings, ep CloudEndpoints) (*confidential.Client, error) {
	fp := fingerprint(ep.AuthorityHost, s.AppClientID, s.AppSecret, s.AppCertPEM)
	cc := m.entry(customer)
	m.mu.Lock()
	if cc.app != nil && cc.appFP == fp {
		defer m.mu.Unlock()
		return cc.app, nil
	}
	m.mu.Unlock()
	cred, err := s.appCredential()
	if err != nil {
		return nil, err
	}
	cl, err := m.newConfidential(ep, s.AppClientID, cred, nil)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cc.app, cc.appFP = cl, fp
	return cl, nil
}

// freshAppOnlyClient returns a new client of the provider app with an
// empty in-memory cache. Consent checks use it so the token they judge
// comes from Entra ID now: MSAL's AcquireTokenByCredential answers from
// its cache first, and a token cached before consent (or while it was
// replicating) lacks the new roles until it expires, about an hour.
func (m *Manager) freshAppOnlyClient(customer string, ep CloudEndpoints) (*confidential.Client, error) {
	if m.provider.ClientID == "" {
		return nil, errNoProviderApp(customer)
	}
	cred, err := m.provider.credential()
	if err != nil {
		return nil, err
	}
	return m.newConfidential(ep, m.provider.ClientID, cred, nil)
}

// freshAppToken gets an app-only token of the customer's app registration
// from Entra ID through a new client (an empty cache), so a grant made
// since the last token shows. The new client then replaces the cached
// one, and the customer's cached access tokens are dropped, so day-two
// calls use the fresh token too.
func (m *Manager) freshAppToken(ctx context.Context, customer string, s *settings, ep CloudEndpoints) (confidential.AuthResult, error) {
	if s.AppClientID == "" {
		return confidential.AuthResult{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "no app registration client ID"}
	}
	cred, err := s.appCredential()
	if err != nil {
		return confidential.AuthResult{}, err
	}
	cl, err := m.newConfidential(ep, s.AppClientID, cred, nil)
	if err != nil {
		return confidential.AuthResult{}, err
	}
	res, err := cl.AcquireTokenByCredential(ctx, []string{ep.GraphScope()}, confidential.WithTenantID(s.tenant()))
	if err != nil {
		ferr := fromMSAL("get an app-only token", customer, err)
		recordToken(ctx, ModeAppRegistration, false, ferr)
		return res, ferr
	}
	recordToken(ctx, ModeAppRegistration, res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider, nil)
	fp := fingerprint(ep.AuthorityHost, s.AppClientID, s.AppSecret, s.AppCertPEM)
	cc := m.entry(customer)
	m.mu.Lock()
	cc.app, cc.appFP = cl, fp
	m.mu.Unlock()
	m.forgetTokens(customer)
	return res, nil
}

// publicClient returns the provider app as a public client for the legacy
// password grant (the grant sends no client credential, so the app must
// allow public client flows), with an in-memory cache.
func (m *Manager) publicClient(customer string, ep CloudEndpoints) (*public.Client, error) {
	if m.provider.ClientID == "" {
		return nil, errNoProviderApp(customer)
	}
	fp := fingerprint(ep.AuthorityHost)
	cc := m.entry(customer)
	m.mu.Lock()
	defer m.mu.Unlock()
	if cc.public != nil && cc.publicFP == fp {
		return cc.public, nil
	}
	opts := []public.Option{public.WithAuthority(ep.AuthorityHost + "/organizations"), public.WithHTTPClient(retryingDoer{m.http})}
	if ep.DisableInstanceDiscovery {
		opts = append(opts, public.WithInstanceDiscovery(false))
	}
	cl, err := public.New(m.provider.ClientID, opts...)
	if err != nil {
		return nil, fmt.Errorf("m365access: creating the MSAL public client: %w", sanitized{err})
	}
	cc.public, cc.publicFP = &cl, fp
	return &cl, nil
}

// providerCache returns the persisted token cache behind customer's
// provider client, nil if none was built.
func (m *Manager) providerCache(customer string) *msalcache.Cache {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cc := m.clients[customer]; cc != nil {
		return cc.cache
	}
	return nil
}
