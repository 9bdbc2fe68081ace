package m365access

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateReports(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()

	e.connect(t, "token")
	r, err := e.m.Validate(ctx, "token")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.TenantID != e.contoso.ID || len(r.Checks) != 6 {
		t.Fatalf("token report %+v", r)
	}
	for _, name := range []string{"settings", "token", "tenant", "permissions", "teams", "serviceAccount"} {
		if c, ok := r.Check(name); !ok || !c.OK || c.Detail == "" {
			t.Errorf("check %s: %+v", name, c)
		}
	}

	e.saveAppRegistration(t, "app", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All", TeamsPermission})
	r, err = e.m.Validate(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Fatalf("app report %+v", r)
	}
	st, _ := e.m.Status(ctx, "app")
	if st.LastValidation == nil || !st.LastValidationOK || st.State != StateConnected {
		t.Errorf("status %+v", st)
	}

	// An app registration without the required roles: the permissions
	// check fails with grant consent; a missing service account is reported.
	e.saveAppRegistration(t, "short", "c2c2c2c2-1111-2222-3333-444444444444", custAppSecret+"2", "", []string{"Organization.Read.All"})
	if _, err := e.m.SaveSettings(ctx, "short", SettingsUpdate{ServiceAccount: ptr("nobody@contoso.onmicrosoft.com")}); err != nil {
		t.Fatal(err)
	}
	r, err = e.m.Validate(ctx, "short")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := r.Check("permissions"); r.OK || c.OK || c.Action != ActionGrantConsent {
		t.Errorf("permissions check %+v", c)
	}
	if c, _ := r.Check("serviceAccount"); c.OK {
		t.Errorf("service account check %+v", c)
	}
	// Without TeamsUserConfiguration.Read.All, the teams check says what
	// to grant.
	if c, _ := r.Check("teams"); c.OK || c.Action != ActionGrantConsent ||
		!strings.Contains(c.Detail, "add the application permission TeamsUserConfiguration.Read.All to the app registration") {
		t.Errorf("teams check %+v", c)
	}
	if st, _ := e.m.Status(ctx, "short"); st.State != StateConsentRequired || st.LastValidationOK {
		t.Errorf("status %+v", st)
	}

	// A wrong secret fails the token check with its action.
	if _, err := e.m.SaveSettings(ctx, "app", SettingsUpdate{AppClientSecret: ptr("not-the-secret-0123456789")}); err != nil {
		t.Fatal(err)
	}
	r, err = e.m.Validate(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := r.Check("token"); r.OK || c.OK || c.Action != ActionRotateSecret {
		t.Errorf("token check %+v", c)
	}
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
