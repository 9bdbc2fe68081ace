package m365access

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/tenantgate/tenantgate/m365test"
)

var refreshes = m365test.Match{Endpoint: m365test.EndpointToken, GrantType: "refresh_token", Status: 200}

func TestSilentRefreshAcrossReplicas(t *testing.T) {
	t.Parallel()
	// Access tokens live 4 minutes: MSAL renews any it finds in the cache.
	e := newEnv(t, envOptions{atLifetime: 4 * time.Minute})
	ctx := context.Background()
	e.connect(t, "c1")
	cred := e.m.Credential("c1")
	first, err := cred.GetToken(ctx, graphScope())
	if err != nil {
		t.Fatal(err)
	}
	// Served from memory: no refresh.
	if n := e.srv.Count(refreshes); n != 0 {
		t.Fatalf("refreshes after connect = %d", n)
	}
	// Another replica (nothing in memory) reads the sealed cache and
	// renews the expiring token with the refresh token.
	m2, logs := e.manager(t)
	second, err := m2.Credential("c1").GetToken(ctx, graphScope())
	if err != nil {
		t.Fatal(err)
	}
	if second.Token == first.Token || e.srv.Count(refreshes) != 1 {
		t.Fatalf("want one refresh and a new token; refreshes = %d", e.srv.Count(refreshes))
	}
	st, _ := m2.Status(ctx, "c1")
	if st.State != StateConnected || st.LastRefresh == nil || time.Since(*st.LastRefresh) > time.Minute {
		t.Errorf("status after refresh: %+v", st)
	}
	if strings.Contains(logs(), second.Token) || strings.Contains(logs(), first.Token) {
		t.Error("a token reached the logs")
	}
}

func TestThousandConcurrentRequestsRefreshOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{atLifetime: 4 * time.Minute})
	ctx := context.Background()
	e.connect(t, "c1")
	m2, _ := e.manager(t) // the stored access token is due: MSAL must refresh
	cred := m2.Credential("c1")
	before := e.srv.Count(refreshes)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 1000)
	tokens := make(chan string, 1000)
	for range 1000 {
		wg.Go(func() {
			<-start
			tok, err := cred.GetToken(ctx, graphScope())
			if err != nil {
				errs <- err
				return
			}
			tokens <- tok.Token
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	close(tokens)
	for err := range errs {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for tok := range tokens {
		distinct[tok] = true
	}
	if n := e.srv.Count(refreshes) - before; n != 1 {
		t.Errorf("the fake saw %d refreshes for 1,000 concurrent requests, want exactly 1", n)
	}
	if len(distinct) != 1 {
		t.Errorf("%d distinct tokens, want 1", len(distinct))
	}
}

func TestRevocationNeedsReinvite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{atLifetime: 4 * time.Minute})
	ctx := context.Background()
	e.connect(t, "c1")
	if err := e.srv.RevokeSignInSessions(e.contoso.ID, e.contoso.AdminUPN()); err != nil {
		t.Fatal(err)
	}
	m2, logs := e.manager(t)
	_, err := m2.Credential("c1").GetToken(ctx, graphScope())
	var ae *Error
	if !errors.As(err, &ae) || !ae.HasCode(50173) || ae.Action != ActionReInvite || ae.Retryable {
		t.Fatalf("after revocation: %v", err)
	}
	st, _ := m2.Status(ctx, "c1")
	if st.State != StateReauthorizationRequired || st.LastError == nil || st.LastError.Action != ActionReInvite {
		t.Errorf("status %+v", st)
	}
	if ev, ok := e.events.last(); !ok || ev.To != StateReauthorizationRequired || ev.Action != ActionReInvite {
		t.Errorf("event %+v", ev)
	}
	if !strings.Contains(logs(), "reauthorizationRequired") {
		t.Error("the state change was not logged")
	}
	if strings.Contains(err.Error(), testProviderSecret) || strings.Contains(logs(), testProviderSecret) {
		t.Error("the provider secret leaked")
	}
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{atLifetime: 4 * time.Minute})
	ctx := context.Background()
	e.connect(t, "c1")
	e.connect(t, "c2")
	before := e.srv.Count(refreshes)
	// Just connected: nothing is due.
	if n, err := e.m.RefreshDue(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("RefreshDue = %d, %v", n, err)
	}
	// Everything is due; a second replica running at once finds the work
	// done (the lease and the re-read keep it single).
	m2, _ := e.manager(t)
	var wg sync.WaitGroup
	var total int
	var mu sync.Mutex
	for _, m := range []*Manager{e.m, m2} {
		wg.Go(func() {
			n, err := m.RefreshDue(ctx, time.Nanosecond)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	// Each replica may renew a customer once, since "due" is a nanosecond;
	// what matters is that every connection was renewed with a refresh
	// token and is recorded.
	if got := e.srv.Count(refreshes) - before; got < 2 || total < 2 {
		t.Errorf("renewed %d (fake saw %d refreshes), want both customers", total, got)
	}
	for _, c := range []string{"c1", "c2"} {
		st, _ := e.m.Status(ctx, c)
		if st.State != StateConnected || st.LastRefresh == nil {
			t.Errorf("%s: %+v", c, st)
		}
	}
	// Run stops with its context.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.m.Run(rctx, RefresherOptions{Interval: time.Hour}) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

func TestPasswordMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.srv.GrantAdminConsent(e.contoso.ID, testProviderID); err != nil {
		t.Fatal(err)
	}
	pw := e.contoso.Password()
	if _, err := e.m.SaveSettings(ctx, "pw", SettingsUpdate{Tenant: ptr(e.contoso.ID), Mode: ptr(ModePassword),
		ServiceAccount: ptr(e.contoso.AdminUPN()), Password: ptr(pw)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Credential("pw").GetToken(ctx, graphScope()); err != nil {
		t.Fatal(err)
	}
	// An MFA-protected account cannot use the password grant.
	if _, err := e.m.SaveSettings(ctx, "mfa", SettingsUpdate{Tenant: ptr(e.contoso.ID), Mode: ptr(ModePassword),
		ServiceAccount: ptr("user00001@contoso.onmicrosoft.com"), Password: ptr(pw)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.m.Credential("mfa").GetToken(ctx, policy.TokenRequestOptions{})
	if a := ActionOf(err); a != ActionCompleteMFAOrSwitchToToken {
		t.Fatalf("MFA account: action %q (%v)", a, err)
	}
	if strings.Contains(err.Error(), pw) || strings.Contains(e.logs(), pw) {
		t.Error("the password leaked")
	}
}
