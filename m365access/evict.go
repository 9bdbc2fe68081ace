package m365access

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// EvictToken forgets token, an access token of the customer that Graph
// rejected (401) before its expiry — revoked, issued before a Continuous
// Access Evaluation event, or judged expired by a clock ahead of this
// host's: the next GetToken gets a fresh one from Entra ID (a delegated
// connection redeems its refresh token) instead of serving it from memory
// or MSAL's cache. A token already replaced by a fresher one is left
// alone, so many requests refused at once renew once.
// internal/graphhttp's pipeline calls it on a 401 (TokenEvicter).
func (c *credential) EvictToken(token string) {
	c.m.evictToken(c.customer, token)
}

// EvictToken forgets the customer's QoE app tokens (see
// credential.EvictToken): the next GetToken asks Entra ID.
func (c qoeCredential) EvictToken(string) {
	cc := c.m.entry(c.customer)
	c.m.mu.Lock()
	cc.qoe, cc.qoeFP = nil, ""
	c.m.mu.Unlock()
}

// evictToken drops token from the in-memory cache and, unless a fresher
// token is already cached, every access token MSAL holds for customer.
func (m *Manager) evictToken(customer, token string) {
	m.evict(customer, func(t cachedToken) bool { return t.token == token })
}

// claimsGrace: a token cached this recently was fetched after the claims
// challenge that is being answered (by a request refused at the same
// time), so the challenge does not evict it.
const claimsGrace = 5 * time.Second

// evict drops the customer's cached tokens that stale says are stale and,
// unless a fresher one stays, every access token MSAL holds for it.
func (m *Manager) evict(customer string, staleFn func(cachedToken) bool) {
	stale, fresher := false, false
	m.tokens.Range(func(k, v any) bool {
		if k.(tokenKey).customer != customer {
			return true
		}
		if staleFn(v.(cachedToken)) {
			m.tokens.Delete(k)
			stale = true
		} else {
			fresher = true
		}
		return true
	})
	if fresher && !stale {
		return // another request renewed it already
	}
	cc := m.entry(customer)
	m.mu.Lock()
	// App registration and password clients keep tokens in memory only:
	// a new client starts empty.
	cc.app, cc.appFP = nil, ""
	cc.public, cc.publicFP = nil, ""
	cache := cc.cache
	m.mu.Unlock()
	if cache != nil {
		// The provider's persisted cache keeps the refresh token.
		cache.DropAccessTokens()
	}
}

// claimsKey carries a CAE claims challenge from GetToken to the MSAL call.
type claimsKey struct{}

func withClaims(ctx context.Context, claims string) context.Context {
	if claims == "" {
		return ctx
	}
	return context.WithValue(ctx, claimsKey{}, claims)
}

func claimsFrom(ctx context.Context) string {
	c, _ := ctx.Value(claimsKey{}).(string)
	return c
}

// getTokenWithClaims answers a claims challenge: the cached tokens go
// (but one cached within claimsGrace, by a request refused at the same
// time), and
// the new one is requested with the claims where MSAL can send them (app
// registration and password modes; a token connection's silent refresh
// cannot, and gets a fresh token, or the refusal that needs a new sign-in).
func (c *credential) getTokenWithClaims(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	fresh := time.Now().Add(-claimsGrace)
	c.m.evict(c.customer, func(t cachedToken) bool { return t.cachedAt.Before(fresh) })
	return c.m.token(withClaims(ctx, opts.Claims), c.customer, opts.Scopes)
}
