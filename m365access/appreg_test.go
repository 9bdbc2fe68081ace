package m365access

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

const (
	custAppID     = "c0c0c0c0-1111-2222-3333-444444444444"
	custAppSecret = "customer-app-secret-0123456789"
)

func TestAppRegistrationSecretAndCertificate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "secret", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All"})
	tok, err := e.m.Credential("secret").GetToken(ctx, graphScope())
	require.NoError(t, err)
	assert.Equal(t, 200, e.graphStatus(t, tok.Token, "/organization?$select=id"), "the app-only token cannot read contoso's organization")

	certPEM, _ := selfSignedPEM(t, time.Now().Add(30*24*time.Hour))
	e.saveAppRegistration(t, "cert", "c1c1c1c1-1111-2222-3333-444444444444", "", certPEM, []string{"User.Read.All", "Organization.Read.All"})
	_, err = e.m.Credential("cert").GetToken(ctx, graphScope())
	require.NoError(t, err)
	st, _ := e.m.Status(ctx, "cert")
	// A token is no proof that Graph answers: the state waits for Validate.
	assert.Equal(t, StateNotConnected, st.State)
	if assert.NotNil(t, st.CertificateExpiresAt) {
		assert.GreaterOrEqual(t, time.Until(*st.CertificateExpiresAt), 29*24*time.Hour)
	}
	assert.NotContains(t, e.logs(), custAppSecret, "a credential reached the logs")
	assert.NotContains(t, e.logs(), "PRIVATE KEY", "a credential reached the logs")
}

func TestAppRegistrationBadAndExpiredSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "c1", custAppID, custAppSecret, "", []string{"User.Read.All"})

	// A wrong secret: 7000215, rotate the secret.
	const wrong = "wrong-secret-value-0123456789"
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{AppClientSecret: ptr(wrong)})
	require.NoError(t, err)
	_, err = e.m.Credential("c1").GetToken(ctx, graphScope())
	var ae *Error
	require.ErrorAs(t, err, &ae, "wrong secret")
	require.True(t, ae.HasCode(7000215), "wrong secret: %v", err)
	require.Equal(t, ActionRotateSecret, ae.Action)
	assert.NotContains(t, err.Error(), wrong, "the error holds the secret")
	st, _ := e.m.Status(ctx, "c1")
	assert.Equal(t, StateCredentialExpired, st.State)
	if assert.NotNil(t, st.LastError) {
		assert.Equal(t, ActionRotateSecret, st.LastError.Action)
	}

	// The right secret, then it expires at the fake: 7000222.
	_, err = e.m.SaveSettings(ctx, "c1", SettingsUpdate{AppClientSecret: ptr(custAppSecret)})
	require.NoError(t, err)
	_, err = e.m.Credential("c1").GetToken(ctx, graphScope())
	require.NoError(t, err)
	require.NoError(t, e.srv.ExpireSecrets(custAppID))
	m2, _ := e.manager(t) // no token in memory
	_, err = m2.Credential("c1").GetToken(ctx, graphScope())
	require.ErrorAs(t, err, &ae, "expired secret")
	require.True(t, ae.HasCode(7000222), "expired secret: %v", err)
	require.Equal(t, ActionRotateSecret, ae.Action)
}

// TestValidateAfterConsentGetsFreshToken: Validate, grant consent,
// Validate again once the grant replicated: the second Validate and the
// day-two credential see the roles, although MSAL cached a roles-less
// token an hour long.
func TestValidateAfterConsentGetsFreshToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "c1", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All", TeamsPermission})
	require.NoError(t, e.srv.WithdrawConsent(e.contoso.ID, custAppID))
	r, err := e.m.Validate(ctx, "c1")
	require.NoError(t, err)
	c, _ := r.Check("permissions")
	require.False(t, r.OK, "before consent: %+v", r)
	require.False(t, c.OK, "before consent: %+v", r)
	require.Equal(t, ActionGrantConsent, c.Action)
	// The day-two credential caches a roles-less token too.
	_, err = e.m.Credential("c1").GetToken(ctx, graphScope())
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsentNow(e.contoso.ID, custAppID))
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	r, err = e.m.Validate(ctx, "c1")
	require.NoError(t, err)
	require.True(t, r.OK, "after consent replicated, Validate still fails (a cached token?): %+v", r.Checks)
	tok, err := e.m.Credential("c1").GetToken(ctx, graphScope())
	require.NoError(t, err)
	assert.Equal(t, 200, e.graphStatus(t, tok.Token, "/users?$top=1&$select=id"), "the credential still serves the roles-less token")
	st, _ := e.m.Status(ctx, "c1")
	assert.Equal(t, StateConnected, st.State)
}
