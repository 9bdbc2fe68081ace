package m365access

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
	// Served from memory: no refresh.
	require.Zero(t, e.srv.Count(refreshes), "refreshes after connect")
	// Another replica (nothing in memory) reads the sealed cache and
	// renews the expiring token with the refresh token.
	m2, logs := e.manager(t)
	second, err := m2.Credential("c1").GetToken(ctx, graphScope())
	require.NoError(t, err)
	require.NotEqual(t, first.Token, second.Token, "want a new token")
	require.Equal(t, 1, e.srv.Count(refreshes), "want one refresh")
	st, _ := m2.Status(ctx, "c1")
	assert.Equal(t, StateConnected, st.State, "status after refresh")
	if assert.NotNil(t, st.LastRefresh, "status after refresh") {
		assert.LessOrEqual(t, time.Since(*st.LastRefresh), time.Minute, "status after refresh")
	}
	assert.NotContains(t, logs(), second.Token, "a token reached the logs")
	assert.NotContains(t, logs(), first.Token, "a token reached the logs")
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
		require.NoError(t, err)
	}
	distinct := map[string]bool{}
	for tok := range tokens {
		distinct[tok] = true
	}
	assert.Equal(t, 1, e.srv.Count(refreshes)-before, "refreshes the fake saw for 1,000 concurrent requests")
	assert.Len(t, distinct, 1, "distinct tokens")
}

func TestRevocationNeedsReinvite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{atLifetime: 4 * time.Minute})
	ctx := context.Background()
	e.connect(t, "c1")
	require.NoError(t, e.srv.RevokeSignInSessions(e.contoso.ID, e.contoso.AdminUPN()))
	m2, logs := e.manager(t)
	_, err := m2.Credential("c1").GetToken(ctx, graphScope())
	var ae *Error
	require.ErrorAs(t, err, &ae, "after revocation")
	require.True(t, ae.HasCode(50173), "after revocation: %v", err)
	require.Equal(t, ActionReInvite, ae.Action)
	require.False(t, ae.Retryable)
	st, _ := m2.Status(ctx, "c1")
	assert.Equal(t, StateReauthorizationRequired, st.State)
	if assert.NotNil(t, st.LastError) {
		assert.Equal(t, ActionReInvite, st.LastError.Action)
	}
	ev, ok := e.events.last()
	if assert.True(t, ok, "an event") {
		assert.Equal(t, StateReauthorizationRequired, ev.To)
		assert.Equal(t, ActionReInvite, ev.Action)
	}
	assert.Contains(t, logs(), "reauthorizationRequired", "the state change was not logged")
	assert.NotContains(t, err.Error(), testProviderSecret, "the provider secret leaked")
	assert.NotContains(t, logs(), testProviderSecret, "the provider secret leaked")
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{atLifetime: 4 * time.Minute})
	ctx := context.Background()
	e.connect(t, "c1")
	e.connect(t, "c2")
	before := e.srv.Count(refreshes)
	// Just connected: nothing is due.
	n, err := e.m.RefreshDue(ctx, time.Hour)
	require.NoError(t, err)
	require.Zero(t, n, "RefreshDue just after connecting")
	// Everything is due; a second replica running at once finds the work
	// done (the lease and the re-read keep it single).
	m2, _ := e.manager(t)
	var wg sync.WaitGroup
	var total int
	var mu sync.Mutex
	for _, m := range []*Manager{e.m, m2} {
		wg.Go(func() {
			n, err := m.RefreshDue(ctx, time.Nanosecond)
			assert.NoError(t, err)
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	// Each replica may renew a customer once, since "due" is a nanosecond;
	// what matters is that every connection was renewed with a refresh
	// token and is recorded.
	assert.GreaterOrEqual(t, e.srv.Count(refreshes)-before, 2, "refreshes the fake saw: want both customers")
	assert.GreaterOrEqual(t, total, 2, "renewed: want both customers")
	for _, c := range []string{"c1", "c2"} {
		st, _ := e.m.Status(ctx, c)
		assert.Equal(t, StateConnected, st.State, c)
		assert.NotNil(t, st.LastRefresh, c)
	}
	// Run stops with its context.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.m.Run(rctx, RefresherOptions{Interval: time.Hour}) }()
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled, "Run")
}

func TestPasswordMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, testProviderID))
	pw := e.contoso.Password()
	_, err := e.m.SaveSettings(ctx, "pw", SettingsUpdate{Tenant: ptr(e.contoso.ID), Mode: ptr(ModePassword),
		ServiceAccount: ptr(e.contoso.AdminUPN()), Password: ptr(pw)})
	require.NoError(t, err)
	_, err = e.m.Credential("pw").GetToken(ctx, graphScope())
	require.NoError(t, err)
	// An MFA-protected account cannot use the password grant.
	_, err = e.m.SaveSettings(ctx, "mfa", SettingsUpdate{Tenant: ptr(e.contoso.ID), Mode: ptr(ModePassword),
		ServiceAccount: ptr("user00001@contoso.onmicrosoft.com"), Password: ptr(pw)})
	require.NoError(t, err)
	_, err = e.m.Credential("mfa").GetToken(ctx, policy.TokenRequestOptions{})
	require.Equal(t, ActionCompleteMFAOrSwitchToToken, ActionOf(err), "MFA account: %v", err)
	assert.NotContains(t, err.Error(), pw, "the password leaked")
	assert.NotContains(t, e.logs(), pw, "the password leaked")
}
