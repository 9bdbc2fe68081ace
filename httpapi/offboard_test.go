package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// TestProbeCustomerOffboarded: a customer created through the API, with
// an invitation, a sync and synced users, is offboarded with DELETE: 202
// with a job, idempotent; afterwards it is gone from GET /customers, its
// reads answer 404, its invitations are revoked and nothing else is
// stored for it. Another customer is untouched.
func TestProbeCustomerOffboarded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	const appID, secret = "b0b0b0b0-1111-2222-3333-444444444444", "probe-app-secret-0123456789abcdef"
	_, err := e.srv.AddApp(m365test.AppOptions{ClientID: appID, HomeTenant: e.fabrikam.ID, SingleTenant: true,
		Secrets: []m365test.Secret{{Value: secret}}, ApplicationPermissions: []string{"User.Read.All", "TeamsUserConfiguration.Read.All"}})
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsent(e.fabrikam.ID, appID))
	decode[settingsJSON](t, e.do(t, "PUT", "/customers/probe/m365", tokenAll, map[string]string{
		"tenant": e.fabrikam.ID, "authMode": "appRegistration", "clientId": appID, "clientSecret": secret}), 200)
	e.saveToken(t, "other", e.contoso)
	decode[invitationJSON](t, e.do(t, "POST", "/customers/probe/m365/invitations", tokenAll, map[string]string{"to": "admin@fabrikam.onmicrosoft.com"}), http.StatusCreated)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/probe/users/sync", tokenAll, nil), http.StatusAccepted)
	run := e.waitSync(t, "probe")
	require.Equal(t, runSucceeded, run.State, "probe sync %+v", run)
	require.Equal(t, 11, run.Total, "probe sync %+v", run)
	list := decode[customerPageJSON](t, e.do(t, "GET", "/customers", tokenAll, nil), 200)
	require.Len(t, list.Customers, 2, "fleet before %+v", list.Customers)
	require.Equal(t, "probe", list.Customers[1].Customer, "fleet before %+v", list.Customers)
	require.Equal(t, "appRegistration", list.Customers[1].AuthMode, "fleet before %+v", list.Customers)

	first := decode[offboardingJSON](t, e.do(t, "DELETE", "/customers/probe", tokenAll, nil), http.StatusAccepted)
	again := decode[offboardingJSON](t, e.do(t, "DELETE", "/customers/probe", tokenAll, nil), http.StatusAccepted)
	assert.NotZero(t, first.Job, "offboarding job")
	assert.Equal(t, first.Job, again.Job, "offboarding again: want one job")
	deadline := time.Now().Add(20 * time.Second)
	for e.do(t, "GET", "/customers/probe", tokenAll, nil).Code != http.StatusNotFound {
		if time.Now().After(deadline) {
			require.FailNow(t, "the probe customer is still listed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := decode[offboardingJSON](t, e.do(t, "DELETE", "/customers/probe", tokenAll, nil), http.StatusAccepted)
	assert.Equal(t, first.Job, after.Job, "offboarding after it finished %+v", after)
	assert.Equal(t, "completed", after.State, "offboarding after it finished %+v", after)
	// The report says what was deleted and what the customer's admin must
	// do at Microsoft: the client secret of their own app registration.
	if r := after.Report; assert.NotNil(t, r, "offboarding report") && assert.NotNil(t, r.FinishedAt, "offboarding report %+v", r) {
		got := map[string]string{}
		for _, it := range r.Items {
			got[it.Item] = it.Result
			if it.Item == "appCredential" {
				assert.Contains(t, it.Action, appID, "appCredential step names no app ID: %+v", it)
			}
			assert.False(t, strings.Contains(it.Detail+it.Action, secret), "the report holds the secret: %+v", it)
		}
		for item, want := range map[string]string{"secrets": "deleted", "syncedUsers": "deleted", "invitations": "revoked", "appCredential": "actionRequired"} {
			assert.Equal(t, want, got[item], "report item %s (%+v)", item, r.Items)
		}
	}
	list = decode[customerPageJSON](t, e.do(t, "GET", "/customers", tokenAll, nil), 200)
	if assert.Len(t, list.Customers, 1, "fleet after %+v", list.Customers) {
		assert.Equal(t, "other", list.Customers[0].Customer, "fleet after")
	}
	for _, path := range []string{"/m365", "/m365/status", "/m365/qoe", "/m365/invitations", "/users", "/users/sync"} {
		assert.Equal(t, codeNotFound, problemOf(t, e.do(t, "GET", "/customers/probe"+path, tokenAll, nil), http.StatusNotFound).Code, "GET %s after offboarding", path)
	}
	// Its audit trail is kept and readable, the offboarding in it.
	trail := decode[auditPageJSON](t, e.do(t, "GET", "/customers/probe/audit", tokenAll, nil), http.StatusOK)
	offboarded := false
	for _, en := range trail.Entries {
		offboarded = offboarded || (en.Action == string(OpOffboard) && en.Outcome == "succeeded")
	}
	assert.True(t, offboarded, "audit trail after offboarding = %+v, want the offboarding", trail.Entries)
	// Nothing is stored for it but its revoked invitations.
	for _, kind := range []string{"m365.settings", "m365.connection", "m365.status", "msal.cache", "fleet.state", "httpapi.syncrun"} {
		page, err := e.store.List(ctx, "probe", kind, tokenstore.ListOptions{})
		assert.NoError(t, err, kind)
		assert.Empty(t, page.Records, "%s records left", kind)
	}
	invs, err := e.inv.List(ctx, "probe")
	require.NoError(t, err)
	for _, i := range invs {
		assert.Equal(t, invite.StatusRevoked, i.Status, "invitation %s after offboarding", i.ID)
	}
	n, err := e.sink.Count(ctx, "probe")
	assert.NoError(t, err, "synced users left")
	assert.Zero(t, n, "synced users left")
	// The other customer is untouched.
	decode[settingsJSON](t, e.do(t, "GET", "/customers/other/m365", tokenAll, nil), 200)
	// Saving settings onboards it again.
	decode[settingsJSON](t, e.do(t, "PUT", "/customers/probe/m365", tokenAll, map[string]string{"tenant": e.fabrikam.ID, "authMode": "token"}), 200)
	decode[customerPageJSON](t, e.do(t, "GET", "/customers?state=notConnected", tokenAll, nil), 200)
	assert.Equal(t, 200, e.do(t, "GET", "/customers/probe", tokenAll, nil).Code, "re-onboarded customer")
}

// TestCreatedAgainLiftsTheFence: after offboarding, the customer's
// records are fenced (a writer racing the erase is refused with
// tokenstore.ErrErased, and the API answers 409 customer_erased);
// POST /customers creates it again and lifts the fence.
func TestCreatedAgainLiftsTheFence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	e.saveToken(t, "gone", e.contoso)
	decode[offboardingJSON](t, e.do(t, "DELETE", "/customers/gone", tokenAll, nil), http.StatusAccepted)
	deadline := time.Now().Add(20 * time.Second)
	for e.do(t, "GET", "/customers/gone", tokenAll, nil).Code != http.StatusNotFound {
		if time.Now().After(deadline) {
			require.FailNow(t, "the customer is still listed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	late := tokenstore.Record{Key: tokenstore.Key{Customer: "gone", Kind: "m365.status", Name: "status"}, Data: []byte(`{}`)}
	_, err := e.store.Put(ctx, late, 0)
	require.ErrorIs(t, err, tokenstore.ErrErased, "a late write after the erase")
	assert.Equal(t, codeNotFound, problemOf(t, e.do(t, "GET", "/customers/gone/m365", tokenAll, nil), http.StatusNotFound).Code, "GET after offboarding")
	p := problemFor(fmt.Errorf("save: %w", tokenstore.ErrErased))
	assert.Equal(t, http.StatusConflict, p.Status, "a refused write's problem: %+v", p)
	assert.Equal(t, codeErased, p.Code, "a refused write's problem: %+v", p)
	decode[settingsJSON](t, e.do(t, "POST", "/customers", tokenAll, map[string]string{
		"customer": "gone", "tenant": e.contoso.Domain(), "authMode": "token", "serviceAccount": e.contoso.AdminUPN()}), http.StatusCreated)
	_, err = e.store.Put(ctx, tokenstore.Record{Key: tokenstore.Key{Customer: "gone", Kind: "test", Name: "after"}, Data: []byte(`{}`)}, 0)
	assert.NoError(t, err, "a write after the customer was created again")
}
