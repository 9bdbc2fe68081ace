package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.Equal(t, 200, resp.StatusCode, "connect %s: %s", customer, page)
	require.Contains(t, page, "Connected", "connect %s", customer)
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
	require.FailNow(t, "sync still running after 60 s")
	return syncRunJSON{}
}

func TestSyncAndUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	w := e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]string{"userFilter": "UsageLocation -eq 'IT'"})
	decode[settingsJSON](t, w, 200)

	assert.Equal(t, codeNotFound, problemOf(t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 404).Code, "never synced")
	run := decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	require.NotEmpty(t, run.ID, "started run %+v", run)
	require.Contains(t, []string{runQueued, runRunning}, run.State, "started run %+v", run)
	done := e.waitSync(t, "a")
	// contoso has 120 generated users; i % 10 == 4 is Italy: 12 users.
	require.Equal(t, run.ID, done.ID, "finished run %+v", done)
	require.Equal(t, runSucceeded, done.State, "finished run %+v", done)
	require.Equal(t, 12, done.Added, "finished run %+v", done)
	require.Equal(t, 0, done.Removed, "finished run %+v", done)
	require.Equal(t, 12, done.Total, "finished run %+v", done)
	require.Equal(t, 100, done.Progress.Percent, "finished run %+v", done)
	require.NotNil(t, done.FinishedAt, "finished run %+v", done)
	require.Nil(t, done.Error, "finished run %+v", done)

	// Page through the users.
	var upns []string
	after := ""
	for range 10 {
		page := decode[userPageJSON](t, e.do(t, "GET", "/customers/a/users?limit=5&after="+after, tokenA, nil), 200)
		assert.Equal(t, 12, page.Total, "total")
		for _, u := range page.Users {
			assert.Equal(t, "IT", u.UsageLocation, "user %s", u.UserPrincipalName)
			upns = append(upns, u.UserPrincipalName)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if assert.Len(t, upns, 12, "paged users") {
		assert.Equal(t, "user00004@contoso.onmicrosoft.com", upns[0], "paged users %v", upns)
	}
	// Customer b sees none of a's users.
	e.saveToken(t, "b", e.fabrikam)
	pageB := decode[userPageJSON](t, e.do(t, "GET", "/customers/b/users", tokenB, nil), 200)
	assert.Zero(t, pageB.Total, "b's total")
	assert.Empty(t, pageB.Users, "b's users")

	// A new filter: Germany replaces Italy.
	decode[settingsJSON](t, e.do(t, "PUT", "/customers/a/m365", tokenA, map[string]string{"userFilter": "UsageLocation -eq 'DE'"}), 200)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	done = e.waitSync(t, "a")
	assert.Equal(t, runSucceeded, done.State, "second run %+v", done)
	assert.Equal(t, 12, done.Added, "second run %+v", done)
	assert.Equal(t, 12, done.Removed, "second run %+v", done)
	assert.Equal(t, 12, done.Total, "second run %+v", done)

	// A restart (a new handler on the same store) shows the last result.
	h2, err := New(e.cfg)
	require.NoError(t, err)
	e.h = http.StripPrefix("/m365", h2)
	again := decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200)
	assert.Equal(t, done.ID, again.ID, "after restart %+v", again)
	assert.Equal(t, runSucceeded, again.State, "after restart %+v", again)
	assert.Equal(t, 12, again.Added, "after restart %+v", again)
}

func TestSyncRunningTwiceRefused(t *testing.T) {
	t.Parallel()
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
			require.FailNow(t, "the sync never ran", "%+v", run)
		}
	}
	assert.Equal(t, codeSyncRunning, problemOf(t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusConflict).Code, "code")
	remove()
	run := e.waitSync(t, "a")
	assert.Equal(t, runSucceeded, run.State, "run %+v", run)
	assert.Equal(t, 121, run.Total, "run %+v", run)
}

func TestSyncFailureSaysWhatToDo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// Customer b has settings but never connected.
	e.saveToken(t, "b", e.fabrikam)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/b/users/sync", tokenB, nil), http.StatusAccepted)
	run := e.waitSync(t, "b")
	require.Equal(t, runFailed, run.State, "run %+v", run)
	require.NotNil(t, run.Error, "run %+v", run)
	require.NotEmpty(t, run.Error.Code, "run %+v", run)
	require.NotEmpty(t, run.Error.Message, "run %+v", run)
	raw := e.do(t, "GET", "/customers/b/users/sync", tokenB, nil).Body.String()
	for _, leak := range []string{"m365access:", "usersync:", "tokenstore:"} {
		assert.NotContains(t, raw, leak, "internal error text")
	}
}

func TestSyncCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	defer e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Latency: time.Minute})()
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if run := decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200); run.State == runRunning {
			break
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "the sync never ran")
		}
	}
	decode[syncRunJSON](t, e.do(t, "DELETE", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	run := e.waitSync(t, "a")
	require.Equal(t, runCancelled, run.State, "cancelled run %+v", run)
	require.NotNil(t, run.Error, "cancelled run %+v", run)
	require.Equal(t, "cancelled", run.Error.Code, "cancelled run %+v", run)
	require.NotNil(t, run.FinishedAt, "cancelled run %+v", run)
	assert.Equal(t, codeNotFound, problemOf(t, e.do(t, "DELETE", "/customers/b/users/sync", tokenB, nil), http.StatusNotFound).Code, "cancel without a run")
}

func TestUsersTeamsFieldsAndFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	done := e.waitSync(t, "a")
	require.Equal(t, runSucceeded, done.State, "sync: %+v", done)
	require.Equal(t, 121, done.Added, "sync: %+v", done)
	get := func(filter string) userPageJSON {
		return decode[userPageJSON](t, e.do(t, "GET", "/customers/a/users?limit=1000&filter="+url.QueryEscape(filter), tokenA, nil), 200)
	}
	// contoso's 120 generated users: i % 3 == 0 are voice-enabled (40).
	voiceUsers := get("EnterpriseVoiceEnabled -eq $true")
	assert.Equal(t, 40, voiceUsers.Total, "voice users: total")
	assert.Len(t, voiceUsers.Users, 40, "voice users listed")
	p := get("LineUri -eq 'tel:+39020000024'")
	require.Equal(t, 1, p.Total, "user 24 by line URI: %+v", p)
	require.Len(t, p.Users, 1, "user 24 by line URI: %+v", p)
	u := p.Users[0]
	assert.Equal(t, "user00024@contoso.onmicrosoft.com", u.UserPrincipalName, "user 24")
	if assert.NotNil(t, u.LineURI, "user 24's line URI") {
		assert.Equal(t, "tel:+39020000024", *u.LineURI, "user 24's line URI")
	}
	assert.True(t, u.EnterpriseVoiceEnabled, "user 24 voice-enabled")
	assert.Equal(t, "user", u.AccountType, "user 24's account type")
	assert.Equal(t, "VRP-IT", u.Policies["OnlineVoiceRoutingPolicy"], "user 24's voice routing policy")
	assert.Equal(t, "DP-IT", u.Policies["TenantDialPlan"], "user 24's dial plan")
	assert.Equal(t, []telephoneNumberJSON{{"+39020000024", "primary"}}, u.TelephoneNumbers, "user 24's telephone numbers")
	assert.Equal(t, []string{"Teams", "AudioConferencing", "PhoneSystem"}, u.FeatureTypes, "user 24's feature types")
	// A user without a number: lineUri is null, the lists are empty.
	w := e.do(t, "GET", "/customers/a/users?filter="+url.QueryEscape("UserPrincipalName -eq 'user00025@contoso.onmicrosoft.com'"), tokenA, nil)
	var raw struct {
		Users []map[string]any `json:"users"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw), "user 25: %s", w.Body)
	require.Len(t, raw.Users, 1, "user 25: %s", w.Body)
	u25 := raw.Users[0]
	v, ok := u25["lineUri"]
	assert.True(t, ok, "user 25 has no lineUri: %v", u25)
	assert.Nil(t, v, "user 25's lineUri")
	assert.Equal(t, false, u25["enterpriseVoiceEnabled"], "user 25 voice-enabled")
	assert.Empty(t, u25["telephoneNumbers"].([]any), "user 25's telephone numbers")
	assert.Empty(t, u25["policies"].(map[string]any), "user 25's policies")
	// Mixed filters work on the stored users; malformed ones are refused
	// with the position.
	assert.NotZero(t, get("(Department -eq 'Sales' -or LineUri -like 'tel:+44*') -and AccountEnabled -eq $true").Total, "mixed filter matched nobody")
	prob := problemOf(t, e.do(t, "GET", "/customers/a/users?filter="+url.QueryEscape("UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq 'maybe'"), tokenA, nil), 400)
	assert.Equal(t, codeBadQuery, prob.Code, "malformed Teams filter: %+v", prob)
	if assert.Len(t, prob.Fields, 1, "malformed Teams filter: %+v", prob) {
		assert.Equal(t, "filter", prob.Fields[0].Field, "malformed Teams filter")
		assert.Contains(t, prob.Fields[0].Message, "at 28 (line 1, column 29)", "malformed Teams filter")
	}
}
