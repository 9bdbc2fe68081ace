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

// TestAppRegistrationConsentNamesTheCustomersApp is issue 26's
// app-registration customer told to "Grant Consent": the link consented
// the provider's app, and the customer sat in consentPropagating. The
// link now names the customer's own app; the callback is accepted at once
// (consentPropagating, no waiting), ConfirmConsent confirms it through
// Graph with the customer's app, and ConsentProgress follows it.
func TestAppRegistrationConsentNamesTheCustomersApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{replication: 300 * time.Millisecond, consentWait: 5 * time.Second})
	ctx := context.Background()
	const nwApp = "a9d2e8f1-3c4b-4d5e-9f60-7a8b9c0d1e2f"
	_, err := e.srv.AddApp(m365test.AppOptions{ClientID: nwApp, DisplayName: "Northwind app", HomeTenant: e.contoso.ID, SingleTenant: true,
		Secrets: []m365test.Secret{{Value: custAppSecret}}, RedirectURIs: []string{testConsent},
		ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", "TeamsUserConfiguration.Read.All"}})
	require.NoError(t, err)
	_, err = e.m.SaveSettings(ctx, "nw", SettingsUpdate{Tenant: ptr(e.contoso.ID), Mode: ptr(ModeAppRegistration),
		AppClientID: ptr(nwApp), AppClientSecret: ptr(custAppSecret)})
	require.NoError(t, err)
	rep, err := e.m.Validate(ctx, "nw")
	require.NoError(t, err)
	require.False(t, rep.OK)
	st, err := e.m.Status(ctx, "nw")
	require.NoError(t, err)
	require.Equal(t, StateConsentRequired, st.State)

	link, err := e.m.AdminConsentLink(ctx, "nw", ConsentOptions{})
	require.NoError(t, err)
	assert.Equal(t, nwApp, link.ClientID)
	assert.True(t, link.CustomerApp)
	assert.True(t, link.Shareable)
	assert.Equal(t, testConsent, link.RedirectURI)
	u, err := url.Parse(link.URL)
	require.NoError(t, err)
	assert.Equal(t, nwApp, u.Query().Get("client_id"), "the link consents the customer's app, not the provider's")
	assert.Greater(t, time.Until(link.ExpiresAt), 6*24*time.Hour, "a shareable link lasts long enough to be passed on")

	// The customer's Global Admin opens it in their own browser (no binding).
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	cb := ConsentCallbackFromQuery(e.follow(t, link.URL, testConsent).Query())
	e.srv.SetAuthorizeAnswer(nil)
	require.Empty(t, cb.Error)
	start := time.Now()
	acc, err := e.m.AcceptConsent(ctx, cb, "")
	require.NoError(t, err)
	assert.Less(t, time.Since(start), time.Second, "the callback is answered at once")
	assert.Equal(t, "nw", acc.Customer)
	assert.Equal(t, nwApp, acc.ClientID)
	st, err = e.m.Status(ctx, "nw")
	require.NoError(t, err)
	assert.Equal(t, StateConsentPropagating, st.State)
	pr, err := e.m.ConsentProgress(ctx, cb.State)
	require.NoError(t, err)
	assert.True(t, pr.Pending)
	assert.False(t, pr.Confirmed)

	_, err = e.m.AcceptConsent(ctx, cb, "")
	require.Error(t, err, "the callback's state is single-use")

	c, err := e.m.ConfirmConsent(ctx, "nw")
	require.NoError(t, err)
	assert.Contains(t, c.Roles, "User.Read.All")
	st, err = e.m.Status(ctx, "nw")
	require.NoError(t, err)
	assert.Equal(t, StateConnected, st.State)
	assert.Nil(t, st.LastError)
	pr, err = e.m.ConsentProgress(ctx, cb.State)
	require.NoError(t, err)
	assert.True(t, pr.Confirmed)
	assert.False(t, pr.Pending)

	_, err = e.m.ConsentProgress(ctx, "no-such-state")
	require.ErrorIs(t, err, ErrStateUnknown)
}

// TestConsentPropagatingEndsInConsentRequired: a grant reported but never
// confirmed is not propagating for ever.
func TestConsentPropagatingEndsInConsentRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "c1", custAppID, custAppSecret, "", []string{"User.Read.All"})
	for _, tc := range []struct {
		name  string
		ago   time.Duration
		state State
	}{
		{"within the window", ConsentPropagationWindow / 2, StateConsentPropagating},
		{"past the window", ConsentPropagationWindow + time.Minute, StateConsentRequired},
	} {
		reported := time.Now().Add(-tc.ago).UTC()
		require.NoError(t, e.m.updateStatus(ctx, "c1", func(st *statusRecord) {
			st.State, st.ConsentReportedAt = StateConsentPropagating, &reported
		}))
		st, err := e.m.Status(ctx, "c1")
		require.NoError(t, err)
		assert.Equal(t, tc.state, st.State, tc.name)
		if tc.state == StateConsentRequired {
			require.NotNil(t, st.LastError)
			assert.Equal(t, ActionGrantConsent, st.LastError.Action)
		}
	}
}

// TestProviderConsentLinkForTokenCustomers: token customers consent the
// provider's app; the bound link needs its browser.
func TestProviderConsentLinkForTokenCustomers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "tok", SettingsUpdate{Tenant: ptr("contoso.com"), Mode: ptr(ModeToken)})
	require.NoError(t, err)
	link, err := e.m.AdminConsentLink(ctx, "tok", ConsentOptions{BrowserBinding: binding})
	require.NoError(t, err)
	assert.Equal(t, testProviderID, link.ClientID)
	assert.False(t, link.CustomerApp)
	assert.False(t, link.Shareable)
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	cb := ConsentCallbackFromQuery(e.follow(t, link.URL, testConsent).Query())
	e.srv.SetAuthorizeAnswer(nil)
	_, err = e.m.AcceptConsent(ctx, cb, "another-browser")
	require.Error(t, err, "a bound link's callback needs the browser that asked for it")
}
