package m365access

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
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
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := e.m.GetSettings(ctx, "c1"); s.Mode != ModeAppRegistration {
		t.Fatalf("mode flipped before completion: %s", s.Mode)
	}
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	q := e.follow(t, res.AuthorizeURL, testRedirect).Query()
	e.srv.SetAuthorizeAnswer(nil)
	if _, err := e.m.Complete(ctx, q.Get("state"), q.Get("code"), binding); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.m.GetSettings(ctx, "c1"); s.Mode != ModeToken || !s.AppSecretSet {
		t.Fatalf("after completion: mode %s, app secret kept %v", s.Mode, s.AppSecretSet)
	}
	tok, err := e.m.Credential("c1").GetToken(ctx, graphScope())
	if err != nil {
		t.Fatal(err)
	}
	if st := e.graphStatus(t, tok.Token, "/me?$select=id"); st != 200 {
		t.Errorf("after switching to token the credential serves an app-only token: GET /me answers %d", st)
	}

	// And back to app registration: proven first, then flipped.
	if err := e.m.SwitchMode(ctx, "c1", ModeAppRegistration); err != nil {
		t.Fatal(err)
	}
	tok, err = e.m.Credential("c1").GetToken(ctx, graphScope())
	if err != nil {
		t.Fatal(err)
	}
	if st := e.graphStatus(t, tok.Token, "/me?$select=id"); st == 200 {
		t.Errorf("after switching back the credential serves a delegated token: GET /me answers %d", st)
	}
	close(stop)
	ok, failed := wait()
	if failed != 0 || ok == 0 {
		t.Errorf("during the switches: %d requests ok, %d failed; want none failed", ok, failed)
	}

	// A switch to a mode that does not work changes nothing.
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{ServiceAccount: ptr("user00001@contoso.onmicrosoft.com"), Password: ptr("wrong-password")}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SwitchMode(ctx, "c1", ModePassword); err == nil {
		t.Fatal("switched to a failing mode")
	}
	if s, _ := e.m.GetSettings(ctx, "c1"); s.Mode != ModeAppRegistration {
		t.Errorf("mode %s after a failed switch", s.Mode)
	}
}
