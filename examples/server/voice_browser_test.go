package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/voice"
)

// settleNumberOperation waits until the fake has received n number
// operations (assignNumber or unassignNumber) in total, then moves the
// fake's clock past its operation delay, so the operation settles at the
// portal's next poll without the test waiting for it.
func settleNumberOperation(d *demo, n int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for {
			got := 0
			for _, e := range d.a.tenant.VoiceLog() {
				if e.Kind == "assignNumber" || e.Kind == "unassignNumber" {
					got++
				}
			}
			if got >= n {
				d.a.fake.Advance(m365test.DefaultNumberOperationDelay + time.Second)
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// syncIdle waits until the demo customer has no user sync queued or
// running (the fleet's first sync starts on its own after the connection).
func syncIdle(d *demo) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for {
			req, err := http.NewRequestWithContext(ctx, "GET", d.base+"/api/customers/contoso/users/sync", nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+d.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			var run struct {
				State string `json:"state"`
			}
			err = json.NewDecoder(resp.Body).Decode(&run)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound || err == nil && run.State != "queued" && run.State != "running" && run.State != "retrying" {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// inventoryRead waits until the demo customer's number inventory holds n
// numbers.
func inventoryRead(ctx context.Context, d *demo, n int) error {
	for {
		page, err := d.a.voice.Numbers(ctx, "contoso", voice.NumberQuery{Limit: 1})
		if err == nil && page.Total >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the inventory holds %d numbers, want %d: %w", page.Total, n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestBrowserVoice walks the design's Teams Phone done-when in the demo
// portal at 1366x768: the Numbers page shows the Milan range's 3,334 free
// Italian numbers; user 24 is ready; user 4 is not, for want of a Teams
// Phone license; user 4 is set with +39020000004, VRP-IT and DP-IT in one
// request, the operation's progress is followed live to success and user
// 4 is then ready; a taken number is refused at its field with nothing
// sent to Microsoft; releasing user 4 quarantines +39020000004, and
// "next" of the Milan range then skips it.
func TestBrowserVoice(t *testing.T) {
	// Not parallel: a big-demo test (see the note above TestBrowser).
	browser := findBrowser(t)
	if testing.Short() && os.Getenv("TENANTGATE_TEST_BROWSER") != "required" {
		t.Skip("browser test skipped in -short mode")
	}
	// Reading 50,000 numbers and syncing 50,000 users take seconds, and
	// minutes under the race detector on a busy machine.
	ctx, cancel := context.WithTimeout(t.Context(), 900*time.Second)
	defer cancel()
	// voice follows Microsoft's operations every 50 ms; the fake's
	// operations take their default 3 s of the fake's clock, which the
	// test moves on (settleNumberOperation).
	d := startDemoWith(t, t.TempDir(), hooks{voicePoll: 50 * time.Millisecond}, "-consent-wait", "2s")
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 768),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(bctx), "starting %s", browser)
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 360*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			dctx, cancel := context.WithTimeout(bctx, 5*time.Second)
			defer cancel()
			loc, _ := chromedp.Run(dctx, chromedp.Location())
			body, _ := chromedp.Run(dctx, chromedp.Text(css("body")))
			require.NoError(t, err, "%s\nat %s:\n%s", name, loc, body)
		}
	}
	userPage := func(n string) string {
		return d.base + "/voice/user?customer=contoso&user=user" + n + "@" + demoDomain
	}

	// Connect the demo customer (the token connection asks for the Teams
	// Phone provisioning scopes) and log in.
	link := d.invite(t)
	step("connect",
		chromedp.Navigate(link),
		heading("Connect Contoso Ltd to Tenantgate Demo Provider"),
		signInAtMicrosoft("voice-00-microsoft"),
		chromedp.Click(css(`#accept`)),
		heading("Connected"),
	)
	step("log in",
		chromedp.Navigate(d.base+"/login?next=/voice"),
		chromedp.WaitVisible(css(`#token`)),
		chromedp.SetValue(css(`#token`), d.token),
		chromedp.Click(css(`#login`)),
		heading("Teams Phone numbers for customer contoso"),
		chromedp.WaitVisible(css(`#ranges tbody tr[data-range="Milan"]`)),
	)

	// Numbers: the demo reads the inventory when the customer connects
	// (a fleet job); then the Milan range's free numbers. The page's
	// button calls the synchronous refresh route, which is not clicked
	// here: for 50,000 numbers under the race detector on a busy machine
	// it outlasts the server's 60 s write timeout.
	var milanFree, total, firstFree, label, hint string
	require.NoError(t, inventoryRead(ctx, d, 50_000))
	step("the numbers read from Microsoft",
		chromedp.Reload(),
		chromedp.WaitVisible(css(`#numbers-total[data-total="50000"]`)),
		into(&hint, chromedp.Text(css(`#numbers-refresh-hint`))),
		into(&milanFree, chromedp.Text(css(`#ranges tr[data-range="Milan"] td[data-free]`))),
		screenshot("voice-01-numbers"),
	)
	assert.Equal(t, "3,334", milanFree, "free numbers of the Milan range")
	assert.Contains(t, hint, "Reads every telephone number of the tenant from Microsoft Teams again")
	step("free numbers of Milan",
		chromedp.Click(css(`#ranges tr[data-range="Milan"] button`)),
		chromedp.WaitVisible(css(`#numbers-total[data-total="3334"]`)),
		into(&label, chromedp.Text(css(`#numbers-total-label`))),
		into(&firstFree, chromedp.Text(css(`#numbers tbody tr:first-child td:first-child`))),
		screenshot("voice-02-milan-free"),
	)
	assert.Equal(t, "free (unassigned) numbers in range Milan", label)
	assert.Equal(t, "+39020000004", firstFree)
	step("next page, then a search",
		chromedp.Click(css(`#numbers-next`)),
		chromedp.WaitVisible(css(`#numbers-first:not([disabled])`)),
		chromedp.SetValue(css(`#nf-search`), "+3902000002"),
		chromedp.Click(css(`#nf-apply`)),
		// +39020000024 is assigned: no free number starts with +3902000002.
		chromedp.WaitVisible(css(`#numbers-total[data-total="0"]`)),
	)
	step("search an assigned number",
		chromedp.SetValue(css(`#nf-status`), ""),
		chromedp.SetValue(css(`#nf-search`), "+39020000024"),
		chromedp.Click(css(`#nf-apply`)),
		chromedp.WaitVisible(css(`#numbers tbody tr[data-number="+39020000024"][data-status="assigned"]`)),
		chromedp.WaitVisible(css(`#numbers tbody tr[data-number="+39020000024"] a`)),
		into(&total, chromedp.Text(css(`#numbers-total`))),
		screenshot("voice-03-search"),
	)
	assert.Equal(t, "1", total)

	// Readiness: user 24 is ready; user 4 is not, for want of a license.
	var failedCheck, action string
	step("user 24 is ready",
		chromedp.Navigate(userPage("00024")),
		chromedp.WaitVisible(css(`#vu-ready[data-state="ready"]`)),
		chromedp.WaitVisible(css(`#vu-checks tbody tr`)),
		screenshot("voice-04-user24-ready"),
	)
	step("user 4 is not ready",
		chromedp.Navigate(userPage("00004")),
		chromedp.WaitVisible(css(`#vu-ready[data-state="notReady"]`)),
		into(&failedCheck, chromedp.Evaluate[string](`document.querySelector('#vu-checks tr[data-ok="false"]').dataset.check`)),
		into(&action, chromedp.Evaluate[string](`document.querySelector('#vu-checks tr[data-ok="false"] td.action').dataset.action`)),
		screenshot("voice-05-user4-not-ready"),
	)
	assert.Equal(t, "teamsPhoneLicense", failedCheck, "user 4's first failed check")
	assert.Equal(t, "assignLicense", action)

	// Set user 4: +39020000004, VRP-IT and DP-IT, licenses auto, in one
	// request; the operation's progress is followed until it succeeds.
	var steps, state, nowText, progress string
	step("assign +39020000004 to user 4",
		chromedp.Click(css(`#as-mode-specific`)),
		chromedp.WaitVisible(css(`#as-number`)),
		chromedp.SetValue(css(`#as-number`), "+39020000004"),
		chromedp.SetValue(css(`#as-vrp`), "VRP-IT"),
		chromedp.SetValue(css(`#as-dp`), "DP-IT"),
		chromedp.Click(css(`#assign`)),
		chromedp.WaitVisible(css(`#op-card`)),
		// The license is assigned; the number waits for Microsoft.
		chromedp.WaitVisible(css(`#op-steps tr[data-step="number"][data-status="running"]`)),
		chromedp.WaitVisible(css(`#op-state[data-state="running"]`)),
		into(&progress, chromedp.Evaluate[string](`String(document.getElementById("op-progress").value)`)),
		chromedp.ScrollIntoView(css(`#op-card`)),
		screenshot("voice-06-assign-running"),
		settleNumberOperation(d, 1),
		chromedp.WaitVisible(css(`#op-state[data-state="succeeded"]`)),
		chromedp.WaitVisible(css(`#vu-ready[data-state="ready"]`)),
		into(&steps, chromedp.Text(css(`#op-steps tbody`))),
		into(&state, chromedp.Evaluate[string](`String(document.getElementById("op-progress").value)`)),
		into(&nowText, chromedp.Text(css(`#vu-now`))),
		screenshot("voice-07-assign-succeeded"),
	)
	assert.NotEqual(t, "100", progress, "the progress bar while the number is assigned")
	assert.Equal(t, "100", state, "the progress bar at the end")
	for _, want := range []string{"Licenses", "Number", "+39020000004", "Policy OnlineVoiceRoutingPolicy", "Policy TenantDialPlan"} {
		assert.Contains(t, steps, want)
	}
	assert.Contains(t, nowText, "+39020000004")
	assert.Contains(t, nowText, "VRP-IT")
	assert.Contains(t, nowText, "MCOEV")

	// A whole-tenant sync shows user 4's line URI; the user's name in the
	// Users list opens its Teams Phone page.
	var row string
	step("whole-tenant sync, then user 4 from the Users list",
		chromedp.Navigate(d.base+"/?customer=contoso"),
		chromedp.WaitVisible(css(`#status-state[data-state="connected"]`)),
		chromedp.Click(css(`#tab-users`)),
		syncIdle(d),
		chromedp.Click(css(`#sync`)),
		chromedp.WaitVisible(chromedp.Search(`//div[@id="message"][contains(., "Sync finished")]`)),
		chromedp.SetValue(css(`#user-search`), "LineUri -eq 'tel:+39020000004'"),
		chromedp.Click(css(`#search`)),
		chromedp.WaitVisible(css(`#users-total[data-total="1"]`)),
		into(&row, chromedp.Text(css(`#users tbody tr`))),
		chromedp.Click(css(`#users tbody tr a`)),
		chromedp.WaitVisible(css(`#vu-ready[data-state="ready"]`)),
	)
	assert.Contains(t, row, "user00004@")
	assert.Contains(t, row, "VRP-IT")

	// A taken number: refused at the number field, nothing sent.
	before := len(d.a.tenant.VoiceLog())
	var invalid, fieldMsg, described string
	step("a taken number is refused",
		chromedp.Navigate(userPage("00005")),
		chromedp.WaitVisible(css(`#vu-ready[data-state="notReady"]`)),
		chromedp.Click(css(`#as-mode-specific`)),
		chromedp.SetValue(css(`#as-number`), "+39020000024"),
		chromedp.Click(css(`#assign`)),
		chromedp.WaitVisible(css(`#as-number-error`)),
		into(&invalid, chromedp.Evaluate[string](`document.getElementById("as-number").getAttribute("aria-invalid")`)),
		into(&described, chromedp.Evaluate[string](`document.getElementById("as-number").getAttribute("aria-describedby")`)),
		into(&fieldMsg, chromedp.Text(css(`#as-number-error`))),
		screenshot("voice-08-taken"),
	)
	assert.Equal(t, "true", invalid)
	assert.Equal(t, "as-number-error", described)
	assert.Contains(t, fieldMsg, "+39020000024")
	assert.Len(t, d.a.tenant.VoiceLog(), before, "nothing was sent to Microsoft")

	// Release user 4 (after a confirmation that says what it does): the
	// number goes to quarantine, and "next" skips it.
	var confirm, held, got string
	step("release user 4",
		chromedp.Navigate(userPage("00004")),
		chromedp.WaitVisible(css(`#vu-ready[data-state="ready"]`)),
		chromedp.Click(css(`#release`)),
		chromedp.WaitVisible(css(`#release-confirm`)),
		into(&confirm, chromedp.Text(css(`#release-confirm`))),
		screenshot("voice-09-release-confirm"),
		chromedp.Click(css(`#release-yes`)),
		chromedp.WaitVisible(css(`#op-steps tr[data-step="number"]`)),
		settleNumberOperation(d, 2),
		chromedp.WaitVisible(css(`#op-state[data-state="succeeded"]`)),
		chromedp.WaitVisible(css(`#vu-ready[data-state="notReady"]`)),
		screenshot("voice-10-released"),
	)
	assert.Contains(t, confirm, "Unassign +39020000004; it goes to quarantine in range Milan for 30 days")
	assert.Contains(t, confirm, "OnlineVoiceRoutingPolicy VRP-IT")
	step("the number is quarantined",
		chromedp.Navigate(d.base+"/voice?customer=contoso"),
		chromedp.WaitVisible(css(`#ranges tbody tr[data-range="Milan"]`)),
		chromedp.SetValue(css(`#nf-search`), "+39020000004"),
		chromedp.Click(css(`#nf-apply`)),
		chromedp.WaitVisible(css(`#numbers tbody tr[data-number="+39020000004"][data-status="unassigned"]`)),
		into(&held, chromedp.Text(css(`#numbers tbody tr[data-number="+39020000004"] td.held`))),
		screenshot("voice-11-quarantined"),
	)
	assert.Contains(t, held, "quarantined until")
	step("next skips the quarantined number",
		chromedp.Navigate(userPage("00014")),
		chromedp.WaitVisible(css(`#vu-ready[data-state="notReady"]`)),
		chromedp.SetValue(css(`#as-range`), "Milan"),
		chromedp.SetValue(css(`#as-vrp`), "VRP-IT"),
		chromedp.Click(css(`#assign`)),
		chromedp.WaitVisible(css(`#op-steps tr[data-step="number"]`)),
		settleNumberOperation(d, 3),
		chromedp.WaitVisible(css(`#op-state[data-state="succeeded"]`)),
		into(&got, chromedp.Text(css(`#op-steps tr[data-step="number"] td:nth-child(4)`))),
		chromedp.WaitVisible(css(`#ops tbody tr`)),
		screenshot("voice-12-next"),
	)
	assert.Equal(t, "+39020000014", got, "the lowest free Milan number after the quarantined +39020000004")
	var ops struct {
		Operations []struct {
			Kind, State string
		} `json:"operations"`
	}
	d.api(t, "GET", "/api/customers/contoso/voice/operations", "", http.StatusOK, &ops)
	require.Len(t, ops.Operations, 3)
	for _, op := range ops.Operations {
		assert.Equal(t, "succeeded", op.State, op.Kind)
	}
}
