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
		t.Fatal("no Chromium found (TENANTGATE_TEST_BROWSER=required): install it with `apt-get install -y chromium` or set TENANTGATE_BROWSER")
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
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.inviteNow, h.logger = clock.now, log
	a, err := start(t.Context(), cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := a.shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
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
	if inv.Status != "pending" || inv.To != "admin@"+demoDomain {
		t.Fatalf("invitation = %+v, want pending to admin@%s", inv, demoDomain)
	}
	var box struct {
		Emails []outboxEmail `json:"emails"`
	}
	d.api(t, "GET", "/dev/outbox", "", http.StatusOK, &box)
	if len(box.Emails) == 0 || len(box.Emails[0].Links) != 1 {
		t.Fatalf("outbox = %+v, want the newest email with one link", box)
	}
	if box.Emails[0].To != "admin@"+demoDomain {
		t.Fatalf("newest email to %q", box.Emails[0].To)
	}
	link := box.Emails[0].Links[0]
	if !strings.HasPrefix(link, d.base+"/invite/") {
		t.Fatalf("link %q is not under %s/invite/", link, d.base)
	}
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

// TestBrowser walks the demo as a newcomer does, in Chromium with its
// certificate checks on: invitation -> sign-in -> connected -> validate ->
// filtered sync, and the failure paths a person can hit.
func TestBrowser(t *testing.T) {
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
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 90*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			dctx, cancel := context.WithTimeout(bctx, 5*time.Second)
			defer cancel()
			loc, _ := chromedp.Run(dctx, chromedp.Location())
			body, _ := chromedp.Run(dctx, chromedp.Text(css("body")))
			t.Fatalf("%s: %v\nat %s:\n%s", name, err, loc, body)
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
		if !strings.Contains(landing, want) {
			t.Errorf("landing page does not mention %q:\n%s", want, landing)
		}
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
	if st.State == "connected" {
		t.Fatalf("status after Cancel = %q, want not connected", st.State)
	}

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
	if st.State != "connected" || !strings.EqualFold(st.Account, "admin@"+demoDomain) {
		t.Fatalf("status = %+v, want connected as admin@%s", st, demoDomain)
	}

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
	if total != "5,000" || !strings.Contains(syncState, "5,000 users") {
		t.Errorf("portal shows total %q, sync state %q; want 5,000", total, syncState)
	}
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
	if !strings.Contains(auditRows, "users.sync") || !strings.Contains(auditRows, "Provider admin (break-glass admin token, portal session)") {
		t.Errorf("audit trail on the page = %q, want the sync started by the admin's session", auditRows)
	}
	if !strings.Contains(eventRows, "Connected") {
		t.Errorf("events on the page = %q, want Connected", eventRows)
	}
	var firstRow string
	step("read the users table",
		chromedp.Click(css(`#tab-users`)),
		chromedp.WaitVisible(css(`#users tbody tr`)),
		into(&firstRow, chromedp.Text(css(`#users tbody tr`))),
		chromedp.Navigate(d.base+"/outbox"),
		chromedp.WaitVisible(css(`a.invite-link`)),
		screenshot("09-outbox"),
	)
	if !strings.Contains(firstRow, "Milan") || !strings.Contains(firstRow, "IT") {
		t.Errorf("first synced user %q is not in Milan, IT", firstRow)
	}

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
	if fabrikamAction != "rotateSecret" || northwindState != "Consent required" || tailspinAction != "sendInvitation" {
		t.Errorf("fleet shows fabrikam %q, northwind %q, tailspin %q", fabrikamAction, northwindState, tailspinAction)
	}
	if strings.Join(needsAction, ",") != "fabrikam,northwind,tailspin" {
		t.Errorf("needs action: %v", needsAction)
	}

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
		if !strings.Contains(report, want) {
			t.Errorf("offboarding report lacks %q:\n%s", want, report)
		}
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
	if msg == "" || filterInvalid.Value != "true" {
		t.Errorf("bad filter: message %q, aria-invalid %q", msg, filterInvalid.Value)
	}
	step("save QoE settings",
		chromedp.Click(css(`#tab-quality`)),
		chromedp.SetValue(css(`#qoe-app-id`), "3f2e1d0c-0000-4000-8000-000000000e01"),
		chromedp.SetValue(css(`#qoe-password`), "qoe-app-password-0123456789"),
		chromedp.Click(css(`#save-qoe`)),
		chromedp.WaitVisible(css(`#qoe-message.ok`)),
		into(&qoeAttrs, chromedp.Attributes(css(`#qoe-password`))),
	)
	if !strings.Contains(qoeAttrs["placeholder"], "set") {
		t.Errorf("QoE password placeholder after save = %q, want it to say the password is set", qoeAttrs["placeholder"])
	}
	var qoe struct {
		AppID           string `json:"appId"`
		ClientSecretSet bool   `json:"clientSecretSet"`
	}
	d.api(t, "GET", "/api/customers/contoso/m365/qoe", "", http.StatusOK, &qoe)
	if qoe.AppID != "3f2e1d0c-0000-4000-8000-000000000e01" || !qoe.ClientSecretSet {
		t.Errorf("QoE after save = %+v", qoe)
	}
	step("refresh token now",
		chromedp.Click(css(`#tab-connection`)),
		chromedp.Click(css(`#refresh-token`)),
		chromedp.WaitVisible(css(`#wizard-link-url`)),
		into(&wizardLink, chromedp.Value(css(`#wizard-link-url`))),
	)
	if !strings.HasPrefix(wizardLink, d.base+"/invite/") {
		t.Errorf("Refresh Token Now link = %q", wizardLink)
	}
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
	if consented.State != "consentPropagating" && consented.State != "connected" {
		t.Errorf("status right after Grant Consent = %+v, want consentPropagating or connected", consented)
	}
	// Once Entra ID has replicated the grant, Validate confirms it.
	d.a.fake.Advance(m365test.DefaultConsentReplicationDelay)
	var confirmed struct {
		OK bool `json:"ok"`
	}
	d.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &confirmed)
	d.api(t, "GET", "/api/customers/contoso/m365/status", "", http.StatusOK, &consented)
	if !confirmed.OK || consented.State != "connected" || len(consented.GrantedRoles) == 0 {
		t.Errorf("status after the grant replicated = %+v (validate ok %v), want connected with granted roles", consented, confirmed.OK)
	}

	// The API agrees with the screen.
	var rep struct {
		OK bool `json:"ok"`
	}
	d.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, &rep)
	if !rep.OK {
		t.Error("Validate through the API is not ok")
	}
	var run struct {
		State string `json:"state"`
		Total int    `json:"total"`
		Added int    `json:"added"`
	}
	d.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	if run.State != "succeeded" || run.Total != 5000 || run.Added != 5000 {
		t.Errorf("sync run = %+v, want succeeded with 5000 users added", run)
	}
	var page struct {
		Users []struct {
			UsageLocation string `json:"usageLocation"`
		} `json:"users"`
		Total int `json:"total"`
	}
	d.api(t, "GET", "/api/customers/contoso/users?limit=1000", "", http.StatusOK, &page)
	if page.Total != 5000 || len(page.Users) != 1000 {
		t.Fatalf("users page: total %d, %d users; want 5000 and a full page of 1000", page.Total, len(page.Users))
	}
	for _, u := range page.Users {
		if u.UsageLocation != "IT" {
			t.Fatalf("synced a user with usageLocation %q", u.UsageLocation)
		}
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
	if !strings.Contains(scopeSummary, "removes 3,334 of the 5,000") || !saveDisabled {
		t.Errorf("scope preview %q, save disabled before confirming %v", scopeSummary, saveDisabled)
	}
	if teamsTotal != "1,666" || !strings.Contains(teamsRow, "tel:+3902") || !strings.Contains(teamsRow, "VRP-IT") || !strings.Contains(teamsRow, "DP-IT") {
		t.Errorf("Teams sync shows %q, first row %q; want 1,666 users with line URI, VRP-IT and DP-IT", teamsTotal, teamsRow)
	}
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
	if !strings.Contains(listed, "LineUri") || !strings.Contains(listedRow, "user00024@") || !strings.Contains(listedRow, "tel:+39020000024") {
		t.Errorf("filtered list %q, row %q; want user 00024 only", listed, listedRow)
	}
	var saved map[string]any
	d.api(t, "GET", "/api/customers/contoso/m365", "", http.StatusOK, &saved)
	if saved["userFilter"] != "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true" || scopeAfter != saved["userFilter"] {
		t.Errorf("searching changed the sync scope: saved %q, field %q", saved["userFilter"], scopeAfter)
	}
}
