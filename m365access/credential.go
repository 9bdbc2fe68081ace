package m365access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"go.opentelemetry.io/otel/attribute"

	"github.com/tenantgate/tenantgate/internal/telemetry"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// tokenKey names one cached access token.
type tokenKey struct {
	customer string
	mode     AuthMode
	scopes   string
}

// cachedToken is an access token held in memory, so that a cached token
// costs a map lookup rather than a sealed store read and an MSAL cache
// decode.
type cachedToken struct {
	token     string
	expiresOn time.Time
	refreshAt time.Time
	cachedAt  time.Time
}

// refreshMargin is how long before expiry a token is renewed, like MSAL's
// own five minutes; short-lived tokens are renewed at half their life.
const refreshMargin = 5 * time.Minute

func (m *Manager) cacheToken(k tokenKey, tok string, expiresOn time.Time) {
	margin := refreshMargin
	if life := time.Until(expiresOn); life < 2*refreshMargin {
		margin = life / 2
	}
	m.tokens.Store(k, cachedToken{token: tok, expiresOn: expiresOn, refreshAt: expiresOn.Add(-margin), cachedAt: time.Now()})
}

func (m *Manager) cachedToken(k tokenKey) (azcore.AccessToken, bool) {
	v, ok := m.tokens.Load(k)
	if !ok {
		return azcore.AccessToken{}, false
	}
	t := v.(cachedToken)
	if !time.Now().Before(t.refreshAt) {
		return azcore.AccessToken{}, false
	}
	return azcore.AccessToken{Token: t.token, ExpiresOn: t.expiresOn, RefreshOn: t.refreshAt}, true
}

func (m *Manager) forgetTokens(customer string) {
	m.mu.Lock()
	m.epochs[customer]++
	m.modes.Delete(customer)
	m.mu.Unlock()
	m.tokens.Range(func(k, _ any) bool {
		if k.(tokenKey).customer == customer {
			m.tokens.Delete(k)
		}
		return true
	})
}

// Credential returns an azcore.TokenCredential for customer in whatever
// mode its settings name, usable by msgraph-sdk-go and any Azure SDK
// client. Tokens come from memory while fresh; an expiring one is renewed
// silently, at most once at a time per customer in this process and,
// with a Config.Locker, across replicas.
func (m *Manager) Credential(customer string) azcore.TokenCredential {
	return &credential{m: m, customer: customer}
}

type credential struct {
	m        *Manager
	customer string
}

// GetToken implements azcore.TokenCredential. Empty Scopes mean the
// customer's Graph. TenantID in options is ignored: the customer's tenant
// is always used. Claims (a CAE claims challenge) bypass every cache: the
// token comes from Entra ID, requested with the claims where the mode
// allows (see EvictToken).
func (c *credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if opts.Claims != "" {
		return c.getTokenWithClaims(ctx, opts)
	}
	return c.m.token(ctx, c.customer, opts.Scopes)
}

// epochToken is a refreshed token with the customer's forget count when
// its refresh began.
type epochToken struct {
	tok   azcore.AccessToken
	epoch uint64
}

// modeCache remembers each customer's mode so the cached path needs no
// store read; SaveSettings and switches forget it.
type modeEntry struct{ mode AuthMode }

func (m *Manager) token(ctx context.Context, customer string, scopes []string) (azcore.AccessToken, error) {
	mode, ok := m.modes.Load(customer)
	if ok {
		k := tokenKey{customer: customer, mode: mode.(modeEntry).mode, scopes: strings.Join(scopes, " ")}
		if t, ok := m.cachedToken(k); ok {
			return t, nil
		}
	}
	sfKey := customer + "\x00" + strings.Join(scopes, " ")
	for attempt := 0; ; attempt++ {
		epoch := m.epoch(customer)
		ch := m.sf.DoChan(sfKey, func() (any, error) {
			// The leader works on behalf of every waiter: one caller's cancel
			// must not fail the others.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			e := m.epoch(customer)
			tok, err := m.refresh(lctx, customer, scopes)
			return epochToken{tok, e}, err
		})
		select {
		case r := <-ch:
			if r.Err != nil {
				return azcore.AccessToken{}, r.Err
			}
			// A refresh this call joined may have begun before the
			// customer's settings changed (a mode switch): ask again.
			et := r.Val.(epochToken)
			if et.epoch != epoch && attempt < 2 {
				continue
			}
			return et.tok, nil
		case <-ctx.Done():
			return azcore.AccessToken{}, ctx.Err()
		}
	}
}

// refresh gets a token for customer from MSAL (its cache or Entra ID)
// under the cross-replica lease and caches it in memory.
func (m *Manager) refresh(ctx context.Context, customer string, scopes []string) (azcore.AccessToken, error) {
	epoch := m.epoch(customer)
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	m.ifEpoch(customer, epoch, func() { m.modes.Store(customer, modeEntry{s.Mode}) })
	k := tokenKey{customer: customer, mode: s.Mode, scopes: strings.Join(scopes, " ")}
	if t, ok := m.cachedToken(k); ok {
		return t, nil
	}
	release, err := m.lock(ctx, "m365access.refresh."+customer)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("m365access: refresh lease for customer %q: %w", customer, err)
	}
	defer release()
	ctx, span := telemetry.Start(ctx, "m365access.AcquireToken", customer, attribute.String("tenantgate.mode", string(s.Mode)))
	res, err := m.acquire(ctx, customer, s, s.Mode, scopes)
	fromIdP := err == nil && res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider
	telemetry.End(span, err, errorCode(err))
	if err != nil {
		m.recordFailure(ctx, customer, "get a token", err)
		return azcore.AccessToken{}, err
	}
	m.ifEpoch(customer, epoch, func() { m.cacheToken(k, res.AccessToken, res.ExpiresOn) })
	m.recordSuccess(ctx, customer, fromIdP && s.Mode == ModeToken)
	t, _ := m.cachedToken(k)
	if t.Token == "" { // a token that is already due for renewal
		t = azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}
	}
	return t, nil
}

// acquire gets a token in mode for customer through MSAL and counts it.
func (m *Manager) acquire(ctx context.Context, customer string, s *settings, mode AuthMode, scopes []string) (confidential.AuthResult, error) {
	res, err := m.acquireMSAL(ctx, customer, s, mode, scopes)
	recordToken(ctx, mode, err == nil && res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider, err)
	return res, err
}

func (m *Manager) acquireMSAL(ctx context.Context, customer string, s *settings, mode AuthMode, scopes []string) (confidential.AuthResult, error) {
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return confidential.AuthResult{}, err
	}
	if len(scopes) == 0 {
		scopes = []string{ep.GraphScope()}
	}
	switch mode {
	case ModeToken:
		conn, err := m.loadConnection(ctx, customer)
		if errors.Is(err, tokenstore.ErrNotFound) {
			return confidential.AuthResult{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "no token connection: send an invitation"}
		}
		if err != nil {
			return confidential.AuthResult{}, err
		}
		cl, err := m.providerClient(customer, ep)
		if err != nil {
			return confidential.AuthResult{}, err
		}
		acct, err := cl.Account(ctx, conn.HomeAccountID)
		if err != nil {
			return confidential.AuthResult{}, fromMSAL("load the account", customer, err)
		}
		if acct.IsZero() {
			return confidential.AuthResult{}, &Error{Op: "refresh token", Customer: customer, Action: ActionReInvite,
				Err: errors.New("the token cache holds no account for the connection")}
		}
		if len(scopes) == 1 && scopes[0] == ep.GraphScope() {
			// The connection's own scopes hit the cached token.
			scopes = m.provider.delegatedScopes()
		}
		res, err := cl.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(conn.TenantID))
		if err != nil {
			return res, fromMSAL("refresh token", customer, err)
		}
		return res, nil
	case ModeAppRegistration:
		if s.AppClientID == "" {
			return confidential.AuthResult{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "no app registration client ID"}
		}
		cl, err := m.appClient(customer, s, ep)
		if err != nil {
			return confidential.AuthResult{}, err
		}
		opts := []confidential.AcquireByCredentialOption{confidential.WithTenantID(s.tenant())}
		if claims := claimsFrom(ctx); claims != "" {
			opts = append(opts, confidential.WithClaims(claims))
		}
		res, err := cl.AcquireTokenByCredential(ctx, appScopes(scopes, ep), opts...)
		if err != nil {
			return res, fromMSAL("get an app-only token", customer, err)
		}
		return res, nil
	case ModePassword:
		if s.ServiceAccount == "" || s.Password == "" {
			return confidential.AuthResult{}, &FlowError{Reason: ReasonNotConfigured, Customer: customer, Detail: "no service account password"}
		}
		cl, err := m.publicClient(customer, ep)
		if err != nil {
			return confidential.AuthResult{}, err
		}
		if len(scopes) == 1 && scopes[0] == ep.GraphScope() {
			scopes = m.provider.delegatedScopes()
		}
		// The password grant is deprecated (RFC 9700 forbids it, MFA
		// defeats it); the design keeps it for Validate and for migrating
		// customers to token mode only.
		popts := []public.AcquireByUsernamePasswordOption{public.WithTenantID(s.tenant())}
		if claims := claimsFrom(ctx); claims != "" {
			popts = append(popts, public.WithClaims(claims))
		}
		//lint:ignore SA1019 the legacy password mode is the one caller of the deprecated grant, by design
		res, err := cl.AcquireTokenByUsernamePassword(ctx, scopes, s.ServiceAccount, s.Password, popts...)
		if err != nil {
			return confidential.AuthResult{}, fromMSAL("sign in with the password", customer, err)
		}
		return res, nil
	}
	return confidential.AuthResult{}, &FlowError{Reason: ReasonWrongMode, Customer: customer, Detail: fmt.Sprintf("unknown mode %q", mode)}
}

// appScopes turns requested scopes into client-credentials scopes: every
// one must be a resource's /.default.
func appScopes(scopes []string, ep CloudEndpoints) []string {
	for _, s := range scopes {
		if !strings.HasSuffix(s, "/.default") {
			return []string{ep.GraphScope()}
		}
	}
	return scopes
}
