package m365access

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/msalcache"
)

func TestTokenConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("contoso.com"), ServiceAccount: ptr("ADMIN@contoso.onmicrosoft.com")})
	require.NoError(t, err)
	res, err := e.m.Begin(ctx, "c1", BeginOptions{BrowserBinding: binding})
	require.NoError(t, err)
	u, _ := url.Parse(res.AuthorizeURL)
	q := u.Query()
	require.Equal(t, testProviderID, q.Get("client_id"), res.AuthorizeURL)
	require.Equal(t, testRedirect, q.Get("redirect_uri"), res.AuthorizeURL)
	require.Equal(t, "S256", q.Get("code_challenge_method"), res.AuthorizeURL)
	require.Len(t, q.Get("code_challenge"), 43, res.AuthorizeURL)
	require.GreaterOrEqual(t, len(q.Get("state")), 43, res.AuthorizeURL)
	require.GreaterOrEqual(t, len(q.Get("nonce")), 43, res.AuthorizeURL)
	require.Equal(t, "ADMIN@contoso.onmicrosoft.com", q.Get("login_hint"), res.AuthorizeURL)
	require.Contains(t, q.Get("scope"), "offline_access", res.AuthorizeURL)
	require.Contains(t, u.Path, e.contoso.ID, res.AuthorizeURL)
	d := time.Until(res.ExpiresAt)
	assert.True(t, d >= 9*time.Minute && d <= 10*time.Minute, "transaction expires in %v, want 10 minutes", d)

	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	cb := e.follow(t, res.AuthorizeURL, testRedirect).Query()
	e.srv.SetAuthorizeAnswer(nil)
	conn, err := e.m.Complete(ctx, cb.Get("state"), cb.Get("code"), binding)
	require.NoError(t, err)
	adminID := e.contoso.UserID(e.contoso.AdminUPN())
	assert.Equal(t, e.contoso.ID, conn.TenantID)
	assert.Equal(t, adminID+"."+e.contoso.ID, conn.HomeAccountID)
	assert.True(t, strings.EqualFold(conn.Account, e.contoso.AdminUPN()), "connection %+v", conn)
	// The domain was resolved to the GUID and stored.
	s, _ := e.m.GetSettings(ctx, "c1")
	assert.Equal(t, e.contoso.ID, s.TenantID, "settings after connect")
	assert.Equal(t, ModeToken, s.Mode, "settings after connect")
	// The MSAL cache is stored sealed: the store opens it to MSAL's JSON
	// with the refresh token, the backend holds only ciphertext.
	page, err := e.store.List(ctx, "c1", msalcache.DefaultKind, tokenstore.ListOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, page.Records, "no MSAL cache record")
	for _, rec := range page.Records {
		raw, err := e.backend.Get(ctx, rec.Key)
		require.NoError(t, err)
		assert.True(t, rec.Sealed, "MSAL cache record %s is sealed", rec.Key)
		assert.Contains(t, string(rec.Data), "RefreshToken", "the store opens %s", rec.Key)
		assert.NotContains(t, string(raw.Data), "RefreshToken", "the backend holds only ciphertext of %s", rec.Key)
	}
	st, err := e.m.Status(ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, StateConnected, st.State)
	if assert.NotNil(t, st.RefreshTokenDeadline) {
		assert.GreaterOrEqual(t, time.Until(*st.RefreshTokenDeadline), 89*24*time.Hour)
	}
	ev, ok := e.events.last()
	if assert.True(t, ok, "an event") {
		assert.Equal(t, StateNotConnected, ev.From)
		assert.Equal(t, StateConnected, ev.To)
	}
	// Secrets never reached the logs.
	logs := e.logs()
	for _, s := range []string{testProviderSecret, cb.Get("code"), cb.Get("state"), q.Get("nonce")} {
		assert.False(t, strings.Contains(logs, s), "logs hold a secret value")
	}
}

func TestCompleteRejections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.contoso.ID), ServiceAccount: ptr(e.contoso.AdminUPN())})
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, testProviderID))
	admin := m365test.AuthorizeAnswer{}
	setQuery := func(key, val string) func(string) string {
		return func(raw string) string {
			u, _ := url.Parse(raw)
			q := u.Query()
			q.Set(key, val)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	tests := []struct {
		name string
		run  func(t *testing.T) error
		want error
	}{
		{"unknown state", func(t *testing.T) error {
			q := e.signIn(t, e.m, "c1", admin, nil)
			_, err := e.m.Complete(ctx, q.Get("state")+"x", q.Get("code"), binding)
			return err
		}, ErrStateUnknown},
		{"empty state", func(t *testing.T) error {
			_, err := e.m.Complete(ctx, "", "code", binding)
			return err
		}, ErrStateUnknown},
		{"expired state", func(t *testing.T) error {
			q := e.signIn(t, e.m, "c1", admin, nil)
			m2, _ := e.manager(t)
			m2.now = func() time.Time { return time.Now().Add(10*time.Minute + time.Second) }
			_, err := m2.Complete(ctx, q.Get("state"), q.Get("code"), binding)
			return err
		}, ErrStateExpired},
		{"reused state", func(t *testing.T) error {
			q := e.signIn(t, e.m, "c1", admin, nil)
			_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
			require.NoError(t, err)
			_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
			return err
		}, ErrStateReused},
		{"other browser", func(t *testing.T) error {
			q := e.signIn(t, e.m, "c1", admin, nil)
			_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), "another-browser")
			return err
		}, ErrBindingMismatch},
		{"missing code", func(t *testing.T) error {
			q := e.signIn(t, e.m, "c1", admin, nil)
			_, err := e.m.Complete(ctx, q.Get("state"), "", binding)
			return err
		}, ErrMissingCode},
		{"nonce mismatch", func(t *testing.T) error {
			q := e.signIn(t, e.m, "c1", admin, setQuery("nonce", "attacker-nonce"))
			_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
			return err
		}, ErrNonceMismatch},
		{"wrong account", func(t *testing.T) error {
			q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{User: "user00002@contoso.onmicrosoft.com"}, setQuery("login_hint", ""))
			_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
			return err
		}, ErrWrongAccount},
		{"scopes missing", func(t *testing.T) error {
			// Entra ID issues every consented scope whatever the request
			// names, so only a tenant that consented to less gets less:
			// no admin consent, and the admin consents for themself to
			// the one scope the tampered request names.
			require.NoError(t, e.srv.WithdrawConsent(e.contoso.ID, testProviderID))
			q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{}, setQuery("scope", "User.Read openid profile offline_access"))
			_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
			return err
		}, ErrScopesMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			require.ErrorIs(t, err, tc.want)
			var fe *FlowError
			if errors.As(err, &fe) {
				assert.NotEqual(t, ActionNone, fe.Action(), "rejection without an action")
			}
		})
	}
	// A PKCE verifier that does not match is Entra's rejection (tampered
	// challenge): the code exchange fails with an *Error.
	q := e.signIn(t, e.m, "c1", admin, setQuery("code_challenge", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	var ee *Error
	if assert.ErrorAs(t, err, &ee, "tampered challenge") {
		assert.NotEmpty(t, ee.Codes, "tampered challenge: %v", err)
	}
	assert.NotContains(t, err.Error(), q.Get("code"), "the error holds the code")
}

func TestCheckSignIn(t *testing.T) {
	t.Parallel()
	const oid = "11111111-0000-0000-0000-00000000000a"
	admin := idClaims{TenantID: testTenant, ObjectID: oid, PreferredUsername: "Admin@Contoso.com",
		Roles: []string{RoleGlobalAdministrator}, HasRoles: true}
	user := idClaims{TenantID: testTenant, ObjectID: "22222222-0000-0000-0000-00000000000b", PreferredUsername: "guest@contoso.com",
		Roles: []string{"10dae51f-b6af-4016-8d66-8c2a99b929b3"}, HasRoles: true}
	noWids := idClaims{TenantID: testTenant, ObjectID: oid}
	// An attacker's account carrying the service account's name and
	// email, but its own object ID.
	impostor := idClaims{TenantID: testTenant, ObjectID: "33333333-0000-0000-0000-00000000000c", UPN: "admin@contoso.com",
		PreferredUsername: "admin@contoso.com", Roles: []string{RoleGlobalAdministrator}, HasRoles: true}
	known := &settings{ServiceAccount: "admin@contoso.com", ServiceAccountID: oid}
	none := &settings{}
	req := []string{"User.Read.All"}
	granted := []string{"https://graph.microsoft.com/User.Read.All", "openid"}
	tests := []struct {
		name   string
		claims idClaims
		s      *settings
		gr     []string
		want   error
	}{
		{"service account by object ID", admin, known, granted, nil},
		{"same name, other object ID", impostor, known, granted, ErrWrongAccount},
		{"no service account, Global Administrator", admin, none, granted, nil},
		{"no service account, ordinary user or guest", user, none, granted, ErrNotAdmin},
		{"no service account, no wids claim", noWids, none, granted, ErrNotAdmin},
		{"service account not resolved yet (Graph decides)", user, &settings{ServiceAccount: "admin@contoso.com"}, granted, nil},
		{"scopes short", admin, known, []string{"User.Read"}, ErrScopesMissing},
	}
	for _, tc := range tests {
		err := checkSignIn(tc.claims, tc.s, DefaultAdminRoles, req, tc.gr)
		if tc.want == nil {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
	}
	err := checkSignIn(user, none, DefaultAdminRoles, req, granted)
	assert.ErrorContains(t, err, "Global Administrator (62e90394-69f5-4237-9190-012177145e10)", "the refusal does not name the role")
	err = checkSignIn(noWids, none, DefaultAdminRoles, req, granted)
	assert.ErrorContains(t, err, "groupMembershipClaims", "the refusal without wids does not say how to get them")
}

func TestCompleteCallbackErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.contoso.ID)})
	require.NoError(t, err)
	tests := []struct {
		ans  m365test.AuthorizeAnswer
		code int
		want Action
	}{
		{m365test.AuthorizeAnswer{ErrorCode: 53003}, 53003, ActionCompleteMFAOrSwitchToToken},
		{m365test.AuthorizeAnswer{ErrorCode: 50076}, 50076, ActionCompleteMFAOrSwitchToToken},
		{m365test.AuthorizeAnswer{Decline: true}, 65004, ActionGrantConsent},
	}
	for _, tc := range tests {
		q := e.signIn(t, e.m, "c1", tc.ans, nil)
		_, err := e.m.CompleteCallback(ctx, q, binding)
		var ae *Error
		if assert.ErrorAs(t, err, &ae, "%+v", tc.ans) {
			assert.True(t, ae.HasCode(tc.code), "%+v: got %v, want AADSTS%d", tc.ans, err, tc.code)
			assert.Equal(t, tc.want, ae.Action, "%+v", tc.ans)
		}
		// The transaction is spent.
		_, err = e.m.Complete(ctx, q.Get("state"), "x", binding)
		assert.ErrorIs(t, err, ErrStateReused, "state after an error callback")
	}
	// A good callback completes.
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, testProviderID))
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{}, nil)
	_, err = e.m.CompleteCallback(ctx, q, binding)
	require.NoError(t, err)
}
