package m365access

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()

	e.connect(t, "token")
	r, err := e.m.Validate(ctx, "token")
	require.NoError(t, err)
	require.True(t, r.OK, "token report %+v", r)
	require.Equal(t, e.contoso.ID, r.TenantID)
	require.Len(t, r.Checks, 6)
	for _, name := range []string{"settings", "token", "tenant", "permissions", "teams", "serviceAccount"} {
		c, ok := r.Check(name)
		if assert.True(t, ok, "check %s", name) {
			assert.True(t, c.OK, "check %s: %+v", name, c)
			assert.NotEmpty(t, c.Detail, "check %s", name)
		}
	}

	e.saveAppRegistration(t, "app", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All", TeamsPermission})
	r, err = e.m.Validate(ctx, "app")
	require.NoError(t, err)
	require.True(t, r.OK, "app report %+v", r)
	st, _ := e.m.Status(ctx, "app")
	assert.NotNil(t, st.LastValidation)
	assert.True(t, st.LastValidationOK)
	assert.Equal(t, StateConnected, st.State)

	// An app registration without the required roles: the permissions
	// check fails with grant consent; a missing service account is reported.
	e.saveAppRegistration(t, "short", "c2c2c2c2-1111-2222-3333-444444444444", custAppSecret+"2", "", []string{"Organization.Read.All"})
	_, err = e.m.SaveSettings(ctx, "short", SettingsUpdate{ServiceAccount: ptr("nobody@contoso.onmicrosoft.com")})
	require.NoError(t, err)
	r, err = e.m.Validate(ctx, "short")
	require.NoError(t, err)
	assert.False(t, r.OK)
	c, _ := r.Check("permissions")
	assert.False(t, c.OK, "permissions check %+v", c)
	assert.Equal(t, ActionGrantConsent, c.Action)
	c, _ = r.Check("serviceAccount")
	assert.False(t, c.OK, "service account check %+v", c)
	// Without TeamsUserConfiguration.Read.All, the teams check says what
	// to grant.
	c, _ = r.Check("teams")
	assert.False(t, c.OK, "teams check %+v", c)
	assert.Equal(t, ActionGrantConsent, c.Action)
	assert.Contains(t, c.Detail, "add the application permission TeamsUserConfiguration.Read.All to the app registration")
	st, _ = e.m.Status(ctx, "short")
	assert.Equal(t, StateConsentRequired, st.State)
	assert.False(t, st.LastValidationOK)

	// A wrong secret fails the token check with its action.
	_, err = e.m.SaveSettings(ctx, "app", SettingsUpdate{AppClientSecret: ptr("not-the-secret-0123456789")})
	require.NoError(t, err)
	r, err = e.m.Validate(ctx, "app")
	require.NoError(t, err)
	assert.False(t, r.OK)
	c, _ = r.Check("token")
	assert.False(t, c.OK, "token check %+v", c)
	assert.Equal(t, ActionRotateSecret, c.Action)
}

// A token proves only what the token endpoint refused: Entra ID issues an
// app registration without its Graph roles a token, and Graph then answers
// 403. A later token must not turn the consentRequired that validation
// proved into connected (no connection.connected flap), and a validation
// that passes is what clears it.
func TestTokenDoesNotClearStateGraphProved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "short", "c2c2c2c2-1111-2222-3333-444444444444", custAppSecret+"2", "", []string{"Organization.Read.All"})
	r, err := e.m.Validate(ctx, "short")
	require.NoError(t, err)
	require.False(t, r.OK)
	st, err := e.m.Status(ctx, "short")
	require.NoError(t, err)
	require.Equal(t, StateConsentRequired, st.State)

	e.events.mu.Lock()
	before := len(e.events.ev)
	e.events.mu.Unlock()
	tok, err := e.m.Credential("short").GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	require.NoError(t, err, "Entra ID issues the token; Graph is what refuses")
	require.NotEmpty(t, tok.Token)

	st, err = e.m.Status(ctx, "short")
	require.NoError(t, err)
	assert.Equal(t, StateConsentRequired, st.State, "a token does not prove consent")
	require.NotNil(t, st.LastError)
	assert.Equal(t, ActionGrantConsent, st.LastError.Action)
	e.events.mu.Lock()
	after := append([]Event(nil), e.events.ev[before:]...)
	e.events.mu.Unlock()
	assert.Empty(t, after, "no state change, so no event")
}
