package m365access

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/msalcache"
)

// The first connection of a service account learns its object ID from
// Graph; from then on the account is that object in that tenant, never
// whoever carries its name.
func TestServiceAccountIdentifiedByObjectID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.connect(t, "c1")
	s, err := e.m.GetSettings(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if want := e.contoso.UserID(e.contoso.AdminUPN()); s.ServiceAccountID == "" || s.ServiceAccountID != want {
		t.Fatalf("ServiceAccountID = %q, want the admin's object ID %q", s.ServiceAccountID, want)
	}
	// Another account of the tenant is refused, by object ID.
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{User: "user00003@contoso.onmicrosoft.com"}, func(raw string) string {
		u, _ := url.Parse(raw)
		v := u.Query()
		v.Del("login_hint")
		u.RawQuery = v.Encode()
		return u.String()
	})
	if _, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding); !errors.Is(err, ErrWrongAccount) {
		t.Fatalf("another user after the ID is known: %v, want ErrWrongAccount", err)
	}
	// Naming another service account forgets the ID.
	s, err = e.m.SaveSettings(ctx, "c1", SettingsUpdate{ServiceAccount: ptr("user00003@contoso.onmicrosoft.com")})
	if err != nil || s.ServiceAccountID != "" {
		t.Fatalf("after changing the service account: ID %q, %v", s.ServiceAccountID, err)
	}
}

// Without a service account only a holder of an admin role can connect:
// an ordinary user (or guest) of the tenant who got the link cannot
// connect or replace the connection.
func TestNoServiceAccountNeedsAdminRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.contoso.ID)}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.GrantAdminConsent(e.contoso.ID, testProviderID); err != nil {
		t.Fatal(err)
	}
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{User: "user00002@contoso.onmicrosoft.com"}, nil)
	_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	if !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("ordinary user without a service account: %v, want ErrNotAdmin", err)
	}
	if st, _ := e.m.Status(ctx, "c1"); st.State == StateConnected {
		t.Fatal("the ordinary user's sign-in connected the customer")
	}
	q = e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{}, nil) // the Global Admin
	if _, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding); err != nil {
		t.Fatalf("Global Admin without a service account: %v", err)
	}
}

// A rejected sign-in by the account the working connection uses (here:
// the nonce does not match) leaves the connection's tokens alone; the
// connection keeps working, also from a fresh process.
func TestRejectedSignInKeepsTheConnectionsTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.connect(t, "c1")
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{}, func(raw string) string {
		u, _ := url.Parse(raw)
		v := u.Query()
		v.Set("nonce", "attacker-nonce")
		u.RawQuery = v.Encode()
		return u.String()
	})
	if _, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding); !errors.Is(err, ErrNonceMismatch) {
		t.Fatalf("tampered nonce: %v", err)
	}
	m2, _ := e.manager(t) // nothing in memory: the tokens come from the store
	if _, err := m2.Credential("c1").GetToken(ctx, graphScope()); err != nil {
		t.Fatalf("the connection after a rejected sign-in by its own account: %v", err)
	}
}

// A sign-in started from an invitation completes only while the
// invitation works: revoking it cancels sign-ins already under way.
func TestSignInBoundToInvitation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.contoso.ID), ServiceAccount: ptr(e.contoso.AdminUPN())}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.GrantAdminConsent(e.contoso.ID, testProviderID); err != nil {
		t.Fatal(err)
	}
	begin := func() url.Values {
		res, err := e.m.Begin(ctx, "c1", BeginOptions{BrowserBinding: binding, Invitation: "inv-1"})
		if err != nil {
			t.Fatal(err)
		}
		e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{})
		defer e.srv.SetAuthorizeAnswer(nil)
		return e.follow(t, res.AuthorizeURL, testRedirect).Query()
	}
	revoked := errors.New("revoked")
	var asked []string
	live := func(err error) CompleteOptions {
		return CompleteOptions{InvitationLive: func(_ context.Context, customer, id string) error {
			asked = append(asked, customer+"/"+id)
			return err
		}}
	}
	q := begin()
	if _, err := e.m.CompleteWith(ctx, q.Get("state"), q.Get("code"), binding, live(revoked)); !errors.Is(err, ErrInvitationGone) {
		t.Fatalf("revoked invitation: %v, want ErrInvitationGone", err)
	}
	if st, _ := e.m.Status(ctx, "c1"); st.State == StateConnected {
		t.Fatal("a sign-in from a revoked invitation connected")
	}
	q = begin()
	if _, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding); !errors.Is(err, ErrInvitationGone) {
		t.Fatalf("invitation sign-in completed without a check: %v", err)
	}
	q = begin()
	conn, err := e.m.CompleteWith(ctx, q.Get("state"), q.Get("code"), binding, live(nil))
	if err != nil || conn.Invitation != "inv-1" {
		t.Fatalf("live invitation: %+v, %v", conn, err)
	}
	if len(asked) != 3 || asked[0] != "c1/inv-1" { // once for the revoked one, twice (before and after the exchange) for the live one
		t.Errorf("InvitationLive asked %v", asked)
	}
}

// A rejected sign-in by another account of the tenant leaves no tokens
// behind in the customer's cache, and the connection's stay.
func TestRejectedOtherAccountTokensRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.connect(t, "c1")
	partitions := func() int {
		page, err := e.store.List(ctx, "c1", msalcache.DefaultKind, tokenstore.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Records)
	}
	before := partitions()
	if before != 1 {
		t.Fatalf("%d cache partitions after connecting, want 1", before)
	}
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{User: "user00004@contoso.onmicrosoft.com"}, func(raw string) string {
		u, _ := url.Parse(raw)
		v := u.Query()
		v.Del("login_hint")
		u.RawQuery = v.Encode()
		return u.String()
	})
	if _, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding); !errors.Is(err, ErrWrongAccount) {
		t.Fatalf("other account: %v", err)
	}
	if n := partitions(); n != 1 {
		t.Errorf("%d cache partitions after the rejected sign-in, want 1 (the rejected account's refresh token stayed)", n)
	}
	m2, _ := e.manager(t)
	if _, err := m2.Credential("c1").GetToken(ctx, graphScope()); err != nil {
		t.Fatalf("the connection after the rejected sign-in: %v", err)
	}
}
