package m365access

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

func (e *env) consentCallback(t *testing.T, customer string, ans m365test.AuthorizeAnswer) url.Values {
	t.Helper()
	res, err := e.m.ConsentURL(context.Background(), customer, binding)
	require.NoError(t, err)
	e.srv.SetAuthorizeAnswer(&ans)
	defer e.srv.SetAuthorizeAnswer(nil)
	return e.follow(t, res.AuthorizeURL, testConsent).Query()
}

func TestAdminConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("fabrikam.onmicrosoft.com")})
	require.NoError(t, err)

	// Declined: the callback's error is checked first.
	q := e.consentCallback(t, "c1", m365test.AuthorizeAnswer{Decline: true})
	require.Equal(t, "True", q.Get("admin_consent"), "the fake should send admin_consent=True even on failure: %v", q)
	_, err = e.m.CompleteConsent(ctx, ConsentCallbackFromQuery(q), binding)
	require.ErrorIs(t, err, ErrDenied, "declined")
	require.Equal(t, ActionGrantConsent, ActionOf(err), "declined")
	st, _ := e.m.Status(ctx, "c1")
	assert.Equal(t, StateConsentRequired, st.State, "after decline")
	// Its state is spent.
	_, err = e.m.CompleteConsent(ctx, ConsentCallback{State: q.Get("state"), AdminConsent: "True"}, binding)
	assert.ErrorIs(t, err, ErrStateReused, "replayed state")

	// Accepted: Entra ID replicates the grant for a while (a minute in
	// the fake), longer than this Manager waits: granted, propagating.
	q = e.consentCallback(t, "c1", m365test.AuthorizeAnswer{})
	_, err = e.m.CompleteConsent(ctx, ConsentCallbackFromQuery(q), binding)
	require.ErrorIs(t, err, ErrConsentPropagating, "consent still replicating")
	require.Equal(t, ActionWaitAndRetry, ActionOf(err), "consent still replicating")
	st, _ = e.m.Status(ctx, "c1")
	assert.Equal(t, StateConsentPropagating, st.State, "while replicating")
	assert.NotNil(t, st.ConsentReportedAt, "while replicating")
	assert.NotNil(t, st.LastError, "while replicating")
	// Once replicated, ConfirmConsent finishes with a fresh token.
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	c, err := e.m.ConfirmConsent(ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, e.fabrikam.ID, c.TenantID)
	assert.Equal(t, []string{"Organization.Read.All", "User.Read.All"}, c.Roles)
	st, _ = e.m.Status(ctx, "c1")
	// The provider app may not read its service principal: the required
	// roles are confirmed by Graph requests, so only they are listed.
	assert.NotNil(t, st.ConsentGrantedAt)
	assert.Len(t, st.GrantedRoles, 2)
	assert.NotContains(t, []State{StateConsentRequired, StateConsentPropagating}, st.State)
	assert.Nil(t, st.ConsentReportedAt)
	// Another browser cannot complete it.
	q = e.consentCallback(t, "c1", m365test.AuthorizeAnswer{})
	_, err = e.m.CompleteConsent(ctx, ConsentCallbackFromQuery(q), "other-browser")
	assert.ErrorIs(t, err, ErrBindingMismatch, "other browser")
}

func TestAdminConsentForgedTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	// contoso consented; the customer's tenant, fabrikam, did not.
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, testProviderID))
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.fabrikam.ID)})
	require.NoError(t, err)
	res, err := e.m.ConsentURL(ctx, "c1", binding)
	require.NoError(t, err)
	u, _ := url.Parse(res.AuthorizeURL)
	// A forged success callback naming the consented tenant.
	forged := ConsentCallback{State: u.Query().Get("state"), AdminConsent: "True", Tenant: e.contoso.ID}
	_, err = e.m.CompleteConsent(ctx, forged, binding)
	var ae *Error
	require.ErrorAs(t, err, &ae, "forged tenant accepted or wrong error")
	require.Equal(t, ActionGrantConsent, ae.Action)
	st, _ := e.m.Status(ctx, "c1")
	assert.Nil(t, st.ConsentGrantedAt, "status after forged callback")
	assert.Equal(t, StateConsentRequired, st.State, "status after forged callback")
}

func TestConsentNeedsProviderApp(t *testing.T) {
	t.Parallel()
	m, _, _ := newTestManager(t, func(c *Config) { c.Provider = ProviderConfig{}; c.AppRegistrationOnly = true })
	ctx := context.Background()
	_, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("contoso.com")})
	require.NoError(t, err)
	_, err = m.ConsentURL(ctx, "c1", binding)
	assert.ErrorIs(t, err, ErrNotConfigured, "ConsentURL without provider app")
	_, err = m.Begin(ctx, "c1", BeginOptions{BrowserBinding: binding})
	assert.ErrorIs(t, err, ErrNotConfigured, "Begin without provider app")
}

// TestConsentWaitsForReplication: a grant that replicates within
// Config.ConsentWait is confirmed by the callback itself, after retries
// with fresh tokens.
func TestConsentWaitsForReplication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{replication: 400 * time.Millisecond, consentWait: 10 * time.Second})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("fabrikam.onmicrosoft.com")})
	require.NoError(t, err)
	before := e.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken})
	q := e.consentCallback(t, "c1", m365test.AuthorizeAnswer{})
	c, err := e.m.CompleteConsent(ctx, ConsentCallbackFromQuery(q), binding)
	require.NoError(t, err)
	assert.Len(t, c.Roles, 2)
	// Roles in the answer mean an attempt came after the grant replicated;
	// more than one token request means the first attempts, before it,
	// did not stop the confirmation and none reused a cached token.
	assert.GreaterOrEqual(t, e.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken})-before, 2, "token requests; want a fresh token per attempt")
	assert.Contains(t, e.logs(), "admin consent granted, propagating", "the retries are not logged")
	st, _ := e.m.Status(ctx, "c1")
	assert.NotEqual(t, StateConsentPropagating, st.State)
	assert.NotNil(t, st.ConsentGrantedAt)
}

// TestConfirmConsentIgnoresCachedToken: a check before consent must not
// leave a roles-less token that later checks trust.
func TestConfirmConsentIgnoresCachedToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("fabrikam.onmicrosoft.com")})
	require.NoError(t, err)
	// No consent yet: the provider app has no service principal there.
	_, err = e.m.ConfirmConsent(ctx, "c1")
	require.Error(t, err, "confirmed without consent")
	// Consent in the tenant, then propagate, with no callback involved.
	require.NoError(t, e.srv.GrantAdminConsentNow(e.fabrikam.ID, testProviderID))
	_, err = e.m.ConfirmConsent(ctx, "c1")
	require.ErrorIs(t, err, ErrPermissionsMissing, "right after consent, without a callback")
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	c, err := e.m.ConfirmConsent(ctx, "c1")
	require.NoError(t, err, "after replication (a cached roles-less token was trusted?)")
	assert.Len(t, c.Roles, 2)
}
