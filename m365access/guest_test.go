package m365access

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestGuestServiceAccount runs the whole token-mode flow with a guest
// (B2B) service account configured by its home address: the sign-in at
// the customer's tenant matches Graph's /me (mail, #EXT# name), the
// connection refreshes at the customer's tenant although MSAL's home
// account is the guest's home tenant, and Validate reports it.
func TestGuestServiceAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{atLifetime: 4 * time.Minute, opaque: true})
	ctx := context.Background()
	g, err := e.srv.AddGuest(e.contoso.ID, m365test.GuestOptions{Email: "alice@fabrikam.com", DisplayName: "Alice (Fabrikam)"})
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, testProviderID))
	_, err = e.m.SaveSettings(ctx, "g", SettingsUpdate{Tenant: ptr("contoso.com"), Mode: ptr(ModeToken),
		ServiceAccount: ptr("Alice@Fabrikam.com")})
	require.NoError(t, err)
	q := e.signIn(t, e.m, "g", m365test.AuthorizeAnswer{User: "alice@fabrikam.com"}, nil)
	conn, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.NoError(t, err, "guest sign-in")
	assert.Equal(t, e.contoso.ID, conn.TenantID)
	assert.Equal(t, g.ID, conn.ObjectID)
	assert.Equal(t, g.UserPrincipalName, conn.Account)
	assert.Equal(t, g.HomeObjectID+"."+g.HomeTenantID, conn.HomeAccountID)
	s, _ := e.m.GetSettings(ctx, "g")
	assert.Equal(t, g.ID, s.ServiceAccountID, "the guest's object ID was not pinned")

	// Another replica (nothing in memory) refreshes at contoso.
	m2, _ := e.manager(t)
	refreshes := func() int {
		return e.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken, Tenant: e.contoso.ID, GrantType: "refresh_token", Status: 200})
	}
	before := refreshes()
	tok, err := m2.Credential("g").GetToken(ctx, graphScope())
	require.NoError(t, err, "refresh")
	assert.Equal(t, before+1, refreshes(), "refresh at the resource tenant")
	assert.Equal(t, 200, e.graphStatus(t, tok.Token, "/me?$select=id"))
	r, err := m2.Validate(ctx, "g")
	require.NoError(t, err)
	c, _ := r.Check("serviceAccount")
	assert.True(t, r.OK && c.OK, "validate %+v", r.Checks)
	assert.Contains(t, c.Detail, g.UserPrincipalName)

	// A guest that is not the configured account is refused.
	_, err = e.srv.AddGuest(e.contoso.ID, m365test.GuestOptions{Email: "bob@fabrikam.com"})
	require.NoError(t, err)
	_, err = e.m.SaveSettings(ctx, "h", SettingsUpdate{Tenant: ptr("contoso.com"), Mode: ptr(ModeToken),
		ServiceAccount: ptr("alice@fabrikam.com")})
	require.NoError(t, err)
	q = e.signIn(t, e.m, "h", m365test.AuthorizeAnswer{User: "bob@fabrikam.com"}, nil)
	_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	var fe *FlowError
	if assert.ErrorAs(t, err, &fe, "bob for alice") {
		assert.Equal(t, ReasonWrongAccount, fe.Reason, "bob for alice")
	}
}
