package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
)

// connect runs the whole wizard for customer as tenant's Global Admin.
func (e *env) connect(t testing.TB, customer string, tenant *m365test.Tenant) {
	t.Helper()
	e.saveToken(t, customer, tenant)
	wl := decode[wizardLinkJSON](t, e.do(t, "POST", "/customers/"+customer+"/m365/refresh-token", tokenAll, nil), http.StatusCreated)
	e.srv.SetAuthorizeAnswer(&m365test.AuthorizeAnswer{AdminConsent: true})
	defer e.srv.SetAuthorizeAnswer(nil)
	resp, page := e.newBrowser(t).open(t, "POST", wl.Link+"/start")
	if resp.StatusCode != 200 || !strings.Contains(page, "Connected") {
		t.Fatalf("connect %s: %d %s", customer, resp.StatusCode, page)
	}
}

// waitSync polls the customer's sync until it is no longer running.
func (e *env) waitSync(t testing.TB, customer string) syncRunJSON {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		run := decode[syncRunJSON](t, e.do(t, "GET", "/customers/"+customer+"/users/sync", tokenAll, nil), 200)
		if run.State != runRunning && run.State != runQueued {
			return run
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("sync still running after 60 s")
	return syncRunJSON{}
}

func TestSyncAndUsers(t *testing.T) {
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	w := e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]string{"userFilter": "UsageLocation -eq 'IT'"})
	decode[settingsJSON](t, w, 200)

	if p := problemOf(t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 404); p.Code != codeNotFound {
		t.Errorf("never synced: %s", p.Code)
	}
	run := decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	if run.ID == "" || (run.State != runQueued && run.State != runRunning) {
		t.Fatalf("started run %+v", run)
	}
	done := e.waitSync(t, "a")
	// contoso has 120 generated users; i % 10 == 4 is Italy: 12 users.
	if done.ID != run.ID || done.State != runSucceeded || done.Added != 12 || done.Removed != 0 || done.Total != 12 ||
		done.Progress.Percent != 100 || done.FinishedAt == nil || done.Error != nil {
		t.Fatalf("finished run %+v", done)
	}

	// Page through the users.
	var upns []string
	after := ""
	for range 10 {
		page := decode[userPageJSON](t, e.do(t, "GET", "/customers/a/users?limit=5&after="+after, tokenA, nil), 200)
		if page.Total != 12 {
			t.Errorf("total %d", page.Total)
		}
		for _, u := range page.Users {
			if u.UsageLocation != "IT" {
				t.Errorf("user %s in %s", u.UserPrincipalName, u.UsageLocation)
			}
			upns = append(upns, u.UserPrincipalName)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(upns) != 12 || upns[0] != "user00004@contoso.onmicrosoft.com" {
		t.Errorf("paged users %v", upns)
	}
	// Customer b sees none of a's users.
	e.saveToken(t, "b", e.fabrikam)
	if page := decode[userPageJSON](t, e.do(t, "GET", "/customers/b/users", tokenB, nil), 200); page.Total != 0 || len(page.Users) != 0 {
		t.Errorf("b sees %d users", page.Total)
	}

	// A new filter: Germany replaces Italy.
	decode[settingsJSON](t, e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]string{"userFilter": "UsageLocation -eq 'DE'"}), 200)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	done = e.waitSync(t, "a")
	if done.State != runSucceeded || done.Added != 12 || done.Removed != 12 || done.Total != 12 {
		t.Errorf("second run %+v", done)
	}

	// A restart (a new handler on the same store) shows the last result.
	h2, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h = http.StripPrefix("/m365", h2)
	again := decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200)
	if again.ID != done.ID || again.State != runSucceeded || again.Added != 12 {
		t.Errorf("after restart %+v, want %+v", again, done)
	}
}

func TestSyncRunningTwiceRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	remove := e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Latency: 300 * time.Millisecond})
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		run := decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200)
		if run.State == runRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sync never ran: %+v", run)
		}
	}
	if p := problemOf(t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusConflict); p.Code != codeSyncRunning {
		t.Errorf("code %s", p.Code)
	}
	remove()
	if run := e.waitSync(t, "a"); run.State != runSucceeded || run.Total != 121 {
		t.Errorf("run %+v", run)
	}
}

func TestSyncFailureSaysWhatToDo(t *testing.T) {
	e := newEnv(t, nil)
	// Customer b has settings but never connected.
	e.saveToken(t, "b", e.fabrikam)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/b/users/sync", tokenB, nil), http.StatusAccepted)
	run := e.waitSync(t, "b")
	if run.State != runFailed || run.Error == nil || run.Error.Code == "" || run.Error.Message == "" {
		t.Fatalf("run %+v", run)
	}
	raw := e.do(t, "GET", "/customers/b/users/sync", tokenB, nil).Body.String()
	for _, leak := range []string{"m365access:", "usersync:", "tokenstore:"} {
		if strings.Contains(raw, leak) {
			t.Errorf("internal error text in %s", raw)
		}
	}
}

func TestSyncCancel(t *testing.T) {
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	defer e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Latency: time.Minute})()
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if run := decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200); run.State == runRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync never ran")
		}
	}
	decode[syncRunJSON](t, e.do(t, "DELETE", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	run := e.waitSync(t, "a")
	if run.State != runCancelled || run.Error == nil || run.Error.Code != "cancelled" || run.FinishedAt == nil {
		t.Fatalf("cancelled run %+v", run)
	}
	if p := problemOf(t, e.do(t, "DELETE", "/customers/b/users/sync", tokenB, nil), http.StatusNotFound); p.Code != codeNotFound {
		t.Errorf("cancel without a run: %s", p.Code)
	}
}

func TestUsersTeamsFieldsAndFilter(t *testing.T) {
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	if done := e.waitSync(t, "a"); done.State != runSucceeded || done.Added != 121 {
		t.Fatalf("sync: %+v", done)
	}
	get := func(filter string) userPageJSON {
		return decode[userPageJSON](t, e.do(t, "GET", "/customers/a/users?limit=1000&filter="+url.QueryEscape(filter), tokenA, nil), 200)
	}
	// contoso's 120 generated users: i % 3 == 0 are voice-enabled (40).
	if p := get("EnterpriseVoiceEnabled -eq $true"); p.Total != 40 || len(p.Users) != 40 {
		t.Errorf("voice users: total %d, %d listed", p.Total, len(p.Users))
	}
	p := get("LineUri -eq 'tel:+39020000024'")
	if p.Total != 1 || len(p.Users) != 1 {
		t.Fatalf("user 24 by line URI: %+v", p)
	}
	u := p.Users[0]
	if u.UserPrincipalName != "user00024@contoso.onmicrosoft.com" || u.LineURI == nil || *u.LineURI != "tel:+39020000024" ||
		!u.EnterpriseVoiceEnabled || u.AccountType != "user" || u.Policies["OnlineVoiceRoutingPolicy"] != "VRP-IT" ||
		u.Policies["TenantDialPlan"] != "DP-IT" || len(u.TelephoneNumbers) != 1 || u.TelephoneNumbers[0] != (telephoneNumberJSON{"+39020000024", "primary"}) ||
		!slices.Equal(u.FeatureTypes, []string{"Teams", "AudioConferencing", "PhoneSystem"}) {
		t.Errorf("user 24 = %+v", u)
	}
	// A user without a number: lineUri is null, the lists are empty.
	w := e.do(t, "GET", "/customers/a/users?filter="+url.QueryEscape("UserPrincipalName -eq 'user00025@contoso.onmicrosoft.com'"), tokenA, nil)
	var raw struct {
		Users []map[string]any `json:"users"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil || len(raw.Users) != 1 {
		t.Fatalf("user 25: %s", w.Body)
	}
	if v, ok := raw.Users[0]["lineUri"]; !ok || v != nil || raw.Users[0]["enterpriseVoiceEnabled"] != false ||
		len(raw.Users[0]["telephoneNumbers"].([]any)) != 0 || len(raw.Users[0]["policies"].(map[string]any)) != 0 {
		t.Errorf("user 25 = %v", raw.Users[0])
	}
	// Mixed filters work on the stored users; malformed ones are refused
	// with the position.
	if p := get("(Department -eq 'Sales' -or LineUri -like 'tel:+44*') -and AccountEnabled -eq $true"); p.Total == 0 {
		t.Error("mixed filter matched nobody")
	}
	prob := problemOf(t, e.do(t, "GET", "/customers/a/users?filter="+url.QueryEscape("UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq 'maybe'"), tokenA, nil), 400)
	if prob.Code != codeBadQuery || len(prob.Fields) != 1 || prob.Fields[0].Field != "filter" || !strings.Contains(prob.Fields[0].Message, "at 28 (line 1, column 29)") {
		t.Errorf("malformed Teams filter: %+v", prob)
	}
}
