package m365test_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

var graphDefault = []string{"https://graph.microsoft.com/.default"}

// authorities are the two ways MSAL reaches the fake.
func authorities(f *fixture) map[string]struct {
	authority string
	opts      []confidential.Option
} {
	return map[string]struct {
		authority string
		opts      []confidential.Option
	}{
		"custom-authority":               {f.srv.AuthorityURL("organizations"), []confidential.Option{confidential.WithHTTPClient(f.srv.Client()), confidential.WithInstanceDiscovery(false)}},
		"real-authority-injected-client": {"https://" + m365test.LoginHost + "/organizations", []confidential.Option{confidential.WithHTTPClient(f.srv.Client())}},
	}
}

func newConfidential(t testing.TB, f *fixture, cred confidential.Credential) confidential.Client {
	t.Helper()
	cc, err := confidential.New(f.srv.AuthorityURL("organizations"), f.provider.ClientID, cred,
		confidential.WithHTTPClient(f.srv.Client()), confidential.WithInstanceDiscovery(false))
	require.NoError(t, err)
	return cc
}

func secretCred(t testing.TB, secret string) confidential.Credential {
	cred, err := confidential.NewCredFromSecret(secret)
	require.NoError(t, err)
	return cred
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	certCred, err := confidential.NewCredFromCert([]*x509Cert{f.cert}, f.certKey)
	require.NoError(t, err)
	creds := map[string]confidential.Credential{"secret": secretCred(t, providerSecret), "certificate": certCred}
	for aname, a := range authorities(f) {
		for cname, cred := range creds {
			t.Run(aname+"/"+cname, func(t *testing.T) {
				cc, err := confidential.New(a.authority, f.provider.ClientID, cred, a.opts...)
				require.NoError(t, err)
				// No service principal in Fabrikam yet: 700016.
				_, err = cc.AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.fabrikam.ID))
				require.Equal(t, []int{m365test.CodeAppNotFound}, aadsts(t, err), "AADSTS codes")
				require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
				res, err := cc.AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.contoso.ID))
				require.NoError(t, err)
				c := jwtClaims(t, res.AccessToken)
				wantACR := map[string]string{"secret": "1", "certificate": "2"}[cname]
				assert.Equal(t, f.contoso.ID, c["tid"], "claims = %v", c)
				assert.Equal(t, "app", c["idtyp"], "claims = %v", c)
				assert.Equal(t, f.provider.ClientID, c["appid"], "claims = %v", c)
				assert.Equal(t, wantACR, c["appidacr"], "claims = %v", c)
				assert.Equal(t, "https://graph.microsoft.com", c["aud"], "claims = %v", c)
				roles, _ := c["roles"].([]any)
				assert.Contains(t, roles, "User.Read.All", "roles")
				assert.Contains(t, roles, "CallRecords.Read.All", "roles")
			})
		}
	}
	assert.Equal(t, 4, f.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken, GrantType: "client_credentials", Tenant: f.contoso.ID, Status: 200}),
		"successful client_credentials requests for Contoso")
}

// authCodeFlow runs authorize (non-interactive) and returns the code, the
// PKCE verifier and the nonce.
func authCodeFlow(t testing.TB, f *fixture, cc confidential.Client, tenant string, scopes []string, ans m365test.AuthorizeAnswer) (code, verifier, nonce string) {
	t.Helper()
	ctx := context.Background()
	u, err := cc.AuthCodeURL(ctx, f.provider.ClientID, redirectURI, scopes, confidential.WithTenantID(tenant))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u, f.srv.BrowserURL()+"/"), "authorize URL %s is not on the browser listener %s", u, f.srv.BrowserURL())
	verifier, challenge := pkce()
	nonce = "nonce-" + verifier[:8]
	u += "&state=st-123&nonce=" + nonce + "&code_challenge=" + challenge + "&code_challenge_method=S256"
	f.srv.SetAuthorizeAnswer(&ans)
	defer f.srv.SetAuthorizeAnswer(nil)
	loc := follow(t, f.srv, u, redirectURI)
	q := loc.Query()
	require.Equal(t, "st-123", q.Get("state"), "state in %s", loc)
	require.NotEmpty(t, q.Get("code"), "no code in %s", loc)
	return q.Get("code"), verifier, nonce
}

func TestAuthCodePKCEAndSilentRefresh(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	cc := newConfidential(t, f, secretCred(t, providerSecret))
	scopes := []string{"https://graph.microsoft.com/User.Read.All"}
	code, verifier, nonce := authCodeFlow(t, f, cc, f.contoso.ID, scopes, m365test.AuthorizeAnswer{User: f.contoso.AdminUPN(), AdminConsent: true})

	res, err := cc.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, confidential.WithChallenge(verifier), confidential.WithTenantID(f.contoso.ID))
	require.NoError(t, err)
	adminID := f.contoso.UserID(f.contoso.AdminUPN())
	assert.Equal(t, adminID+"."+f.contoso.ID, res.Account.HomeAccountID, "HomeAccountID")
	idc := jwtClaims(t, res.IDToken.RawToken)
	assert.Equal(t, nonce, idc["nonce"], "id_token claims = %v", idc)
	assert.Equal(t, f.provider.ClientID, idc["aud"], "id_token claims = %v", idc)
	assert.Equal(t, f.contoso.AdminUPN(), idc["preferred_username"], "id_token claims = %v", idc)
	at := jwtClaims(t, res.AccessToken)
	assert.Contains(t, at["scp"].(string), "User.Read.All", "access token claims = %v", at)
	assert.Equal(t, f.contoso.AdminUPN(), at["upn"], "access token claims = %v", at)
	assert.Equal(t, adminID, at["oid"], "access token claims = %v", at)
	c, ok := f.srv.Consent(f.contoso.ID, f.provider.ClientID)
	assert.True(t, ok, "admin consent recorded")
	assert.True(t, c.Admin, "consent = %+v; want admin consent recorded", c)

	// The code is single use.
	_, err = cc.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, confidential.WithChallenge(verifier), confidential.WithTenantID(f.contoso.ID))
	assert.Equal(t, []int{m365test.CodeCodeRedeemed}, aadsts(t, err), "reused code: AADSTS codes")

	// Silent refresh through MSAL's cache (access tokens live 4 minutes,
	// so MSAL redeems the refresh token).
	acct, err := cc.Account(ctx, res.Account.HomeAccountID)
	require.NoError(t, err)
	for i := range 2 {
		r2, err := cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
		require.NoError(t, err, "silent #%d", i)
		require.NotEqual(t, res.AccessToken, r2.AccessToken, "silent #%d returned the old access token", i)
	}
	assert.Equal(t, 2, f.srv.Count(m365test.Match{GrantType: "refresh_token", Status: 200}), "refresh_token redemptions")

	// Rotation: each use returns a new refresh token valid for another 90
	// days; MSAL keeps the newest.
	f.srv.Advance(89 * 24 * time.Hour)
	_, err = cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
	require.NoError(t, err, "after 89 days")
	f.srv.Advance(89 * 24 * time.Hour)
	_, err = cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
	require.NoError(t, err, "after 2x89 days")
	// 91 days of inactivity end it.
	f.srv.Advance(91 * 24 * time.Hour)
	_, err = cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
	assert.Equal(t, []int{m365test.CodeRefreshInactive}, aadsts(t, err), "after 91 idle days: AADSTS codes")
}

func TestRevokeAndWithdraw(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	cc := newConfidential(t, f, secretCred(t, providerSecret))
	scopes := []string{"User.Read"}
	login := func() confidential.Account {
		code, verifier, _ := authCodeFlow(t, f, cc, f.contoso.ID, scopes, m365test.AuthorizeAnswer{AdminConsent: true})
		res, err := cc.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, confidential.WithChallenge(verifier), confidential.WithTenantID(f.contoso.ID))
		require.NoError(t, err)
		return res.Account
	}
	acct := login()
	require.NoError(t, f.srv.RevokeSignInSessions(f.contoso.ID, f.contoso.AdminUPN()))
	_, err := cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
	assert.Equal(t, []int{m365test.CodeGrantRevoked}, aadsts(t, err), "revoked: AADSTS codes")

	f.srv.Advance(time.Second) // sessions after the revocation are new
	acct = login()
	require.NoError(t, f.srv.WithdrawConsent(f.contoso.Domain(), f.provider.ClientID))
	_, err = cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
	assert.Equal(t, []int{m365test.CodeConsentRequired}, aadsts(t, err), "consent withdrawn: refresh: AADSTS codes")
	_, err = cc.AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.contoso.ID))
	assert.Equal(t, []int{m365test.CodeAppNotFound}, aadsts(t, err), "consent withdrawn: client credentials: AADSTS codes")
}

func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	cc := newConfidential(t, f, secretCred(t, providerSecret))
	scopes := []string{"User.Read"}

	t.Run("wrong verifier", func(t *testing.T) {
		code, _, _ := authCodeFlow(t, f, cc, f.contoso.ID, scopes, m365test.AuthorizeAnswer{})
		other, _ := pkce()
		_, err := cc.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, confidential.WithChallenge(other), confidential.WithTenantID(f.contoso.ID))
		assert.Equal(t, []int{m365test.CodePKCEMismatch}, aadsts(t, err), "AADSTS codes")
	})
	t.Run("expired code", func(t *testing.T) {
		code, verifier, _ := authCodeFlow(t, f, cc, f.contoso.ID, scopes, m365test.AuthorizeAnswer{})
		f.srv.Advance(11 * time.Minute)
		_, err := cc.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, confidential.WithChallenge(verifier), confidential.WithTenantID(f.contoso.ID))
		assert.Equal(t, []int{m365test.CodeCodeExpired}, aadsts(t, err), "AADSTS codes")
	})

	base := f.srv.BrowserURL() + "/" + f.contoso.ID + "/oauth2/v2.0/authorize?"
	_, challenge := pkce()
	good := url.Values{"client_id": {f.provider.ClientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"scope": {"openid offline_access User.Read"}, "state": {"s1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	redirected := []struct {
		name string
		edit func(url.Values)
		ans  m365test.AuthorizeAnswer
		err  string
		code int
	}{
		{"pkce missing", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, m365test.AuthorizeAnswer{}, "invalid_request", m365test.CodePKCERequired},
		{"pkce plain", func(v url.Values) { v.Set("code_challenge_method", "plain") }, m365test.AuthorizeAnswer{}, "invalid_request", m365test.CodePKCERequired},
		{"declined", func(url.Values) {}, m365test.AuthorizeAnswer{User: "user00002@contoso.onmicrosoft.com", Decline: true}, "access_denied", m365test.CodeConsentDeclined},
		{"admin-only scope for a user", func(v url.Values) { v.Set("scope", "User.Read.All") }, m365test.AuthorizeAnswer{User: "user00002@contoso.onmicrosoft.com"}, "access_denied", m365test.CodeAdminConsentRequired},
		{"prompt none", func(v url.Values) { v.Set("prompt", "none") }, m365test.AuthorizeAnswer{}, "login_required", m365test.CodeLoginRequired},
		{"conditional access", func(url.Values) {}, m365test.AuthorizeAnswer{ErrorCode: m365test.CodeBlockedByCA}, "interaction_required", m365test.CodeBlockedByCA},
		{"user of another tenant", func(url.Values) {}, m365test.AuthorizeAnswer{User: "admin@fabrikam.onmicrosoft.com"}, "access_denied", m365test.CodeUserNotInTenant},
	}
	for _, tc := range redirected {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{}
			for k, x := range good {
				v[k] = slices.Clone(x)
			}
			tc.edit(v)
			f.srv.SetAuthorizeAnswer(&tc.ans)
			defer f.srv.SetAuthorizeAnswer(nil)
			q := follow(t, f.srv, base+v.Encode(), redirectURI).Query()
			assert.Equal(t, tc.err, q.Get("error"), "redirect query = %v", q)
			assert.True(t, strings.HasPrefix(q.Get("error_description"), "AADSTS"+itoa(tc.code)+":"), "redirect query = %v, want AADSTS%d", q, tc.code)
			assert.Equal(t, "s1", q.Get("state"), "redirect query = %v", q)
		})
	}

	pages := []struct {
		name string
		edit func(url.Values)
		code int
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "00000000-0000-0000-0000-00000000dead") }, m365test.CodeAppNotFound},
		{"redirect mismatch", func(v url.Values) { v.Set("redirect_uri", redirectURI+"/evil") }, m365test.CodeRedirectMismatch},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{}
			for k, x := range good {
				v[k] = slices.Clone(x)
			}
			tc.edit(v)
			resp, err := f.srv.Client().Get(base + v.Encode())
			require.NoError(t, err)
			body := readAll(t, resp)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "body %s", body)
			assert.Contains(t, body, "AADSTS"+itoa(tc.code), "error page")
		})
	}
}

func TestPublicClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	pc, err := public.New(f.native.ClientID, public.WithAuthority(f.srv.AuthorityURL("organizations")),
		public.WithHTTPClient(f.srv.Client()), public.WithInstanceDiscovery(false))
	require.NoError(t, err)
	scopes := []string{"User.Read"}
	admin := f.contoso.AdminUPN()

	// ROPC has no consent UI: 65001 until consent exists.
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	_, err = pc.AcquireTokenByUsernamePassword(ctx, scopes, admin, f.contoso.Password(), public.WithTenantID(f.contoso.ID))
	require.Equal(t, []int{m365test.CodeConsentRequired}, aadsts(t, err), "ROPC without consent: AADSTS codes")

	// Interactive sign-in (MSAL's own PKCE and loopback redirect server);
	// the "browser" follows the redirects, the test answers the page.
	f.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{User: admin})
	res, err := pc.AcquireTokenInteractive(ctx, scopes, public.WithTenantID(f.contoso.ID), public.WithOpenURL(func(u string) error {
		go formPostBrowser(u) // plain http: the browser listener needs no CA
		return nil
	}))
	f.srv.SetAuthorizeAnswer(nil)
	require.NoError(t, err)
	assert.Equal(t, admin, res.Account.PreferredUsername, "account = %+v", res.Account)
	c, ok := f.srv.Consent(f.contoso.ID, f.native.ClientID)
	assert.True(t, ok, "consent recorded")
	assert.False(t, c.Admin, "consent = %+v; want one user consent", c)
	assert.Equal(t, 1, c.Users, "consent = %+v; want one user consent", c)

	// Now ROPC works for the admin, fails with 50076 for the MFA user and
	// with 50126 for a wrong password.
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	r2, err := pc.AcquireTokenByUsernamePassword(ctx, scopes, admin, f.contoso.Password(), public.WithTenantID(f.contoso.ID))
	require.NoError(t, err)
	claims := jwtClaims(t, r2.AccessToken)
	assert.Equal(t, "0", claims["appidacr"], "ROPC token claims = %v", claims)
	assert.Equal(t, "User.Read", claims["scp"], "ROPC token claims = %v", claims)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.native.ClientID))
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	_, err = pc.AcquireTokenByUsernamePassword(ctx, scopes, "user00001@contoso.onmicrosoft.com", f.contoso.Password(), public.WithTenantID(f.contoso.ID))
	assert.Equal(t, []int{m365test.CodeMFARequired}, aadsts(t, err), "MFA user: AADSTS codes")
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	_, err = pc.AcquireTokenByUsernamePassword(ctx, scopes, "user00002@contoso.onmicrosoft.com", "wrong", public.WithTenantID(f.contoso.ID))
	assert.Equal(t, []int{m365test.CodeInvalidCredentials}, aadsts(t, err), "wrong password: AADSTS codes")
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	_, err = pc.AcquireTokenByUsernamePassword(ctx, scopes, "user00002@contoso.onmicrosoft.com", f.contoso.Password(), public.WithTenantID(f.contoso.ID))
	assert.NoError(t, err, "ROPC for a user after admin consent")
}

func TestAdminConsent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	cc := newConfidential(t, f, secretCred(t, providerSecret))
	// The link as a provider builds it on the authority: the TLS listener
	// sends the browser to the plain-http page.
	link := f.srv.AuthorityURL(f.fabrikam.Domain()) + "/v2.0/adminconsent?" + url.Values{
		"client_id": {f.provider.ClientID}, "scope": {"https://graph.microsoft.com/.default"},
		"redirect_uri": {consentURI}, "state": {"xyz"}}.Encode()

	f.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{User: "user00003@fabrikam.onmicrosoft.com"})
	q := follow(t, f.srv, link, consentURI).Query()
	assert.Equal(t, "access_denied", q.Get("error"), "non-admin: %v", q)
	assert.Equal(t, "True", q.Get("admin_consent"), "non-admin: %v", q)
	assert.True(t, strings.HasPrefix(q.Get("error_description"), "AADSTS90094:"), "non-admin: %v", q)
	f.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{Decline: true})
	q = follow(t, f.srv, link, consentURI).Query()
	assert.Equal(t, "access_denied", q.Get("error"), "declined: %v", q)
	assert.True(t, strings.HasPrefix(q.Get("error_description"), "AADSTS65004:"), "declined: %v", q)
	assert.Equal(t, "xyz", q.Get("state"), "declined: %v", q)
	_, ok := f.srv.Consent(f.fabrikam.ID, f.provider.ClientID)
	require.False(t, ok, "consent recorded after failures")
	f.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{})
	q = follow(t, f.srv, link, consentURI).Query()
	f.srv.SetAuthorizeAnswer(nil)
	assert.Equal(t, "True", q.Get("admin_consent"), "accepted: %v", q)
	assert.Equal(t, f.fabrikam.ID, q.Get("tenant"), "accepted: %v", q)
	assert.Equal(t, "https://graph.microsoft.com/.default", q.Get("scope"), "accepted: %v", q)
	assert.Equal(t, "xyz", q.Get("state"), "accepted: %v", q)
	assert.False(t, q.Has("error"), "accepted: %v", q)
	// Right after consent the grant is still replicating: the directory
	// shows it, app-only tokens do not carry the roles yet.
	c, _ := f.srv.Consent(f.fabrikam.ID, f.provider.ClientID)
	assert.Len(t, c.Roles, 4, "consent right after the page: %+v", c)
	assert.Len(t, c.Propagating, 4, "consent right after the page: %+v, want all propagating", c)
	res, err := cc.AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.fabrikam.ID))
	require.NoError(t, err)
	assert.NotContains(t, jwtClaims(t, res.AccessToken), "roles", "token right after consent carries roles; replication should hold them back")
	f.srv.Advance(m365test.DefaultConsentReplicationDelay)
	// Once replicated, a new token has them.
	res, err = newConfidential(t, f, secretCred(t, providerSecret)).AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.fabrikam.ID))
	require.NoError(t, err)
	roles, _ := jwtClaims(t, res.AccessToken)["roles"].([]any)
	assert.Len(t, roles, 4, "roles, want the 4 application permissions once replicated")
}

// tokenCase is one client credentials request expected to fail.
type tokenCase struct {
	name   string
	setup  func(t *testing.T) func()
	cred   *confidential.Credential
	client string
	tenant string
	scopes []string
	want   int
}

func TestTokenErrorCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	otherKey := sharedKey(t)
	unregistered := selfSignedCert(t, otherKey, "not registered")
	badCert, err := confidential.NewCredFromCert([]*x509Cert{unregistered}, otherKey)
	require.NoError(t, err)
	tests := []tokenCase{
		{name: "bad secret", cred: ptr(secretCred(t, "wrong")), want: m365test.CodeInvalidSecret},
		{name: "expired secret", setup: func(t *testing.T) func() {
			require.NoError(t, f.srv.ExpireSecrets(f.provider.ClientID))
			return func() {
				require.NoError(t, f.srv.AddSecret(f.provider.ClientID, m365test.Secret{Value: providerSecret}))
			}
		}, want: m365test.CodeExpiredSecret},
		{name: "unknown client", client: "00000000-0000-0000-0000-00000000beef", want: m365test.CodeAppNotFound},
		{name: "wrong tenant", tenant: "4a3b2c1d-0000-4000-8000-000000000000", want: m365test.CodeTenantNotFound},
		{name: "unregistered certificate", cred: &badCert, want: m365test.CodeInvalidAssertion},
		{name: "unknown resource", scopes: []string{"https://unknown.example/.default"}, want: m365test.CodeResourceNotFound},
		{name: "scope without .default", scopes: []string{"https://graph.microsoft.com/User.Read.All"}, want: m365test.CodeScopeNotDefault},
	}
	for _, code := range []int{m365test.CodeBlockedByCA, m365test.CodeLoopDetected, m365test.CodeThrottled, m365test.CodeSignInFrequency,
		m365test.CodeMFAEnrollment, m365test.CodeStrongAuthRequired, m365test.CodeAdminConsentRequired} {
		tests = append(tests, tokenCase{name: "injected " + itoa(code), setup: func(t *testing.T) func() {
			return f.srv.InjectFault(m365test.Fault{Tenant: f.contoso.Domain(), Endpoint: m365test.EndpointToken, ErrorCode: code, Times: 1})
		}, want: code})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				defer tc.setup(t)()
			}
			cred, client, tenant, scopes := secretCred(t, providerSecret), tc.client, tc.tenant, tc.scopes
			if tc.cred != nil {
				cred = *tc.cred
			}
			if client == "" {
				client = f.provider.ClientID
			}
			if tenant == "" {
				tenant = f.contoso.ID
			}
			if scopes == nil {
				scopes = graphDefault
			}
			cc, err := confidential.New(f.srv.AuthorityURL("organizations"), client, cred,
				confidential.WithHTTPClient(f.srv.Client()), confidential.WithInstanceDiscovery(false))
			require.NoError(t, err)
			_, err = cc.AcquireTokenByCredential(ctx, scopes, confidential.WithTenantID(tenant))
			assert.Equal(t, []int{tc.want}, aadsts(t, err), "AADSTS codes")
		})
	}
}
