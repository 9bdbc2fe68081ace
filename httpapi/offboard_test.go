package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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
	e := newEnv(t, nil)
	ctx := context.Background()
	const appID, secret = "b0b0b0b0-1111-2222-3333-444444444444", "probe-app-secret-0123456789abcdef"
	if _, err := e.srv.AddApp(m365test.AppOptions{ClientID: appID, HomeTenant: e.fabrikam.ID, SingleTenant: true,
		Secrets: []m365test.Secret{{Value: secret}}, ApplicationPermissions: []string{"User.Read.All", "TeamsUserConfiguration.Read.All"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.GrantAdminConsent(e.fabrikam.ID, appID); err != nil {
		t.Fatal(err)
	}
	decode[settingsJSON](t, e.do(t, "PUT", "/customers/probe/m365", tokenAll, map[string]string{
		"tenant": e.fabrikam.ID, "authMode": "appRegistration", "clientId": appID, "clientSecret": secret}), 200)
	e.saveToken(t, "other", e.contoso)
	decode[invitationJSON](t, e.do(t, "POST", "/customers/probe/m365/invitations", tokenAll, map[string]string{"to": "admin@fabrikam.onmicrosoft.com"}), http.StatusCreated)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/probe/users/sync", tokenAll, nil), http.StatusAccepted)
	if run := e.waitSync(t, "probe"); run.State != runSucceeded || run.Total != 11 {
		t.Fatalf("probe sync %+v", run)
	}
	list := decode[customerPageJSON](t, e.do(t, "GET", "/customers", tokenAll, nil), 200)
	if len(list.Customers) != 2 || list.Customers[1].Customer != "probe" || list.Customers[1].AuthMode != "appRegistration" {
		t.Fatalf("fleet before %+v", list.Customers)
	}

	first := decode[offboardingJSON](t, e.do(t, "DELETE", "/customers/probe", tokenAll, nil), http.StatusAccepted)
	again := decode[offboardingJSON](t, e.do(t, "DELETE", "/customers/probe", tokenAll, nil), http.StatusAccepted)
	if first.Job == 0 || again.Job != first.Job {
		t.Errorf("offboarding jobs %d then %d, want one job", first.Job, again.Job)
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.do(t, "GET", "/customers/probe", tokenAll, nil).Code != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the probe customer is still listed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := decode[offboardingJSON](t, e.do(t, "DELETE", "/customers/probe", tokenAll, nil), http.StatusAccepted)
	if after.Job != first.Job || after.State != "completed" {
		t.Errorf("offboarding after it finished %+v", after)
	}
	// The report says what was deleted and what the customer's admin must
	// do at Microsoft: the client secret of their own app registration.
	if r := after.Report; r == nil || r.FinishedAt == nil {
		t.Errorf("offboarding report %+v", r)
	} else {
		got := map[string]string{}
		for _, it := range r.Items {
			got[it.Item] = it.Result
			if it.Item == "appCredential" && !strings.Contains(it.Action, appID) {
				t.Errorf("appCredential step names no app ID: %+v", it)
			}
			if strings.Contains(it.Detail+it.Action, secret) {
				t.Errorf("the report holds the secret: %+v", it)
			}
		}
		for item, want := range map[string]string{"secrets": "deleted", "syncedUsers": "deleted", "invitations": "revoked", "appCredential": "actionRequired"} {
			if got[item] != want {
				t.Errorf("report item %s = %q, want %q (%+v)", item, got[item], want, r.Items)
			}
		}
	}
	list = decode[customerPageJSON](t, e.do(t, "GET", "/customers", tokenAll, nil), 200)
	if len(list.Customers) != 1 || list.Customers[0].Customer != "other" {
		t.Errorf("fleet after %+v", list.Customers)
	}
	for _, path := range []string{"/m365", "/m365/status", "/m365/qoe", "/m365/invitations", "/users", "/users/sync"} {
		if p := problemOf(t, e.do(t, "GET", "/customers/probe"+path, tokenAll, nil), http.StatusNotFound); p.Code != codeNotFound {
			t.Errorf("GET %s after offboarding: %s", path, p.Code)
		}
	}
	// Its audit trail is kept and readable, the offboarding in it.
	trail := decode[auditPageJSON](t, e.do(t, "GET", "/customers/probe/audit", tokenAll, nil), http.StatusOK)
	offboarded := false
	for _, en := range trail.Entries {
		offboarded = offboarded || (en.Action == string(OpOffboard) && en.Outcome == "succeeded")
	}
	if !offboarded {
		t.Errorf("audit trail after offboarding = %+v, want the offboarding", trail.Entries)
	}
	// Nothing is stored for it but its revoked invitations.
	for _, kind := range []string{"m365.settings", "m365.connection", "m365.status", "msal.cache", "fleet.state", "httpapi.syncrun"} {
		page, err := e.store.List(ctx, "probe", kind, tokenstore.ListOptions{})
		if err != nil || len(page.Records) != 0 {
			t.Errorf("%s records left: %d (%v)", kind, len(page.Records), err)
		}
	}
	invs, err := e.inv.List(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range invs {
		if i.Status != invite.StatusRevoked {
			t.Errorf("invitation %s is %s after offboarding", i.ID, i.Status)
		}
	}
	if n, err := e.sink.Count(ctx, "probe"); err != nil || n != 0 {
		t.Errorf("%d synced users left (%v)", n, err)
	}
	// The other customer is untouched.
	decode[settingsJSON](t, e.do(t, "GET", "/customers/other/m365", tokenAll, nil), 200)
	// Saving settings onboards it again.
	decode[settingsJSON](t, e.do(t, "PUT", "/customers/probe/m365", tokenAll, map[string]string{"tenant": e.fabrikam.ID, "authMode": "token"}), 200)
	decode[customerPageJSON](t, e.do(t, "GET", "/customers?state=notConnected", tokenAll, nil), 200)
	if c := e.do(t, "GET", "/customers/probe", tokenAll, nil); c.Code != 200 {
		t.Errorf("re-onboarded customer: %d", c.Code)
	}
}

// TestCreatedAgainLiftsTheFence: after offboarding, the customer's
// records are fenced (a writer racing the erase is refused with
// tokenstore.ErrErased, and the API answers 409 customer_erased);
// POST /customers creates it again and lifts the fence.
func TestCreatedAgainLiftsTheFence(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.saveToken(t, "gone", e.contoso)
	decode[offboardingJSON](t, e.do(t, "DELETE", "/customers/gone", tokenAll, nil), http.StatusAccepted)
	deadline := time.Now().Add(20 * time.Second)
	for e.do(t, "GET", "/customers/gone", tokenAll, nil).Code != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the customer is still listed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	late := tokenstore.Record{Key: tokenstore.Key{Customer: "gone", Kind: "m365.status", Name: "status"}, Data: []byte(`{}`)}
	if _, err := e.store.Put(ctx, late, 0); !errors.Is(err, tokenstore.ErrErased) {
		t.Fatalf("a late write after the erase: %v, want ErrErased", err)
	}
	if p := problemOf(t, e.do(t, "GET", "/customers/gone/m365", tokenAll, nil), http.StatusNotFound); p.Code != codeNotFound {
		t.Errorf("GET after offboarding: %s", p.Code)
	}
	if p := problemFor(fmt.Errorf("save: %w", tokenstore.ErrErased)); p.Status != http.StatusConflict || p.Code != codeErased {
		t.Errorf("a refused write's problem: %+v", p)
	}
	decode[settingsJSON](t, e.do(t, "POST", "/customers", tokenAll, map[string]string{
		"customer": "gone", "tenant": e.contoso.Domain(), "authMode": "token", "serviceAccount": e.contoso.AdminUPN()}), http.StatusCreated)
	if _, err := e.store.Put(ctx, tokenstore.Record{Key: tokenstore.Key{Customer: "gone", Kind: "test", Name: "after"}, Data: []byte(`{}`)}, 0); err != nil {
		t.Errorf("a write after the customer was created again: %v", err)
	}
}
