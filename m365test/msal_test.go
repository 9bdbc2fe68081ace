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
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

func secretCred(t testing.TB, secret string) confidential.Credential {
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	certCred, err := confidential.NewCredFromCert([]*x509Cert{f.cert}, f.certKey)
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]confidential.Credential{"secret": secretCred(t, providerSecret), "certificate": certCred}
	for aname, a := range authorities(f) {
		for cname, cred := range creds {
			t.Run(aname+"/"+cname, func(t *testing.T) {
				cc, err := confidential.New(a.authority, f.provider.ClientID, cred, a.opts...)
				if err != nil {
					t.Fatal(err)
				}
				// No service principal in Fabrikam yet: 700016.
				_, err = cc.AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.fabrikam.ID))
				if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeAppNotFound}) {
					t.Fatalf("codes = %v, want [700016]", codes)
				}
				if err := f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID); err != nil {
					t.Fatal(err)
				}
				res, err := cc.AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.contoso.ID))
				if err != nil {
					t.Fatal(err)
				}
				c := jwtClaims(t, res.AccessToken)
				wantACR := map[string]string{"secret": "1", "certificate": "2"}[cname]
				if c["tid"] != f.contoso.ID || c["idtyp"] != "app" || c["appid"] != f.provider.ClientID || c["appidacr"] != wantACR ||
					c["aud"] != "https://graph.microsoft.com" {
					t.Errorf("claims = %v", c)
				}
				roles, _ := c["roles"].([]any)
				if !slices.Contains(roles, any("User.Read.All")) || !slices.Contains(roles, any("CallRecords.Read.All")) {
					t.Errorf("roles = %v", roles)
				}
			})
		}
	}
	if n := f.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken, GrantType: "client_credentials", Tenant: f.contoso.ID, Status: 200}); n != 4 {
		t.Errorf("successful client_credentials requests for Contoso = %d, want 4", n)
	}
}

// authCodeFlow runs authorize (non-interactive) and returns the code, the
// PKCE verifier and the nonce.
func authCodeFlow(t testing.TB, f *fixture, cc confidential.Client, tenant string, scopes []string, ans m365test.AuthorizeAnswer) (code, verifier, nonce string) {
	t.Helper()
	ctx := context.Background()
	u, err := cc.AuthCodeURL(ctx, f.provider.ClientID, redirectURI, scopes, confidential.WithTenantID(tenant))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, f.srv.BrowserURL()+"/") {
		t.Fatalf("authorize URL %s is not on the browser listener %s", u, f.srv.BrowserURL())
	}
	verifier, challenge := pkce()
	nonce = "nonce-" + verifier[:8]
	u += "&state=st-123&nonce=" + nonce + "&code_challenge=" + challenge + "&code_challenge_method=S256"
	f.srv.SetAuthorizeAnswer(&ans)
	defer f.srv.SetAuthorizeAnswer(nil)
	loc := follow(t, f.srv, u, redirectURI)
	q := loc.Query()
	if q.Get("state") != "st-123" {
		t.Fatalf("state = %q in %s", q.Get("state"), loc)
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", loc)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	adminID := f.contoso.UserID(f.contoso.AdminUPN())
	if res.Account.HomeAccountID != adminID+"."+f.contoso.ID {
		t.Errorf("HomeAccountID = %q, want %s.%s", res.Account.HomeAccountID, adminID, f.contoso.ID)
	}
	if idc := jwtClaims(t, res.IDToken.RawToken); idc["nonce"] != nonce || idc["aud"] != f.provider.ClientID || idc["preferred_username"] != f.contoso.AdminUPN() {
		t.Errorf("id_token claims = %v", idc)
	}
	at := jwtClaims(t, res.AccessToken)
	if !strings.Contains(at["scp"].(string), "User.Read.All") || at["upn"] != f.contoso.AdminUPN() || at["oid"] != adminID {
		t.Errorf("access token claims = %v", at)
	}
	if c, ok := f.srv.Consent(f.contoso.ID, f.provider.ClientID); !ok || !c.Admin {
		t.Errorf("consent = %+v, %v; want admin consent recorded", c, ok)
	}

	// The code is single use.
	_, err = cc.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, confidential.WithChallenge(verifier), confidential.WithTenantID(f.contoso.ID))
	if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeCodeRedeemed}) {
		t.Errorf("reused code: codes = %v, want [54005]", codes)
	}

	// Silent refresh through MSAL's cache (access tokens live 4 minutes,
	// so MSAL redeems the refresh token).
	acct, err := cc.Account(ctx, res.Account.HomeAccountID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		r2, err := cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
		if err != nil {
			t.Fatalf("silent #%d: %v", i, err)
		}
		if r2.AccessToken == res.AccessToken {
			t.Fatalf("silent #%d returned the old access token", i)
		}
	}
	if n := f.srv.Count(m365test.Match{GrantType: "refresh_token", Status: 200}); n != 2 {
		t.Errorf("refresh_token redemptions = %d, want 2", n)
	}

	// Rotation: each use returns a new refresh token valid for another 90
	// days; MSAL keeps the newest.
	f.srv.Advance(89 * 24 * time.Hour)
	if _, err := cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID)); err != nil {
		t.Fatalf("after 89 days: %v", err)
	}
	f.srv.Advance(89 * 24 * time.Hour)
	if _, err := cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID)); err != nil {
		t.Fatalf("after 2x89 days: %v", err)
	}
	// 91 days of inactivity end it.
	f.srv.Advance(91 * 24 * time.Hour)
	_, err = cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
	if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeRefreshInactive}) {
		t.Errorf("after 91 idle days: codes = %v, want [700082]", codes)
	}
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
		if err != nil {
			t.Fatal(err)
		}
		return res.Account
	}
	acct := login()
	if err := f.srv.RevokeSignInSessions(f.contoso.ID, f.contoso.AdminUPN()); err != nil {
		t.Fatal(err)
	}
	_, err := cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
	if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeGrantRevoked}) {
		t.Errorf("revoked: codes = %v, want [50173]", codes)
	}

	f.srv.Advance(time.Second) // sessions after the revocation are new
	acct = login()
	if err := f.srv.WithdrawConsent(f.contoso.Domain(), f.provider.ClientID); err != nil {
		t.Fatal(err)
	}
	_, err = cc.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct), confidential.WithTenantID(f.contoso.ID))
	if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeConsentRequired}) {
		t.Errorf("consent withdrawn: refresh codes = %v, want [65001]", codes)
	}
	_, err = cc.AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.contoso.ID))
	if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeAppNotFound}) {
		t.Errorf("consent withdrawn: client credentials codes = %v, want [700016]", codes)
	}
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
		if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodePKCEMismatch}) {
			t.Errorf("codes = %v, want [50148]", codes)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code, verifier, _ := authCodeFlow(t, f, cc, f.contoso.ID, scopes, m365test.AuthorizeAnswer{})
		f.srv.Advance(11 * time.Minute)
		_, err := cc.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, confidential.WithChallenge(verifier), confidential.WithTenantID(f.contoso.ID))
		if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeCodeExpired}) {
			t.Errorf("codes = %v, want [70008]", codes)
		}
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
			if q.Get("error") != tc.err || !strings.HasPrefix(q.Get("error_description"), "AADSTS"+itoa(tc.code)+":") || q.Get("state") != "s1" {
				t.Errorf("redirect query = %v, want error %s AADSTS%d", q, tc.err, tc.code)
			}
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
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "AADSTS"+itoa(tc.code)) {
				t.Errorf("status %d body %s; want 400 page with AADSTS%d", resp.StatusCode, body, tc.code)
			}
		})
	}
}

func TestPublicClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	ctx := context.Background()
	pc, err := public.New(f.native.ClientID, public.WithAuthority(f.srv.AuthorityURL("organizations")),
		public.WithHTTPClient(f.srv.Client()), public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	scopes := []string{"User.Read"}
	admin := f.contoso.AdminUPN()

	// ROPC has no consent UI: 65001 until consent exists.
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	_, err = pc.AcquireTokenByUsernamePassword(ctx, scopes, admin, f.contoso.Password(), public.WithTenantID(f.contoso.ID))
	if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeConsentRequired}) {
		t.Fatalf("ROPC without consent: codes = %v, want [65001]", codes)
	}

	// Interactive sign-in (MSAL's own PKCE and loopback redirect server);
	// the "browser" follows the redirects, the test answers the page.
	f.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{User: admin})
	res, err := pc.AcquireTokenInteractive(ctx, scopes, public.WithTenantID(f.contoso.ID), public.WithOpenURL(func(u string) error {
		go formPostBrowser(u) // plain http: the browser listener needs no CA
		return nil
	}))
	f.srv.SetAuthorizeAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.PreferredUsername != admin {
		t.Errorf("account = %+v", res.Account)
	}
	if c, ok := f.srv.Consent(f.contoso.ID, f.native.ClientID); !ok || c.Admin || c.Users != 1 {
		t.Errorf("consent = %+v, %v; want one user consent", c, ok)
	}

	// Now ROPC works for the admin, fails with 50076 for the MFA user and
	// with 50126 for a wrong password.
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	r2, err := pc.AcquireTokenByUsernamePassword(ctx, scopes, admin, f.contoso.Password(), public.WithTenantID(f.contoso.ID))
	if err != nil {
		t.Fatal(err)
	}
	if c := jwtClaims(t, r2.AccessToken); c["appidacr"] != "0" || c["scp"] != "User.Read" {
		t.Errorf("ROPC token claims = %v", c)
	}
	if err := f.srv.GrantAdminConsent(f.contoso.ID, f.native.ClientID); err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	_, err = pc.AcquireTokenByUsernamePassword(ctx, scopes, "user00001@contoso.onmicrosoft.com", f.contoso.Password(), public.WithTenantID(f.contoso.ID))
	if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeMFARequired}) {
		t.Errorf("MFA user: codes = %v, want [50076]", codes)
	}
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	_, err = pc.AcquireTokenByUsernamePassword(ctx, scopes, "user00002@contoso.onmicrosoft.com", "wrong", public.WithTenantID(f.contoso.ID))
	if codes := aadsts(t, err); !slices.Equal(codes, []int{m365test.CodeInvalidCredentials}) {
		t.Errorf("wrong password: codes = %v, want [50126]", codes)
	}
	//lint:ignore SA1019 ROPC is deprecated, but the legacy password mode needs it tested.
	if _, err := pc.AcquireTokenByUsernamePassword(ctx, scopes, "user00002@contoso.onmicrosoft.com", f.contoso.Password(), public.WithTenantID(f.contoso.ID)); err != nil {
		t.Errorf("ROPC for a user after admin consent: %v", err)
	}
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
	if q.Get("error") != "access_denied" || q.Get("admin_consent") != "True" || !strings.HasPrefix(q.Get("error_description"), "AADSTS90094:") {
		t.Errorf("non-admin: %v", q)
	}
	f.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{Decline: true})
	q = follow(t, f.srv, link, consentURI).Query()
	if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004:") || q.Get("state") != "xyz" {
		t.Errorf("declined: %v", q)
	}
	if _, ok := f.srv.Consent(f.fabrikam.ID, f.provider.ClientID); ok {
		t.Fatal("consent recorded after failures")
	}
	f.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{})
	q = follow(t, f.srv, link, consentURI).Query()
	f.srv.SetAuthorizeAnswer(nil)
	if q.Get("admin_consent") != "True" || q.Get("tenant") != f.fabrikam.ID || q.Get("scope") != "https://graph.microsoft.com/.default" || q.Get("state") != "xyz" || q.Has("error") {
		t.Errorf("accepted: %v", q)
	}
	// Right after consent the grant is still replicating: the directory
	// shows it, app-only tokens do not carry the roles yet.
	if c, _ := f.srv.Consent(f.fabrikam.ID, f.provider.ClientID); len(c.Roles) != 4 || len(c.Propagating) != 4 {
		t.Errorf("consent right after the page: %+v, want 4 roles, all propagating", c)
	}
	res, err := cc.AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.fabrikam.ID))
	if err != nil {
		t.Fatal(err)
	}
	if roles, ok := jwtClaims(t, res.AccessToken)["roles"]; ok {
		t.Errorf("token right after consent carries roles %v; replication should hold them back", roles)
	}
	f.srv.Advance(m365test.DefaultConsentReplicationDelay)
	// Once replicated, a new token has them.
	res, err = newConfidential(t, f, secretCred(t, providerSecret)).AcquireTokenByCredential(ctx, graphDefault, confidential.WithTenantID(f.fabrikam.ID))
	if err != nil {
		t.Fatal(err)
	}
	if roles, _ := jwtClaims(t, res.AccessToken)["roles"].([]any); len(roles) != 4 {
		t.Errorf("roles = %v, want the 4 application permissions once replicated", roles)
	}
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
	if err := f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID); err != nil {
		t.Fatal(err)
	}
	otherKey := sharedKey(t)
	unregistered := selfSignedCert(t, otherKey, "not registered")
	badCert, err := confidential.NewCredFromCert([]*x509Cert{unregistered}, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []tokenCase{
		{name: "bad secret", cred: ptr(secretCred(t, "wrong")), want: m365test.CodeInvalidSecret},
		{name: "expired secret", setup: func(t *testing.T) func() {
			if err := f.srv.ExpireSecrets(f.provider.ClientID); err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := f.srv.AddSecret(f.provider.ClientID, m365test.Secret{Value: providerSecret}); err != nil {
					t.Fatal(err)
				}
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
			if err != nil {
				t.Fatal(err)
			}
			_, err = cc.AcquireTokenByCredential(ctx, scopes, confidential.WithTenantID(tenant))
			if codes := aadsts(t, err); !slices.Equal(codes, []int{tc.want}) {
				t.Errorf("codes = %v, want [%d]", codes, tc.want)
			}
		})
	}
}
