package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// findBrowser returns the Chromium to drive: TENANTGATE_BROWSER, else the
// first of the usual names on PATH. Without one the test is skipped, unless
// TENANTGATE_TEST_BROWSER=required (as in CI), when it fails.
func findBrowser(t *testing.T) string {
	t.Helper()
	required := os.Getenv("TENANTGATE_TEST_BROWSER") == "required"
	if p := os.Getenv("TENANTGATE_BROWSER"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if required {
		require.FailNow(t, "no Chromium found (TENANTGATE_TEST_BROWSER=required): install it with `apt-get install -y chromium` or set TENANTGATE_BROWSER")
	}
	t.Skip("no Chromium found: install it with `apt-get install -y chromium` (or set TENANTGATE_BROWSER) to run the browser test")
	return ""
}

// testClock is the invitation service's clock; the test moves it forward to
// expire a link.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// demo is a demo server started in-process for a test.
type demo struct {
	a     *app
	base  string
	token string
	clock *testClock
}

const testAdminToken = "test-admin-token-0123456789abcdef"

// startDemo starts the demo server on a random port in a temporary data
// directory, with extra flags.
func startDemo(t testing.TB, dataDir string, args ...string) *demo {
	t.Helper()
	return startDemoWith(t, dataDir, hooks{}, args...)
}

// startDemoWith is startDemo with hooks (its clock and logger are the
// test's).
func startDemoWith(t testing.TB, dataDir string, h hooks, args ...string) *demo {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-data", dataDir, "-admin-token", testAdminToken}, args...)
	cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	clock := &testClock{}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.inviteNow, h.logger = clock.now, log
	a, err := start(t.Context(), cfg, h)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		assert.NoError(t, a.shutdown(ctx), "shutdown")
	})
	return &demo{a: a, base: a.publicURL, token: testAdminToken, clock: clock}
}

// api calls the admin API with the bearer token and decodes the answer.
func (d *demo) api(t testing.TB, method, path, body string, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, d.base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+d.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: in %s", method, path, b)
	}
}

// invite sends an invitation through the admin API and returns its link
// from GET /dev/outbox.
func (d *demo) invite(t testing.TB) string {
	t.Helper()
	var inv struct {
		ID, Status, To string
	}
	d.api(t, "POST", "/api/customers/contoso/m365/invitations", `{}`, http.StatusCreated, &inv)
	require.Equal(t, "pending", inv.Status, "invitation %+v", inv)
	require.Equal(t, "admin@"+demoDomain, inv.To, "invitation %+v", inv)
	var box struct {
		Emails []outboxEmail `json:"emails"`
	}
	d.api(t, "GET", "/dev/outbox", "", http.StatusOK, &box)
	require.NotEmpty(t, box.Emails, "outbox")
	require.Len(t, box.Emails[0].Links, 1, "the newest email's links")
	require.Equal(t, "admin@"+demoDomain, box.Emails[0].To, "newest email's recipient")
	link := box.Emails[0].Links[0]
	require.True(t, strings.HasPrefix(link, d.base+"/invite/"), "link %q is not under %s/invite/", link, d.base)
	return link
}

// heading waits for the page's h1 to read text.
func heading(text string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//h1[normalize-space()=%q]`, text)))
}

// css is a CSS selector for the first matching element.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// into runs a value-returning action and stores its value in p.
func into[T any](p *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := a(ctx, t)
		*p = v
		return err
	})
}

// screenshot saves the page to TENANTGATE_SCREENSHOTS/name.png when that
// directory is set, for people checking the pages' looks.
func screenshot(name string) chromedp.Action[chromedp.Void] {
	dir := os.Getenv("TENANTGATE_SCREENSHOTS")
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if dir == "" {
			return nil
		}
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// signInAtMicrosoft clicks "Sign in with Microsoft" on a wizard page and
// fills the fake Microsoft page, leaving the choice (Accept or Cancel).
func signInAtMicrosoft(shot string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Sign in with Microsoft"]`)),
		chromedp.WaitVisible(css(`#accept`)),
		chromedp.SetValue(css(`#username`), "admin@"+demoDomain),
		chromedp.SetValue(css(`#password`), m365test.DefaultPassword),
		screenshot(shot),
	)
}

// The big-demo tests (TestBrowser, TestBrowserVoice, TestBrowserVoicePlans,
// TestDemoVoice and TestDemoTeamsFilters) connect the 50,000-user demo
// tenant. Each is CPU-bound (SQLite under the race detector most of all)
// for one to two minutes on a quiet 2-core machine, so they do not call
// t.Parallel: two at once gain nothing on two cores and double each one's
// wall time, and under CI's load that pushed TestBrowserVoicePlans' apply
// past its step's bound (CI at 88442d9). The other tests, light, run in
// parallel after them.

// TestBrowser walks the demo as a newcomer does, in Chromium with its
// certificate checks on: invitation -> sign-in -> connected -> validate ->
// filtered sync, and the failure paths a person can hit.
func TestBrowser(t *testing.T) {
	// Not parallel: a big-demo test (see the note above TestBrowser).
	browser := findBrowser(t)
	if testing.Short() && os.Getenv("TENANTGATE_TEST_BROWSER") != "required" {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Second) // a loaded machine (CI) needs more than 150 s
	defer cancel()

	// The fake replicates consent for a minute (its realistic default);
	// the portal waits two seconds of it, then reports it propagating.
	d := startDemo(t, t.TempDir(), "-consent-wait", "2s")

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	// Start the browser now, so its start-up is not charged to a step.
	require.NoError(t, chromedp.Do(bctx), "starting %s", browser)
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 90*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			dctx, cancel := context.WithTimeout(bctx, 5*time.Second)
			defer cancel()
			loc, _ := chromedp.Run(dctx, chromedp.Location())
			body, _ := chromedp.Run(dctx, chromedp.Text(css("body")))
			require.NoError(t, err, "%s\nat %s:\n%s", name, loc, body)
		}
	}

	// Cancel at Microsoft: nothing is connected.
	first := d.invite(t)
	var landing string
	step("open the first invitation",
		chromedp.Navigate(first),
		heading("Connect Contoso Ltd to Tenantgate Demo Provider"),
		into(&landing, chromedp.Text(css("main"))),
		screenshot("01-landing"),
	)
	for _, want := range []string{"Provider admin", demoDomain, "admin@" + demoDomain, "User.Read.All"} {
		assert.Contains(t, landing, want, "landing page")
	}
	step("cancel at Microsoft",
		signInAtMicrosoft("02-microsoft"),
		chromedp.Click(css(`#cancel`)),
		heading("You cancelled the sign-in"),
		screenshot("03-cancelled"),
	)
	var st struct {
		State   string `json:"state"`
		Account string `json:"account"`
	}
	d.api(t, "GET", "/api/customers/contoso/m365/status", "", http.StatusOK, &st)
	require.NotEqual(t, "connected", st.State, "status after Cancel")

	// The newcomer's walk: a new invitation, Accept, connected.
	link := d.invite(t)
	step("accept at Microsoft",
		chromedp.Navigate(link),
		heading("Connect Contoso Ltd to Tenantgate Demo Provider"),
		signInAtMicrosoft("04-microsoft"),
		chromedp.Click(css(`#accept`)),
		heading("Connected"),
		screenshot("05-connected"),
	)
	d.api(t, "GET", "/api/customers/contoso/m365/status", "", http.StatusOK, &st)
	require.Equal(t, "connected", st.State, "status after Accept")
	require.True(t, strings.EqualFold(st.Account, "admin@"+demoDomain), "status account %q, want admin@%s", st.Account, demoDomain)

	// The same link again: used up. The first one: replaced.
	step("reuse the link",
		chromedp.Navigate(link),
		heading("This invitation was already used"),
		screenshot("06-reused"),
	)
	step("open the superseded link",
		chromedp.Navigate(first),
		heading("This invitation is no longer valid"),
	)

	// An expired link.
	late := d.invite(t)
	d.clock.advance(8 * 24 * time.Hour)
	step("open an expired link",
		chromedp.Navigate(late),
		heading("This invitation has expired"),
		screenshot("07-expired"),
	)

	// The admin screen: status, Validate Authentication, filtered sync.
	var total, syncState string
	step("log in to the portal",
		chromedp.Navigate(d.base+"/"),
		chromedp.WaitVisible(css(`#token`)),
		screenshot("00-login"),
		chromedp.SetValue(css(`#token`), d.token),
		chromedp.Click(css(`#login`)),
		chromedp.WaitVisible(css(`#status-state[data-state="connected"]`)),
	)
	step("validate",
		chromedp.Click(css(`#validate`)),
		chromedp.WaitVisible(css(`#validate-result[data-ok="true"]`)),
	)
	step("sync Italy",
		// The scope is previewed, then saved, then synced: three steps.
		chromedp.Click(css(`#tab-users`)),
		chromedp.SetValue(css(`#user-filter`), "UsageLocation -eq 'IT'"),
		chromedp.Click(css(`#scope-preview`)),
		chromedp.WaitVisible(css(`#scope-review`)),
		chromedp.Click(css(`#scope-save`)),
		chromedp.WaitNotVisible(css(`#scope-review`)),
		chromedp.Click(css(`#sync`)),
		chromedp.WaitVisible(css(`#sync-state[data-state="succeeded"]`)),
		chromedp.WaitVisible(css(`#users-total[data-total="5000"]`)),
		into(&total, chromedp.Text(css(`#users-total`))),
		into(&syncState, chromedp.Text(css(`#sync-state`))),
		screenshot("08-portal"),
	)
	assert.Equal(t, "5,000", total, "portal's users total")
	assert.Contains(t, syncState, "5,000 users", "portal's sync state")
	var auditRows, eventRows string
	step("activity: events and audit trail",
		chromedp.Navigate(d.base+"/?tab=activity"),
		chromedp.WaitVisible(css(`#events tbody tr[data-type="connection.connected"]`)),
		chromedp.WaitVisible(css(`#audit tbody tr[data-outcome="succeeded"]`)),
		into(&auditRows, chromedp.Text(css(`#audit tbody`))),
		into(&eventRows, chromedp.Text(css(`#events tbody`))),
		chromedp.ScrollIntoView(css(`#activity-card`)),
		screenshot("12-activity"),
	)
	assert.Contains(t, auditRows, "users.sync", "audit trail on the page")
	assert.Contains(t, auditRows, "Provider admin (break-glass admin token, portal session)", "audit trail on the page: the sync started by the admin's session")
	assert.Contains(t, eventRows, "Connected", "events on the page")
	var firstRow string
	step("read the users table",
		chromedp.Click(css(`#tab-users`)),
		chromedp.WaitVisible(css(`#users tbody tr`)),
		into(&firstRow, chromedp.Text(css(`#users tbody tr`))),
		chromedp.Navigate(d.base+"/outbox"),
		chromedp.WaitVisible(css(`a.invite-link`)),
		screenshot("09-outbox"),
	)
	assert.Contains(t, firstRow, "Milan", "first synced user")
	assert.Contains(t, firstRow, "IT", "first synced user")

	// The fleet: the Customers page shows each demo customer's state and
	// what to do; the needs-action filter hides the healthy one.
	var fabrikamAction, northwindState, tailspinAction string
	var needsAction []string
	step("the Customers page",
		chromedp.Navigate(d.base+"/customers"),
		chromedp.WaitVisible(css(`#fleet tr[data-customer="contoso"] .badge[data-state="connected"]`)),
		chromedp.WaitVisible(css(`#fleet tr[data-customer="northwind"] .badge[data-state="consentRequired"]`)),
		into(&fabrikamAction, chromedp.Evaluate[string](`document.querySelector('#fleet tr[data-customer="fabrikam"] td.action').dataset.action`)),
		into(&northwindState, chromedp.Text(css(`#fleet tr[data-customer="northwind"] .badge`))),
		into(&tailspinAction, chromedp.Evaluate[string](`document.querySelector('#fleet tr[data-customer="tailspin"] td.action').dataset.action`)),
		screenshot("08b-customers"),
		chromedp.Click(css(`#needs-action`)),
		chromedp.WaitNotPresent(css(`#fleet tr[data-customer="contoso"]`)),
		into(&needsAction, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#fleet tbody tr")).map(r => r.dataset.customer)`)),
	)
	assert.Equal(t, "rotateSecret", fabrikamAction, "fleet: fabrikam's action")
	assert.Equal(t, "Consent required", northwindState, "fleet: northwind's state")
	assert.Equal(t, "sendInvitation", tailspinAction, "fleet: tailspin's action")
	assert.Equal(t, "fabrikam,northwind,tailspin", strings.Join(needsAction, ","), "needs action")

	// Offboarding from the Customers page shows the report: what was
	// deleted and, for fabrikam's own app registration, the step its admin
	// must take at Microsoft.
	var reportRows []string
	step("offboard a customer and read its report",
		// Offboarding sits in the row's menu and wants the ID typed.
		chromedp.Evaluate[chromedp.Void](`window.prompt = () => "fabrikam"`),
		chromedp.Click(css(`#fleet tr[data-customer="fabrikam"] details.menu summary`)),
		chromedp.Click(css(`#fleet tr[data-customer="fabrikam"] button.offboard`)),
		chromedp.WaitVisible(css(`#offboard-card`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("offboard-state").textContent.startsWith("Finished")`, chromedp.WithPollingTimeout(60*time.Second)),
		into(&reportRows, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#offboard-items tbody tr")).map(r => Array.from(r.cells).map(c => c.textContent).join(" | "))`)),
		screenshot("08c-offboarding-report"),
	)
	report := strings.Join(reportRows, "\n")
	for _, want := range []string{"secrets | Deleted", "syncedUsers | Deleted", "appCredential | Customer's admin must act", "Certificates & secrets"} {
		assert.Contains(t, report, want, "offboarding report")
	}

	// The other controls of the settings screen.
	var msg, wizardLink string
	var filterInvalid chromedp.AttributeResult
	var qoeAttrs map[string]string
	step("a filter that cannot be used is refused under its field",
		chromedp.Navigate(d.base+"/"),
		chromedp.WaitVisible(css(`#status-state[data-state="connected"]`)),
		chromedp.Click(css(`#tab-users`)),
		chromedp.SetValue(css(`#user-filter`), "UsageLocation -eq"),
		chromedp.Click(css(`#scope-preview`)),
		chromedp.WaitVisible(css(`#user-filter-error`)),
		into(&msg, chromedp.Text(css(`#user-filter-error`))),
		into(&filterInvalid, chromedp.AttributeValue(css(`#user-filter`), "aria-invalid")),
	)
	assert.NotEmpty(t, msg, "bad filter: message")
	assert.Equal(t, "true", filterInvalid.Value, "bad filter: aria-invalid")
	step("save QoE settings",
		chromedp.Click(css(`#tab-quality`)),
		chromedp.SetValue(css(`#qoe-app-id`), "3f2e1d0c-0000-4000-8000-000000000e01"),
		chromedp.SetValue(css(`#qoe-password`), "qoe-app-password-0123456789"),
		chromedp.Click(css(`#save-qoe`)),
		chromedp.WaitVisible(css(`#qoe-message.ok`)),
		into(&qoeAttrs, chromedp.Attributes(css(`#qoe-password`))),
	)
	assert.Contains(t, qoeAttrs["placeholder"], "set", "QoE password placeholder after save says the password is set")
	var qoe struct {
		AppID           string `json:"appId"`
		ClientSecretSet bool   `json:"clientSecretSet"`
	}
	d.api(t, "GET", "/api/customers/contoso/m365/qoe", "", http.StatusOK, &qoe)
	assert.Equal(t, "3f2e1d0c-0000-4000-8000-000000000e01", qoe.AppID, "QoE app ID after save")
	assert.True(t, qoe.ClientSecretSet, "QoE secret set after save")
	step("refresh token now",
		chromedp.Click(css(`#tab-connection`)),
		chromedp.Click(css(`#refresh-token`)),
		chromedp.WaitVisible(css(`#wizard-link-url`)),
		into(&wizardLink, chromedp.Value(css(`#wizard-link-url`))),
	)
	assert.True(t, strings.HasPrefix(wizardLink, d.base+"/invite/"), "Refresh Token Now link = %q", wizardLink)
	step("grant consent",
		chromedp.Click(css(`#grant-consent`)),
		chromedp.WaitVisible(css(`#consent-panel[data-customer-app="false"]`)),
		chromedp.Click(css(`#consent-open`)),
		chromedp.WaitVisible(css(`#accept`)),
		chromedp.SetValue(css(`#username`), "admin@"+demoDomain),
		chromedp.SetValue(css(`#password`), m365test.DefaultPassword),
		screenshot("10-admin-consent"),
		chromedp.Click(css(`#accept`)),
		// The callback answers at once and follows the confirmation.
		chromedp.WaitVisible(css(`#consent-progress[data-progress="confirming"]`)),
		screenshot("11-consent-propagating"),
	)
	var consented struct {
		State        string   `json:"state"`
		GrantedRoles []string `json:"grantedRoles"`
	}
	d.api(t, "GET", "/api/customers/contoso/m365/status", "", http.StatusOK, &consented)
	// The callback answered before confirming; the background
	// confirmation may already have seen the grant (contoso's roles were
	// granted at its first sign-in).
	assert.Contains(t, []string{"consentPropagating", "connected"}, consented.State, "status right after Grant Consent")
	// Once Entra ID has replicated the grant, Validate confirms it.
	d.a.fake.Advance(m365test.DefaultConsentReplicationDelay)
	var confirmed struct {
		OK bool `json:"ok"`
	}
	d.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &confirmed)
	d.api(t, "GET", "/api/customers/contoso/m365/status", "", http.StatusOK, &consented)
	assert.True(t, confirmed.OK, "validate after the grant replicated")
	assert.Equal(t, "connected", consented.State, "status after the grant replicated")
	assert.NotEmpty(t, consented.GrantedRoles, "granted roles after the grant replicated")

	// The API agrees with the screen.
	var rep struct {
		OK bool `json:"ok"`
	}
	d.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &rep)
	assert.True(t, rep.OK, "Validate through the API")
	var run struct {
		State string `json:"state"`
		Total int    `json:"total"`
		Added int    `json:"added"`
	}
	d.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	assert.Equal(t, "succeeded", run.State, "sync run")
	assert.Equal(t, 5000, run.Total, "sync run's total")
	assert.Equal(t, 5000, run.Added, "sync run's added")
	var page struct {
		Users []struct {
			UsageLocation string `json:"usageLocation"`
		} `json:"users"`
		Total int `json:"total"`
	}
	d.api(t, "GET", "/api/customers/contoso/users?limit=1000", "", http.StatusOK, &page)
	require.Equal(t, 5000, page.Total, "users page's total")
	require.Len(t, page.Users, 1000, "users page: a full page")
	for _, u := range page.Users {
		require.Equal(t, "IT", u.UsageLocation, "a synced user's usageLocation")
	}

	// A Teams filter: Italy's voice users, with their line URI and
	// policies in the table; then the filter box narrows the stored list.
	var teamsTotal, teamsRow, listed, listedRow, scopeSummary, scopeAfter string
	var saveDisabled bool
	step("sync Italian voice users",
		chromedp.Navigate(d.base+"/"),
		chromedp.WaitVisible(css(`#status-state[data-state="connected"]`)),
		chromedp.Click(css(`#tab-users`)),
		chromedp.SetValue(css(`#user-filter`), "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true"),
		chromedp.Click(css(`#scope-preview`)),
		// 3,334 of the 5,000 synced users would go: more than a tenth,
		// so saving waits for the confirmation.
		chromedp.WaitVisible(css(`#scope-confirm-row`)),
		into(&scopeSummary, chromedp.Text(css(`#scope-summary`))),
		into(&saveDisabled, chromedp.Evaluate[bool](`document.getElementById("scope-save").disabled`)),
		chromedp.ScrollIntoView(css(`#scope-review`)),
		screenshot("26-scope-preview"),
		chromedp.Click(css(`#scope-confirm`)),
		chromedp.Click(css(`#scope-save`)),
		chromedp.WaitNotVisible(css(`#scope-review`)),
		chromedp.Click(css(`#sync`)),
		chromedp.WaitVisible(css(`#users-total[data-total="1666"]`)),
		into(&teamsTotal, chromedp.Text(css(`#users-total`))),
		into(&teamsRow, chromedp.Text(css(`#users tbody tr`))),
		screenshot("08b-teams-sync"),
	)
	assert.Contains(t, scopeSummary, "removes 3,334 of the 5,000", "scope preview")
	assert.True(t, saveDisabled, "save disabled before confirming")
	assert.Equal(t, "1,666", teamsTotal, "Teams sync's total")
	assert.Contains(t, teamsRow, "tel:+3902", "Teams sync's first row: line URI")
	assert.Contains(t, teamsRow, "VRP-IT", "Teams sync's first row")
	assert.Contains(t, teamsRow, "DP-IT", "Teams sync's first row")
	// Searching (filter language or plain text, Enter) narrows the list
	// and never touches the sync scope.
	step("search the stored list",
		chromedp.SetValue(css(`#user-search`), "LineUri -eq 'tel:+39020000024'"),
		chromedp.SendKeys(css(`#user-search`), "\r"),
		chromedp.WaitVisible(css(`#users-total[data-total="1"]`)),
		into(&listed, chromedp.Text(css(`#users-total-label`))),
		into(&listedRow, chromedp.Text(css(`#users tbody tr`))),
		screenshot("08c-teams-filtered"),
		chromedp.SetValue(css(`#user-search`), "user00024@"),
		chromedp.Click(css(`#search`)),
		chromedp.WaitVisible(css(`#users-total-label`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("users-total-label").textContent.includes("user00024@")`, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.WaitVisible(css(`#users-total[data-total="1"]`)),
		into(&scopeAfter, chromedp.Value(css(`#user-filter`))),
	)
	assert.Contains(t, listed, "LineUri", "filtered list's label")
	assert.Contains(t, listedRow, "user00024@", "filtered list's row")
	assert.Contains(t, listedRow, "tel:+39020000024", "filtered list's row")
	var saved map[string]any
	d.api(t, "GET", "/api/customers/contoso/m365", "", http.StatusOK, &saved)
	assert.Equal(t, "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true", saved["userFilter"], "searching changed the saved sync scope")
	assert.Equal(t, saved["userFilter"], scopeAfter, "searching changed the scope field")
}
