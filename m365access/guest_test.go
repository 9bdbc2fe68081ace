package m365access

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.GrantAdminConsent(e.contoso.ID, testProviderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.SaveSettings(ctx, "g", SettingsUpdate{Tenant: ptr("contoso.com"), Mode: ptr(ModeToken),
		ServiceAccount: ptr("Alice@Fabrikam.com")}); err != nil {
		t.Fatal(err)
	}
	q := e.signIn(t, e.m, "g", m365test.AuthorizeAnswer{User: "alice@fabrikam.com"}, nil)
	conn, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	if err != nil {
		t.Fatalf("guest sign-in: %v", err)
	}
	if conn.TenantID != e.contoso.ID || conn.ObjectID != g.ID || conn.Account != g.UserPrincipalName ||
		conn.HomeAccountID != g.HomeObjectID+"."+g.HomeTenantID {
		t.Errorf("connection %+v, guest %+v", conn, g)
	}
	if s, _ := e.m.GetSettings(ctx, "g"); s.ServiceAccountID != g.ID {
		t.Errorf("the guest's object ID was not pinned: %+v", s)
	}

	// Another replica (nothing in memory) refreshes at contoso.
	m2, _ := e.manager(t)
	refreshes := func() int {
		return e.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken, Tenant: e.contoso.ID, GrantType: "refresh_token", Status: 200})
	}
	before := refreshes()
	tok, err := m2.Credential("g").GetToken(ctx, graphScope())
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshes() != before+1 || e.graphStatus(t, tok.Token, "/me?$select=id") != 200 {
		t.Errorf("refresh at the resource tenant: %d -> %d", before, refreshes())
	}
	r, err := m2.Validate(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := r.Check("serviceAccount"); !r.OK || !c.OK || !strings.Contains(c.Detail, g.UserPrincipalName) {
		t.Errorf("validate %+v", r.Checks)
	}

	// A guest that is not the configured account is refused.
	if _, err := e.srv.AddGuest(e.contoso.ID, m365test.GuestOptions{Email: "bob@fabrikam.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.SaveSettings(ctx, "h", SettingsUpdate{Tenant: ptr("contoso.com"), Mode: ptr(ModeToken),
		ServiceAccount: ptr("alice@fabrikam.com")}); err != nil {
		t.Fatal(err)
	}
	q = e.signIn(t, e.m, "h", m365test.AuthorizeAnswer{User: "bob@fabrikam.com"}, nil)
	_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	var fe *FlowError
	if !errors.As(err, &fe) || fe.Reason != ReasonWrongAccount {
		t.Errorf("bob for alice: %v", err)
	}
}
