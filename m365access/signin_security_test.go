package m365access

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
	want := e.contoso.UserID(e.contoso.AdminUPN())
	require.NotEmpty(t, s.ServiceAccountID)
	require.Equal(t, want, s.ServiceAccountID, "the admin's object ID")
	// Another account of the tenant is refused, by object ID.
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{User: "user00003@contoso.onmicrosoft.com"}, func(raw string) string {
		u, _ := url.Parse(raw)
		v := u.Query()
		v.Del("login_hint")
		u.RawQuery = v.Encode()
		return u.String()
	})
	_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.ErrorIs(t, err, ErrWrongAccount, "another user after the ID is known")
	// Naming another service account forgets the ID.
	s, err = e.m.SaveSettings(ctx, "c1", SettingsUpdate{ServiceAccount: ptr("user00003@contoso.onmicrosoft.com")})
	require.NoError(t, err)
	require.Empty(t, s.ServiceAccountID, "after changing the service account")
}

// Without a service account only a holder of an admin role can connect:
// an ordinary user (or guest) of the tenant who got the link cannot
// connect or replace the connection.
func TestNoServiceAccountNeedsAdminRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.contoso.ID)})
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, testProviderID))
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{User: "user00002@contoso.onmicrosoft.com"}, nil)
	_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.ErrorIs(t, err, ErrNotAdmin, "ordinary user without a service account")
	st, _ := e.m.Status(ctx, "c1")
	require.NotEqual(t, StateConnected, st.State, "the ordinary user's sign-in connected the customer")
	q = e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{}, nil) // the Global Admin
	_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.NoError(t, err, "Global Admin without a service account")
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
	_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.ErrorIs(t, err, ErrNonceMismatch, "tampered nonce")
	m2, _ := e.manager(t) // nothing in memory: the tokens come from the store
	_, err = m2.Credential("c1").GetToken(ctx, graphScope())
	require.NoError(t, err, "the connection after a rejected sign-in by its own account")
}

// A sign-in started from an invitation completes only while the
// invitation works: revoking it cancels sign-ins already under way.
func TestSignInBoundToInvitation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.contoso.ID), ServiceAccount: ptr(e.contoso.AdminUPN())})
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, testProviderID))
	begin := func() url.Values {
		res, err := e.m.Begin(ctx, "c1", BeginOptions{BrowserBinding: binding, Invitation: "inv-1"})
		require.NoError(t, err)
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
	_, err = e.m.CompleteWith(ctx, q.Get("state"), q.Get("code"), binding, live(revoked))
	require.ErrorIs(t, err, ErrInvitationGone, "revoked invitation")
	st, _ := e.m.Status(ctx, "c1")
	require.NotEqual(t, StateConnected, st.State, "a sign-in from a revoked invitation connected")
	q = begin()
	_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.ErrorIs(t, err, ErrInvitationGone, "invitation sign-in completed without a check")
	q = begin()
	conn, err := e.m.CompleteWith(ctx, q.Get("state"), q.Get("code"), binding, live(nil))
	require.NoError(t, err, "live invitation")
	require.Equal(t, "inv-1", conn.Invitation, "live invitation")
	// Once for the revoked one, twice (before and after the exchange) for
	// the live one.
	if assert.Len(t, asked, 3, "InvitationLive asked %v", asked) {
		assert.Equal(t, "c1/inv-1", asked[0], "InvitationLive asked %v", asked)
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
		require.NoError(t, err)
		return len(page.Records)
	}
	before := partitions()
	require.Equal(t, 1, before, "cache partitions after connecting")
	q := e.signIn(t, e.m, "c1", m365test.AuthorizeAnswer{User: "user00004@contoso.onmicrosoft.com"}, func(raw string) string {
		u, _ := url.Parse(raw)
		v := u.Query()
		v.Del("login_hint")
		u.RawQuery = v.Encode()
		return u.String()
	})
	_, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.ErrorIs(t, err, ErrWrongAccount, "other account")
	assert.Equal(t, 1, partitions(), "cache partitions after the rejected sign-in (the rejected account's refresh token stayed?)")
	m2, _ := e.manager(t)
	_, err = m2.Credential("c1").GetToken(ctx, graphScope())
	require.NoError(t, err, "the connection after the rejected sign-in")
}
