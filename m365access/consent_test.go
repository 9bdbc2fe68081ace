package m365access

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
)

func (e *env) consentCallback(t *testing.T, customer string, ans m365test.AuthorizeAnswer) url.Values {
	t.Helper()
	res, err := e.m.ConsentURL(context.Background(), customer, binding)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetAuthorizeAnswer(&ans)
	defer e.srv.SetAuthorizeAnswer(nil)
	return e.follow(t, res.AuthorizeURL, testConsent).Query()
}

func TestAdminConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("fabrikam.onmicrosoft.com")}); err != nil {
		t.Fatal(err)
	}

	// Declined: the callback's error is checked first.
	q := e.consentCallback(t, "c1", m365test.AuthorizeAnswer{Decline: true})
	if q.Get("admin_consent") != "True" {
		t.Fatalf("the fake should send admin_consent=True even on failure: %v", q)
	}
	_, err := e.m.CompleteConsent(ctx, ConsentCallbackFromQuery(q), binding)
	if !errors.Is(err, ErrDenied) || ActionOf(err) != ActionGrantConsent {
		t.Fatalf("declined: %v", err)
	}
	if st, _ := e.m.Status(ctx, "c1"); st.State != StateConsentRequired {
		t.Errorf("after decline: %+v", st)
	}
	// Its state is spent.
	if _, err := e.m.CompleteConsent(ctx, ConsentCallback{State: q.Get("state"), AdminConsent: "True"}, binding); !errors.Is(err, ErrStateReused) {
		t.Errorf("replayed state: %v", err)
	}

	// Accepted: Entra ID replicates the grant for a while (a minute in
	// the fake), longer than this Manager waits: granted, propagating.
	q = e.consentCallback(t, "c1", m365test.AuthorizeAnswer{})
	_, err = e.m.CompleteConsent(ctx, ConsentCallbackFromQuery(q), binding)
	if !errors.Is(err, ErrConsentPropagating) || ActionOf(err) != ActionWaitAndRetry {
		t.Fatalf("consent still replicating: %v, want ErrConsentPropagating with action waitAndRetry", err)
	}
	if st, _ := e.m.Status(ctx, "c1"); st.State != StateConsentPropagating || st.ConsentReportedAt == nil || st.LastError == nil {
		t.Errorf("while replicating: %+v", st)
	}
	// Once replicated, ConfirmConsent finishes with a fresh token.
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	c, err := e.m.ConfirmConsent(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantID != e.fabrikam.ID || !slices.Equal(c.Roles, []string{"Organization.Read.All", "User.Read.All"}) {
		t.Errorf("consent %+v", c)
	}
	st, _ := e.m.Status(ctx, "c1")
	// The provider app may not read its service principal: the required
	// roles are confirmed by Graph requests, so only they are listed.
	if st.ConsentGrantedAt == nil || len(st.GrantedRoles) != 2 || st.State == StateConsentRequired || st.State == StateConsentPropagating || st.ConsentReportedAt != nil {
		t.Errorf("status %+v", st)
	}
	// Another browser cannot complete it.
	q = e.consentCallback(t, "c1", m365test.AuthorizeAnswer{})
	if _, err := e.m.CompleteConsent(ctx, ConsentCallbackFromQuery(q), "other-browser"); !errors.Is(err, ErrBindingMismatch) {
		t.Errorf("other browser: %v", err)
	}
}

func TestAdminConsentForgedTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	// contoso consented; the customer's tenant, fabrikam, did not.
	if err := e.srv.GrantAdminConsent(e.contoso.ID, testProviderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr(e.fabrikam.ID)}); err != nil {
		t.Fatal(err)
	}
	res, err := e.m.ConsentURL(ctx, "c1", binding)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(res.AuthorizeURL)
	// A forged success callback naming the consented tenant.
	forged := ConsentCallback{State: u.Query().Get("state"), AdminConsent: "True", Tenant: e.contoso.ID}
	_, err = e.m.CompleteConsent(ctx, forged, binding)
	var ae *Error
	if !errors.As(err, &ae) || ae.Action != ActionGrantConsent {
		t.Fatalf("forged tenant accepted or wrong error: %v", err)
	}
	if st, _ := e.m.Status(ctx, "c1"); st.ConsentGrantedAt != nil || st.State != StateConsentRequired {
		t.Errorf("status after forged callback: %+v", st)
	}
}

func TestConsentNeedsProviderApp(t *testing.T) {
	t.Parallel()
	m, _, _ := newTestManager(t, func(c *Config) { c.Provider = ProviderConfig{}; c.AppRegistrationOnly = true })
	ctx := context.Background()
	if _, err := m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("contoso.com")}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ConsentURL(ctx, "c1", binding); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("ConsentURL without provider app: %v", err)
	}
	if _, err := m.Begin(ctx, "c1", BeginOptions{BrowserBinding: binding}); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Begin without provider app: %v", err)
	}
}

// TestConsentWaitsForReplication: a grant that replicates within
// Config.ConsentWait is confirmed by the callback itself, after retries
// with fresh tokens.
func TestConsentWaitsForReplication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{replication: 400 * time.Millisecond, consentWait: 10 * time.Second})
	ctx := context.Background()
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("fabrikam.onmicrosoft.com")}); err != nil {
		t.Fatal(err)
	}
	before := e.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken})
	q := e.consentCallback(t, "c1", m365test.AuthorizeAnswer{})
	c, err := e.m.CompleteConsent(ctx, ConsentCallbackFromQuery(q), binding)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Roles) != 2 {
		t.Errorf("roles %v", c.Roles)
	}
	// Roles in the answer mean an attempt came after the grant replicated;
	// more than one token request means the first attempts, before it,
	// did not stop the confirmation and none reused a cached token.
	if n := e.srv.Count(m365test.Match{Endpoint: m365test.EndpointToken}) - before; n < 2 {
		t.Errorf("%d token requests; want a fresh token per attempt", n)
	}
	if !strings.Contains(e.logs(), "admin consent granted, propagating") {
		t.Errorf("the retries are not logged:\n%s", e.logs())
	}
	if st, _ := e.m.Status(ctx, "c1"); st.State == StateConsentPropagating || st.ConsentGrantedAt == nil {
		t.Errorf("status %+v", st)
	}
}

// TestConfirmConsentIgnoresCachedToken: a check before consent must not
// leave a roles-less token that later checks trust.
func TestConfirmConsentIgnoresCachedToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{Tenant: ptr("fabrikam.onmicrosoft.com")}); err != nil {
		t.Fatal(err)
	}
	// No consent yet: the provider app has no service principal there.
	if _, err := e.m.ConfirmConsent(ctx, "c1"); err == nil {
		t.Fatal("confirmed without consent")
	}
	// Consent in the tenant, then propagate, with no callback involved.
	if err := e.srv.GrantAdminConsentNow(e.fabrikam.ID, testProviderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.ConfirmConsent(ctx, "c1"); !errors.Is(err, ErrPermissionsMissing) {
		t.Fatalf("right after consent, without a callback: %v, want ErrPermissionsMissing", err)
	}
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	c, err := e.m.ConfirmConsent(ctx, "c1")
	if err != nil {
		t.Fatalf("after replication: %v (a cached roles-less token was trusted?)", err)
	}
	if len(c.Roles) != 2 {
		t.Errorf("roles %v", c.Roles)
	}
}
