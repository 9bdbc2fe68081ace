package m365access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/tenantgate/tenantgate/internal/telemetry"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// BeginOptions tune Begin.
type BeginOptions struct {
	// BrowserBinding ties the transaction to the user agent that starts
	// it, for example a hash of a random cookie value set on the response
	// that redirects to Microsoft. Complete must be given the same value.
	// Required.
	BrowserBinding string
	// Prompt is passed to Entra ID ("login", "select_account", "consent");
	// empty lets Entra decide.
	Prompt string
	// SwitchMode flips the customer's mode to ModeToken once the
	// connection completes and validates (SwitchToToken sets it).
	SwitchMode bool
	// Invitation is the ID of the invitation the sign-in starts from, ""
	// for none. The transaction remembers it, and CompleteWith refuses the
	// sign-in (ErrInvitationGone) unless CompleteOptions.InvitationLive
	// confirms the invitation still works when the sign-in completes: a
	// revoked or expired invitation cancels sign-ins already under way.
	Invitation string
}

// BeginResult is where to send the browser.
type BeginResult struct {
	// AuthorizeURL is the Microsoft sign-in URL with state, PKCE S256,
	// nonce and login_hint.
	AuthorizeURL string
	// ExpiresAt is when the transaction lapses.
	ExpiresAt time.Time
}

// pending is a stored sign-in or consent transaction (sealed: it holds the
// PKCE verifier and nonce).
type pending struct {
	Flow        string    `json:"flow"` // "signin" or "consent"
	Customer    string    `json:"customer"`
	BindingHash string    `json:"bindingHash"`
	Verifier    string    `json:"verifier,omitempty"`
	Nonce       string    `json:"nonce,omitempty"`
	ExpiresAt   time.Time `json:"expiresAt"`
	Used        bool      `json:"used,omitempty"`
	SwitchMode  bool      `json:"switchMode,omitempty"`
	Invitation  string    `json:"invitation,omitempty"`
	// App is the client ID an admin consent transaction consents.
	App string `json:"app,omitempty"`
	// Shareable: a consent transaction bound to no browser.
	Shareable bool `json:"shareable,omitempty"`
	// TakenAt is when the callback used the transaction.
	TakenAt *time.Time `json:"takenAt,omitempty"`
}

const (
	flowSignIn  = "signin"
	flowConsent = "consent"
)

func pendingKey(state string) tokenstore.Key {
	sum := sha256.Sum256([]byte(state))
	return tokenstore.Key{Customer: pendingCustomer, Kind: kindPending, Name: hex.EncodeToString(sum[:])}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashBinding(b string) string {
	sum := sha256.Sum256([]byte("tenantgate-binding\x00" + b))
	return hex.EncodeToString(sum[:])
}

// newPending stores a transaction and returns its state.
func (m *Manager) newPending(ctx context.Context, p pending) (string, error) {
	state := randomToken()
	data, err := json.Marshal(&p)
	if err != nil {
		return "", err
	}
	if _, err := m.store.Put(ctx, tokenstore.Record{Key: pendingKey(state), Data: data, Sealed: true}, 0); err != nil {
		return "", fmt.Errorf("m365access: storing the transaction: %w", err)
	}
	return state, nil
}

// takePending checks and consumes the transaction named by state: it must
// exist, be of flow, unexpired, unused and bound to this browser. It is
// marked used with a versioned write, so of two concurrent callbacks
// exactly one wins.
func (m *Manager) takePending(ctx context.Context, flow, state, binding string) (pending, error) {
	var p pending
	if state == "" {
		return p, ErrStateUnknown
	}
	key := pendingKey(state)
	rec, err := tokenstore.GetSealed(ctx, m.store, key)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return p, ErrStateUnknown
	}
	if err != nil {
		return p, fmt.Errorf("m365access: reading the transaction: %w", err)
	}
	if err := json.Unmarshal(rec.Data, &p); err != nil || p.Flow != flow {
		return pending{}, ErrStateUnknown
	}
	if p.Used {
		return p, &FlowError{Reason: ReasonStateReused, Customer: p.Customer}
	}
	if m.now().After(p.ExpiresAt) {
		if err := m.store.Delete(ctx, key, rec.Version); err != nil && !errors.Is(err, tokenstore.ErrNotFound) && !errors.Is(err, tokenstore.ErrConflict) {
			m.log.WarnContext(ctx, "m365access: deleting an expired transaction failed", "err", err)
		}
		return p, &FlowError{Reason: ReasonStateExpired, Customer: p.Customer}
	}
	if !(p.Shareable && p.BindingHash == "") && subtle.ConstantTimeCompare([]byte(hashBinding(binding)), []byte(p.BindingHash)) != 1 {
		return p, &FlowError{Reason: ReasonBindingMismatch, Customer: p.Customer}
	}
	p.Used = true
	taken := m.now().UTC()
	p.TakenAt = &taken
	data, err := json.Marshal(&p)
	if err != nil {
		return p, err
	}
	if _, err := m.store.Put(ctx, tokenstore.Record{Key: key, Data: data, Sealed: true}, rec.Version); err != nil {
		if errors.Is(err, tokenstore.ErrConflict) {
			return p, &FlowError{Reason: ReasonStateReused, Customer: p.Customer}
		}
		return p, fmt.Errorf("m365access: consuming the transaction: %w", err)
	}
	return p, nil
}

// Begin starts the token connection for customer: it stores a pending
// transaction (single use, expiring, bound to opts.BrowserBinding) and
// returns the Microsoft sign-in URL for the customer's tenant.
func (m *Manager) Begin(ctx context.Context, customer string, opts BeginOptions) (BeginResult, error) {
	if opts.BrowserBinding == "" {
		return BeginResult{}, errors.New("m365access: Begin needs a browser binding")
	}
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return BeginResult{}, err
	}
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return BeginResult{}, err
	}
	cl, err := m.providerClient(customer, ep)
	if err != nil {
		return BeginResult{}, err
	}
	verifier := randomToken()
	nonce := randomToken()
	challenge := sha256.Sum256([]byte(verifier))
	urlOpts := []confidential.AuthCodeURLOption{confidential.WithTenantID(s.tenant())}
	if s.ServiceAccount != "" {
		urlOpts = append(urlOpts, confidential.WithLoginHint(s.ServiceAccount))
	}
	scopes := append(m.provider.delegatedScopes(), "openid", "profile", "offline_access")
	raw, err := cl.AuthCodeURL(ctx, m.provider.ClientID, m.provider.redirectURI(), scopes, urlOpts...)
	if err != nil {
		return BeginResult{}, fromMSAL("build the sign-in URL", customer, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return BeginResult{}, fmt.Errorf("m365access: MSAL returned an unusable sign-in URL: %w", err)
	}
	expires := time.Now().Add(m.provider.ttl()).UTC()
	state, err := m.newPending(ctx, pending{
		Flow: flowSignIn, Customer: customer, BindingHash: hashBinding(opts.BrowserBinding),
		Verifier: verifier, Nonce: nonce, ExpiresAt: expires, SwitchMode: opts.SwitchMode, Invitation: opts.Invitation,
	})
	if err != nil {
		return BeginResult{}, err
	}
	q := u.Query()
	q.Set("state", state)
	q.Set("nonce", nonce)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(challenge[:]))
	q.Set("code_challenge_method", "S256")
	if opts.Prompt != "" {
		q.Set("prompt", opts.Prompt)
	}
	u.RawQuery = q.Encode()
	m.log.InfoContext(ctx, "m365access: token connection started", "customer", customer, "expires", expires)
	return BeginResult{AuthorizeURL: u.String(), ExpiresAt: expires}, nil
}

// Connection is a completed token connection.
type Connection struct {
	Customer string
	// TenantID is the tenant GUID from the id_token.
	TenantID string
	// ObjectID is the signed-in user's object ID in the tenant; with
	// TenantID it identifies the account.
	ObjectID string
	// Account is the signed-in user's name (UPN), for display.
	Account string
	// Invitation is the ID of the invitation the sign-in started from
	// (BeginOptions.Invitation), "" for none.
	Invitation string
	// HomeAccountID is MSAL's account key for silent refresh.
	HomeAccountID string
	// Scopes are the granted scopes.
	Scopes      []string
	ConnectedAt time.Time
}

// connection is the stored form of a Connection (not sealed: it holds
// identifiers only; the tokens are in the sealed MSAL cache).
type connection struct {
	TenantID      string    `json:"tenantId"`
	ObjectID      string    `json:"objectId,omitempty"`
	Account       string    `json:"account"`
	HomeAccountID string    `json:"homeAccountId"`
	Scopes        []string  `json:"scopes"`
	ConnectedAt   time.Time `json:"connectedAt"`
}

func connectionKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: customer, Kind: kindConnection, Name: "token"}
}

func (m *Manager) loadConnection(ctx context.Context, customer string) (*connection, error) {
	rec, err := m.store.Get(ctx, connectionKey(customer))
	if err != nil {
		return nil, err
	}
	var c connection
	if err := json.Unmarshal(rec.Data, &c); err != nil {
		return nil, fmt.Errorf("m365access: connection of customer %q is corrupt", customer)
	}
	return &c, nil
}

// CompleteOptions tune CompleteWith.
type CompleteOptions struct {
	// InvitationLive reports whether the invitation a sign-in started
	// from (BeginOptions.Invitation) can still connect: nil, or why not
	// (invite.Service.Live fits). It is asked before the code is exchanged
	// and again before the connection is stored. A sign-in begun from an
	// invitation is refused with ErrInvitationGone when it is nil or
	// returns an error.
	InvitationLive func(ctx context.Context, customer, invitation string) error
	// BeforeStore, when set, is called once every check passed, just
	// before the connection is stored, with the customer and the account
	// that signed in: a host records the change there (its audit entry)
	// and an error stops it, so that no connection is stored without its
	// record. The error is returned wrapped; the sign-in's tokens are
	// removed and nothing is stored.
	BeforeStore func(ctx context.Context, customer, account string) error
}

// Complete finishes the token connection from the redirect's state and
// code: CompleteWith without options (so it refuses sign-ins begun from an
// invitation).
func (m *Manager) Complete(ctx context.Context, state, code, browserBinding string) (*Connection, error) {
	return m.CompleteWith(ctx, state, code, browserBinding, CompleteOptions{})
}

// CompleteWith finishes the token connection from the redirect's state
// and code. It rejects an unknown, expired, reused or foreign-browser
// state and a sign-in whose invitation is gone, exchanges the code with
// the PKCE verifier, verifies the id_token (signature against the
// tenant's keys, issuer, audience, times, nonce, tenant), checks who
// signed in (the service account by object ID and tenant, or, without
// one, an account holding one of ProviderConfig.AdminRoles) and the
// granted scopes, and stores the connection. Rejections are *FlowError
// (errors.Is with the Err* sentinels); Entra's refusals are *Error.
func (m *Manager) CompleteWith(ctx context.Context, state, code, browserBinding string, opts CompleteOptions) (*Connection, error) {
	ctx, span := telemetry.Start(ctx, "m365access.Complete", "")
	r, err := m.completeSignIn(ctx, state, code, browserBinding, opts)
	telemetry.End(span, err, errorCode(err))
	return r, err
}

func (m *Manager) completeSignIn(ctx context.Context, state, code, browserBinding string, opts CompleteOptions) (*Connection, error) {
	p, err := m.takePending(ctx, flowSignIn, state, browserBinding)
	if err != nil {
		return nil, err
	}
	customer := p.Customer
	if code == "" {
		return nil, &FlowError{Reason: ReasonMissingCode, Customer: customer}
	}
	if err := m.invitationLive(ctx, p, opts); err != nil {
		m.recordAttempt(ctx, customer, "complete the token connection", err)
		return nil, err
	}
	conn, err := m.complete(ctx, p, code, opts)
	if err != nil {
		m.recordAttempt(ctx, customer, "complete the token connection", err)
		return nil, err
	}
	return conn, nil
}

// invitationLive checks the invitation a transaction started from.
func (m *Manager) invitationLive(ctx context.Context, p pending, opts CompleteOptions) error {
	if p.Invitation == "" {
		return nil
	}
	if opts.InvitationLive == nil {
		return &FlowError{Reason: ReasonInvitationGone, Customer: p.Customer,
			Detail: "the sign-in started from an invitation, and nothing was given to check it (CompleteOptions.InvitationLive)"}
	}
	if err := opts.InvitationLive(ctx, p.Customer, p.Invitation); err != nil {
		return &FlowError{Reason: ReasonInvitationGone, Customer: p.Customer,
			Detail: "the invitation " + safeToken(p.Invitation) + " no longer works: " + clip(err.Error())}
	}
	return nil
}

func (m *Manager) complete(ctx context.Context, p pending, code string, opts CompleteOptions) (*Connection, error) {
	customer := p.Customer
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return nil, err
	}
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return nil, err
	}
	// Resolve a domain to its GUID independently of the sign-in answer.
	wantTenant := s.TenantID
	if wantTenant == "" {
		wantTenant, err = m.resolveTenant(ctx, ep, s.Tenant)
		if err != nil {
			return nil, err
		}
	}
	cl, err := m.providerClient(customer, ep)
	if err != nil {
		return nil, err
	}
	scopes := m.provider.delegatedScopes()
	res, err := cl.AcquireTokenByAuthCode(ctx, code, m.provider.redirectURI(), scopes,
		confidential.WithChallenge(p.Verifier), confidential.WithTenantID(wantTenant))
	if err != nil {
		var ferr error = fromMSAL("exchange the authorization code", customer, err)
		if declined, ok := strings.CutPrefix(err.Error(), msalDeclinedScopes); ok {
			ferr = &FlowError{Reason: ReasonScopesMissing, Customer: customer, Detail: "not granted: " + clip(declined)}
		}
		recordToken(ctx, ModeToken, false, ferr)
		return nil, ferr
	}
	recordToken(ctx, ModeToken, true, nil)
	reject := func(err error) (*Connection, error) {
		m.removeRejected(ctx, customer, res.Account)
		var fe *FlowError
		if errors.As(err, &fe) {
			fe.Customer = customer
		}
		return nil, err
	}
	claims, err := m.verifyIDToken(ctx, ep, res.IDToken.RawToken, wantTenant, p.Nonce)
	if err != nil {
		return reject(err)
	}
	if err := checkSignIn(claims, s, m.provider.adminRoles(), scopes, res.GrantedScopes); err != nil {
		return reject(err)
	}
	user := claims.user()
	accountID := s.ServiceAccountID
	if s.ServiceAccount != "" && accountID == "" {
		// First connection of this service account: learn its object ID
		// from Graph, where the user principal name is the directory's own
		// (the id_token's names are for display and may be changed).
		me, err := m.whoAmI(ctx, customer, ep, res.AccessToken, res.ExpiresOn, claims.ObjectID)
		if err != nil {
			return reject(err)
		}
		if !me.matches(s.ServiceAccount) {
			return reject(&FlowError{Reason: ReasonWrongAccount, Detail: fmt.Sprintf("signed in as %s, expected %s", safeToken(me.UserPrincipalName), s.ServiceAccount)})
		}
		user, accountID = me.UserPrincipalName, claims.ObjectID
	}
	if res.Account.HomeAccountID == "" {
		return nil, &Error{Op: "exchange the authorization code", Customer: customer, Action: ActionRestartConnection,
			Err: errors.New("the token response had no client_info: no home account")}
	}
	// The invitation may have been revoked while the user signed in.
	if err := m.invitationLive(ctx, p, opts); err != nil {
		return reject(err)
	}
	if opts.BeforeStore != nil {
		if err := opts.BeforeStore(ctx, customer, user); err != nil {
			m.removeRejected(ctx, customer, res.Account)
			return nil, fmt.Errorf("m365access: the connection of %q was not stored: %w", customer, err)
		}
	}
	now := time.Now().UTC()
	c := connection{TenantID: strings.ToLower(claims.TenantID), ObjectID: strings.ToLower(claims.ObjectID), Account: user,
		HomeAccountID: res.Account.HomeAccountID, Scopes: res.GrantedScopes, ConnectedAt: now}
	if err := m.storeConnection(ctx, customer, c, p.SwitchMode, s.ServiceAccount, accountID); err != nil {
		return nil, err
	}
	m.forgetTokens(customer)
	// Cache the first access token under the keys Credential looks up for
	// the customer's Graph: no scopes, and the Graph .default scope.
	for _, k := range []string{"", ep.GraphScope(), strings.Join(scopes, " ")} {
		m.cacheToken(tokenKey{customer: customer, mode: ModeToken, scopes: k}, res.AccessToken, res.ExpiresOn)
	}
	if err := m.updateStatus(ctx, customer, func(st *statusRecord) {
		st.State, st.Account, st.TenantID = StateConnected, user, c.TenantID
		st.ConnectedAt, st.LastRefresh, st.LastError = &now, &now, nil
	}); err != nil {
		m.log.WarnContext(ctx, "m365access: recording the connection failed", "customer", customer, "err", err)
	}
	m.log.InfoContext(ctx, "m365access: token connection completed", "customer", customer, "tenant", c.TenantID, "account", user)
	return &Connection{Customer: customer, TenantID: c.TenantID, ObjectID: c.ObjectID, Account: user, Invitation: p.Invitation,
		HomeAccountID: c.HomeAccountID, Scopes: c.Scopes, ConnectedAt: now}, nil
}

// storeConnection saves the connection, the resolved tenant GUID and, for
// a switch, the new mode, and indexes the customer for the refresher.
//
// accountID is the object ID of serviceAccount, learned at this
// connection; it is saved only if the settings still name that account.
func (m *Manager) storeConnection(ctx context.Context, customer string, c connection, switchMode bool, serviceAccount, accountID string) error {
	data, err := json.Marshal(&c)
	if err != nil {
		return err
	}
	key := connectionKey(customer)
	for attempt := 0; ; attempt++ {
		var version int64
		if rec, err := m.store.Get(ctx, key); err == nil {
			version = rec.Version
		} else if !errors.Is(err, tokenstore.ErrNotFound) {
			return fmt.Errorf("m365access: saving the connection: %w", err)
		}
		_, err := m.store.Put(ctx, tokenstore.Record{Key: key, Data: data}, version)
		if err == nil {
			break
		}
		if !errors.Is(err, tokenstore.ErrConflict) || attempt > 5 {
			return fmt.Errorf("m365access: saving the connection: %w", err)
		}
	}
	if _, _, err := m.updateSettings(ctx, customer, 0, func(s *settings, _ bool) error {
		s.TenantID = c.TenantID
		if serviceAccount != "" && strings.EqualFold(s.ServiceAccount, serviceAccount) && s.ServiceAccountID == "" {
			s.ServiceAccountID = accountID
		}
		if switchMode {
			s.Mode = ModeToken
		}
		return nil
	}); err != nil {
		return err
	}
	return m.index(ctx, customer)
}

// msalDeclinedScopes starts the error MSAL returns (instead of a result)
// when the token response grants fewer scopes than requested. MSAL gives
// no typed error for it; the text is MSAL's own, not the server's.
const msalDeclinedScopes = "token response failed because declined scopes are present: "

// checkSignIn checks who signed in and what was granted, from a verified
// id_token: the service account by object ID when its ID is known; with
// no service account, an account holding one of adminRoles (so that no
// guest or ordinary user of the tenant can connect it); and the granted
// scopes. The service account whose ID is not known yet is checked
// through Graph by the caller. Names and email never decide. It returns
// a *FlowError.
func checkSignIn(claims idClaims, s *settings, adminRoles, required, granted []string) error {
	switch {
	case s.ServiceAccount != "" && s.ServiceAccountID != "":
		if !strings.EqualFold(claims.ObjectID, s.ServiceAccountID) {
			return &FlowError{Reason: ReasonWrongAccount, Detail: fmt.Sprintf("signed in as %s (object %s), expected the service account %s (object %s)",
				safeToken(claims.user()), safeToken(claims.ObjectID), s.ServiceAccount, s.ServiceAccountID)}
		}
	case s.ServiceAccount == "":
		if !hasRole(claims.Roles, adminRoles) {
			detail := fmt.Sprintf("no service account is set, so the account that signs in must hold one of these directory roles: %s; %s holds none",
				describeRoles(adminRoles), safeToken(claims.user()))
			if !claims.HasRoles {
				detail = fmt.Sprintf("no service account is set, so the account that signs in must hold one of these directory roles: %s; "+
					"the id_token names no roles (wids): set groupMembershipClaims to \"DirectoryRole\" in the provider app's manifest, or set the customer's service account",
					describeRoles(adminRoles))
			}
			return &FlowError{Reason: ReasonNotAdmin, Detail: detail}
		}
	}
	if missing := missingScopes(required, granted); len(missing) > 0 {
		return &FlowError{Reason: ReasonScopesMissing, Detail: "not granted: " + strings.Join(missing, ", ")}
	}
	return nil
}

// hasRole reports whether have holds one of want (GUIDs, any case).
func hasRole(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}

// removeRejected deletes a rejected sign-in's tokens from the customer's
// persisted cache, unless the account is the one the customer's working
// connection uses: its tokens are that connection's (same home account),
// and deleting them would break it. The partition is deleted in the store
// directly: MSAL's RemoveAccount on a partitioned cache works on the
// client's own partition key, not the account's, and leaves the account's
// refresh token in place.
func (m *Manager) removeRejected(ctx context.Context, customer string, acct confidential.Account) {
	if acct.IsZero() || acct.HomeAccountID == "" {
		return
	}
	if c, err := m.loadConnection(ctx, customer); err == nil && c.HomeAccountID == acct.HomeAccountID {
		return
	} else if err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
		// Unsure whose tokens these are: keep them rather than risk the
		// connection.
		m.log.WarnContext(ctx, "m365access: reading the connection failed; the rejected account's tokens stay cached", "customer", customer, "err", err)
		return
	}
	cache := m.providerCache(customer)
	if cache == nil {
		return
	}
	if err := cache.Delete(context.WithoutCancel(ctx), acct.HomeAccountID); err != nil {
		m.log.WarnContext(ctx, "m365access: removing a rejected account's tokens failed", "customer", customer, "err", err)
	}
}

// missingScopes returns the required scopes (short names) absent from
// granted, compared case-insensitively without resource prefixes.
func missingScopes(required, granted []string) []string {
	have := make(map[string]bool, len(granted))
	for _, g := range granted {
		have[strings.ToLower(shortScope(g))] = true
	}
	var missing []string
	for _, r := range required {
		s := shortScope(r)
		if s == ".default" || oidcScopes[strings.ToLower(s)] {
			continue
		}
		if !have[strings.ToLower(s)] && !slices.Contains(missing, s) {
			missing = append(missing, s)
		}
	}
	return missing
}
