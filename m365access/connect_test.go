package m365access

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/msalcache"
)

func TestTokenConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("contoso.com"), ServiceAccount: ptr("ADMIN@contoso.onmicrosoft.com")}); err != nil {
		t.Fatal(err)
	}
	res, err := e.m.Begin(ctx, "c1", BeginOptions{BrowserBinding: binding})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(res.AuthorizeURL)
	q := u.Query()
	if q.Get("client_id") != testProviderID || q.Get("redirect_uri") != testRedirect || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 43 || len(q.Get("nonce")) < 43 ||
		q.Get("login_hint") != "ADMIN@contoso.onmicrosoft.com" || !strings.Contains(q.Get("scope"), "offline_access") ||
		!strings.Contains(u.Path, e.contoso.ID) {
		t.Fatalf("authorize URL lacks something: %s", res.AuthorizeURL)
	}
	if d := time.Until(res.ExpiresAt); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("transaction expires in %v, want 10 minutes", d)
	}

	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	cb := e.follow(t, res.AuthorizeURL, testRedirect).Query()
	e.srv.SetAuthorizeAnswer(nil)
	conn, err := e.m.Complete(ctx, cb.Get("state"), cb.Get("code"), binding)
	if err != nil {
		t.Fatal(err)
	}
	adminID := e.contoso.UserID(e.contoso.AdminUPN())
	if conn.TenantID != e.contoso.ID || conn.HomeAccountID != adminID+"."+e.contoso.ID || !strings.EqualFold(conn.Account, e.contoso.AdminUPN()) {
		t.Errorf("connection %+v", conn)
	}
	// The domain was resolved to the GUID and stored.
	s, _ := e.m.GetSettings(ctx, "c1")
	if s.TenantID != e.contoso.ID || s.Mode != ModeToken {
		t.Errorf("settings after connect: %+v", s)
	}
	// The MSAL cache is stored sealed: the store opens it to MSAL's JSON
	// with the refresh token, the backend holds only ciphertext.
	page, err := e.store.List(ctx, "c1", msalcache.DefaultKind, tokenstore.ListOptions{})
	if err != nil || len(page.Records) == 0 {
		t.Fatalf("no MSAL cache record: %v", err)
	}
	for _, rec := range page.Records {
		raw, err := e.backend.Get(ctx, rec.Key)
		if err != nil || !rec.Sealed || !strings.Contains(string(rec.Data), "RefreshToken") || strings.Contains(string(raw.Data), "RefreshToken") {
			t.Errorf("MSAL cache record %s: sealed=%v err=%v", rec.Key, rec.Sealed, err)
		}
	}
	st, err := e.m.Status(ctx, "c1")
	if err != nil || st.State != StateConnected || st.RefreshTokenDeadline == nil ||
		time.Until(*st.RefreshTokenDeadline) < 89*24*time.Hour {
		t.Errorf("status %+v %v", st, err)
	}
	if ev, ok := e.events.last(); !ok || ev.To != StateConnected || ev.From != StateNotConnected {
		t.Errorf("event %+v", ev)
	}
	// Secrets never reached the logs.
	logs := e.logs()
	for _, s := range []string{testProviderSecret, cb.Get("code"), cb.Get("state"), q.Get("nonce")} {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold a secret value")
		}
	}
}

func TestCompleteRejections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.contoso.ID), ServiceAccount: ptr(e.contoso.AdminUPN())}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.GrantAdminConsent(e.contoso.ID, testProviderID); err != nil {
		t.Fatal(err)
	}
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
			if _, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding); err != nil {
				t.Fatal(err)
			}
			_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
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
			if err := e.srv.WithdrawConsent(e.contoso.ID, testProviderID); err != nil {
				t.Fatal(err)
			}
			q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{}, setQuery("scope", "User.Read openid profile offline_access"))
			_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
			return err
		}, ErrScopesMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var fe *FlowError
			if errors.As(err, &fe) && fe.Action() == ActionNone {
				t.Errorf("rejection without an action")
			}
		})
	}
	// A PKCE verifier that does not match is Entra's rejection (tampered
	// challenge): the code exchange fails with an *Error.
	q := e.signIn(t, e.m, "c1", admin, setQuery("code_challenge", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	var ee *Error
	if !errors.As(err, &ee) || len(ee.Codes) == 0 {
		t.Errorf("tampered challenge: %v", err)
	}
	if strings.Contains(err.Error(), q.Get("code")) {
		t.Error("the error holds the code")
	}
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
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	err := checkSignIn(user, none, DefaultAdminRoles, req, granted)
	if err == nil || !strings.Contains(err.Error(), "Global Administrator (62e90394-69f5-4237-9190-012177145e10)") {
		t.Errorf("the refusal does not name the role: %v", err)
	}
	err = checkSignIn(noWids, none, DefaultAdminRoles, req, granted)
	if err == nil || !strings.Contains(err.Error(), "groupMembershipClaims") {
		t.Errorf("the refusal without wids does not say how to get them: %v", err)
	}
}

func TestCompleteCallbackErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.contoso.ID)}); err != nil {
		t.Fatal(err)
	}
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
		if !errors.As(err, &ae) || !ae.HasCode(tc.code) || ae.Action != tc.want {
			t.Errorf("%+v: got %v, want AADSTS%d with %s", tc.ans, err, tc.code, tc.want)
		}
		// The transaction is spent.
		if _, err := e.m.Complete(ctx, q.Get("state"), "x", binding); !errors.Is(err, ErrStateReused) {
			t.Errorf("state after an error callback: %v", err)
		}
	}
	// A good callback completes.
	if err := e.srv.GrantAdminConsent(e.contoso.ID, testProviderID); err != nil {
		t.Fatal(err)
	}
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{}, nil)
	if _, err := e.m.CompleteCallback(ctx, q, binding); err != nil {
		t.Fatal(err)
	}
}
