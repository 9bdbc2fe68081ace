package m365access

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// hammer calls Graph for customer through Credential until stop, counting
// failures.
func hammer(t *testing.T, e *env, customer string, stop <-chan struct{}) (wait func() (ok, failed int64)) {
	var okN, failN atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	cred := e.m.Credential(customer)
	ep, err := e.m.Endpoints(ctx, customer)
	require.NoError(t, err)
	readOrg := func() error {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{ep.GraphScope()}})
		if err != nil {
			return err
		}
		var out struct{}
		return e.m.graphGet(ctx, "read the organization", customer, tok, ep, "/organization", &out)
	}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := readOrg(); err != nil {
					failN.Add(1)
					t.Logf("request failed during the switch: %v", err)
				} else {
					okN.Add(1)
				}
			}
		})
	}
	return func() (int64, int64) { wg.Wait(); return okN.Load(), failN.Load() }
}

func TestSwitchBothWaysWithoutOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "c1", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All"})

	stop := make(chan struct{})
	wait := hammer(t, e, "c1", stop)

	// To token: app registration keeps serving until the connection
	// completes, then the mode flips.
	res, err := e.m.SwitchToToken(ctx, "c1", BeginOptions{BrowserBinding: binding})
	require.NoError(t, err)
	s, _ := e.m.GetSettings(ctx, "c1")
	require.Equal(t, ModeAppRegistration, s.Mode, "mode flipped before completion")
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	q := e.follow(t, res.AuthorizeURL, testRedirect).Query()
	e.srv.SetAuthorizeAnswer(nil)
	_, err = e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding)
	require.NoError(t, err)
	s, _ = e.m.GetSettings(ctx, "c1")
	require.Equal(t, ModeToken, s.Mode, "after completion")
	require.True(t, s.AppSecretSet, "after completion the app secret is kept")
	tok, err := e.m.Credential("c1").GetToken(ctx, graphScope())
	require.NoError(t, err)
	assert.Equal(t, 200, e.graphStatus(t, tok.Token, "/me?$select=id"), "after switching to token the credential serves an app-only token")

	// And back to app registration: proven first, then flipped.
	require.NoError(t, e.m.SwitchMode(ctx, "c1", ModeAppRegistration))
	tok, err = e.m.Credential("c1").GetToken(ctx, graphScope())
	require.NoError(t, err)
	assert.NotEqual(t, 200, e.graphStatus(t, tok.Token, "/me?$select=id"), "after switching back the credential serves a delegated token")
	close(stop)
	ok, failed := wait()
	assert.Zero(t, failed, "requests failed during the switches")
	assert.NotZero(t, ok, "requests ok during the switches")

	// A switch to a mode that does not work changes nothing.
	_, err = e.m.SaveSettings(ctx, "c1", SettingsUpdate{ServiceAccount: ptr("user00001@contoso.onmicrosoft.com"), Password: ptr("wrong-password")})
	require.NoError(t, err)
	require.Error(t, e.m.SwitchMode(ctx, "c1", ModePassword), "switched to a failing mode")
	s, _ = e.m.GetSettings(ctx, "c1")
	assert.Equal(t, ModeAppRegistration, s.Mode, "mode after a failed switch")
}
