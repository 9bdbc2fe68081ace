package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/voice"
)

// italySales are the demo users the done-when profile is for:
// UsageLocation IT (i % 10 == 4), Department Sales ((i / 10) % 5 == 0) and
// not voice-enabled (i % 3 != 0), as design.md's demo data says.
func italySales(n int) []string {
	var upns []string
	for i := range n {
		if i%10 == 4 && (i/10)%5 == 0 && i%3 != 0 {
			upns = append(upns, fmt.Sprintf("user%05d@%s", i, demoDomain))
		}
	}
	return upns
}

// attrInto stores the value of the attribute name of the first element
// sel matches in p.
func attrInto(p *string, sel, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.AttributeValue(css(sel), name)(ctx, t)
		*p = v.Value
		return err
	})
}

// settleApply moves the fake's clock past its number operations' delay
// until the operation id ends, so the apply finishes without the test
// waiting out Microsoft's (simulated) 3 seconds per number.
func settleApply(d *demo, id *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for {
			op, err := d.a.voice.Operation(ctx, "contoso", *id)
			if err != nil {
				return err
			}
			if op.State != voice.StateQueued && op.State != voice.StateRunning {
				return nil
			}
			d.a.fake.Advance(m365test.DefaultNumberOperationDelay + time.Second)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// TestBrowserVoicePlans walks issue 24's done-when in the demo portal at
// 1366x768, on the customer page's Voice tab: a profile over
// UsageLocation -eq 'IT' -and Department -eq 'Sales' -and
// EnterpriseVoiceEnabled -eq $false (a bad filter first: refused at its
// field) plans exactly the matching users and changes nothing at
// Microsoft; applying it (after a confirmation that says what it does)
// shows progress to completion and gives each user its own Milan number
// with the profile's policies; planning again finds nothing to change; a
// CSV with bad rows names each row's error.
func TestBrowserVoicePlans(t *testing.T) {
	// Not parallel: a big-demo test (see the note above TestBrowser).
	browser := findBrowser(t)
	if testing.Short() && os.Getenv("TENANTGATE_TEST_BROWSER") != "required" {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Second)
	defer cancel()
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
		sctx, cancel := context.WithTimeout(bctx, 600*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			dctx, cancel := context.WithTimeout(bctx, 5*time.Second)
			defer cancel()
			loc, _ := chromedp.Run(dctx, chromedp.Location())
			body, _ := chromedp.Run(dctx, chromedp.Text(css("body")))
			require.NoError(t, err, "%s\nat %s:\n%s", name, loc, body)
		}
	}
	voiceTab := d.base + "/?customer=contoso&tab=voice"

	link := d.invite(t)
	step("connect",
		chromedp.Navigate(link),
		heading("Connect Contoso Ltd to Tenantgate Demo Provider"),
		signInAtMicrosoft("plans-00-microsoft"),
		chromedp.Click(css(`#accept`)),
		heading("Connected"),
	)
	require.NoError(t, inventoryRead(ctx, d, 50_000))
	var selected, panelHidden string
	step("log in, the Voice tab",
		chromedp.Navigate(d.base+"/login"),
		chromedp.WaitVisible(css(`#token`)),
		chromedp.SetValue(css(`#token`), d.token),
		chromedp.Click(css(`#login`)),
		chromedp.WaitVisible(css(`#tab-connection[aria-selected="true"]`)),
		chromedp.Navigate(voiceTab),
		chromedp.WaitVisible(css(`#vt-total[data-value="50000"]`)),
		chromedp.WaitVisible(css(`#vt-ranges tr[data-range="Milan"]`)),
		attrInto(&selected, `#tab-voice`, "aria-selected"),
		into(&panelHidden, chromedp.Evaluate[string](`String(document.getElementById("panel-connection").hidden)`)),
		screenshot("plans-01-voice-tab"),
	)
	assert.Equal(t, "true", selected)
	assert.Equal(t, "true", panelHidden, "only the Voice tab's panel shows")

	// A profile with a filter that does not parse: refused at its field.
	var invalid, described, filterErr string
	step("a bad filter is refused at its field",
		chromedp.Click(css(`#profile-new`)),
		chromedp.WaitVisible(css(`#profile-form`)),
		chromedp.SetValue(css(`#pf-name`), "Italy Sales"),
		chromedp.SetValue(css(`#pf-range`), "Milan"),
		chromedp.SetValue(css(`#pf-vrp`), "VRP-IT"),
		chromedp.SetValue(css(`#pf-dp`), "DP-IT"),
		chromedp.SetValue(css(`#pf-filter`), "UsageLocation -eq"),
		chromedp.Click(css(`#profile-save`)),
		chromedp.WaitVisible(css(`#pf-filter-error`)),
		attrInto(&invalid, `#pf-filter`, "aria-invalid"),
		attrInto(&described, `#pf-filter`, "aria-describedby"),
		into(&filterErr, chromedp.Text(css(`#pf-filter-error`))),
		screenshot("plans-02-profile-bad-filter"),
	)
	assert.Equal(t, "true", invalid)
	assert.Equal(t, "pf-filter-error", described)
	assert.NotEmpty(t, filterErr)

	const filter = `UsageLocation -eq 'IT' -and Department -eq 'Sales' -and EnterpriseVoiceEnabled -eq $false`
	want := italySales(50_000)
	before := len(d.a.tenant.VoiceLog())
	var row, planWhat, planRead string
	var users, changes, unchanged, errs string
	step("save the profile and plan it",
		chromedp.SetValue(css(`#pf-filter`), filter),
		chromedp.Click(css(`#profile-save`)),
		chromedp.WaitVisible(css(`#profiles tr[data-profile="Italy Sales"]`)),
		into(&row, chromedp.Text(css(`#profiles tr[data-profile="Italy Sales"]`))),
		screenshot("plans-03-profile-saved"),
		chromedp.Click(css(`#profiles tr[data-profile="Italy Sales"] button`)),
		chromedp.WaitVisible(css(`#pc-users:not([data-value=""])`)),
		chromedp.WaitVisible(css(`#plan-items tbody tr`)),
		attrInto(&users, `#pc-users`, "data-value"),
		attrInto(&changes, `#pc-changes`, "data-value"),
		attrInto(&unchanged, `#pc-unchanged`, "data-value"),
		attrInto(&errs, `#pc-errors`, "data-value"),
		into(&planWhat, chromedp.Text(css(`#plan-what`))),
		into(&planRead, chromedp.Text(css(`#plan-read`))),
		screenshot("plans-04-plan"),
	)
	assert.Contains(t, row, "Next free of range Milan")
	assert.Contains(t, row, "OnlineVoiceRoutingPolicy VRP-IT")
	assert.Equal(t, fmt.Sprint(len(want)), users, "the plan's users: exactly the matching ones")
	assert.Equal(t, fmt.Sprint(len(want)), changes)
	assert.Equal(t, "0", unchanged)
	assert.Equal(t, "0", errs)
	assert.Contains(t, planWhat, "From profile Italy Sales")
	assert.Contains(t, planRead, "Read from Microsoft at ")
	assert.Len(t, d.a.tenant.VoiceLog(), before, "planning changed nothing at Microsoft")

	// The plan's users are exactly the matching ones.
	var planID string
	step("the plan's ID", into(&planID, chromedp.Evaluate[string](`document.body.dataset.plan`)))
	var plan struct {
		Items []struct {
			User   string `json:"user"`
			Status string `json:"status"`
		} `json:"items"`
	}
	d.api(t, "GET", "/api/customers/contoso/voice/plans/"+planID+"?limit=1000", "", http.StatusOK, &plan)
	var got []string
	for _, it := range plan.Items {
		got = append(got, strings.ToLower(it.User))
	}
	slices.Sort(got)
	assert.Equal(t, want, got, "the plan's users")

	// Apply, after a confirmation that says what it will do.
	var confirm, opID, mid string
	step("apply: the confirmation first",
		chromedp.Click(css(`#plan-apply`)),
		chromedp.WaitVisible(css(`#apply-confirm`)),
		into(&confirm, chromedp.Text(css(`#apply-confirm`))),
		screenshot("plans-05-apply-confirm"),
	)
	n := fmt.Sprint(len(want))
	assert.Contains(t, confirm, "Applying this plan changes "+n+" users of contoso at Microsoft, starting at once:")
	assert.Contains(t, confirm, "Assign a number from range Milan: "+n+" users")
	assert.Contains(t, confirm, "Set OnlineVoiceRoutingPolicy to VRP-IT: "+n+" users")
	assert.Len(t, d.a.tenant.VoiceLog(), before, "nothing changes before the confirmation")
	step("apply: progress to completion",
		chromedp.Click(css(`#apply-yes`)),
		chromedp.WaitVisible(css(`#ap-users tbody tr`)),
		into(&opID, chromedp.Evaluate[string](`document.body.dataset.operation`)),
		chromedp.WaitVisible(css(`#ap-cancel`)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			d.a.fake.Advance(m365test.DefaultNumberOperationDelay + time.Second)
			return nil
		}),
		chromedp.WaitVisible(css(`#ap-done:not([data-value="0"])`)),
		into(&mid, chromedp.Text(css(`#ap-summary`))),
		screenshot("plans-06-apply-running"),
		chromedp.Click(css(`#ap-cancel`)),
		chromedp.WaitVisible(css(`#ap-cancel-confirm`)),
		screenshot("plans-07-cancel-confirm"),
		chromedp.Click(css(`#ap-cancel-no`)),
		chromedp.WaitNotVisible(css(`#ap-cancel-confirm`)),
		settleApply(d, &opID),
		chromedp.WaitVisible(css(`#ap-state[data-state="succeeded"]`)),
		chromedp.WaitVisible(css(`#ap-done[data-value="`+n+`"]`)),
		screenshot("plans-08-apply-done"),
	)
	assert.Contains(t, mid, "remaining")
	var opRow, opHref string
	step("the apply among the customer's operations",
		chromedp.Navigate(d.base+"/voice?customer=contoso"),
		chromedp.WaitVisible(css(`#ops tbody tr[data-state="succeeded"] a`)),
		into(&opRow, chromedp.Text(css(`#ops tbody tr`))),
		attrInto(&opHref, `#ops tbody tr a`, "href"),
	)
	assert.Contains(t, opRow, "Apply a plan")
	assert.Contains(t, opRow, n+" users")
	assert.Equal(t, "/voice/operation?customer=contoso&id="+opID, opHref)

	// Microsoft holds what the profile says: each user its own Milan
	// number, VRP-IT and DP-IT.
	numbers := map[string]string{}
	policies := map[string]int{}
	for _, e := range d.a.tenant.VoiceLog()[before:] {
		switch e.Kind {
		case "assignNumber":
			assert.True(t, strings.HasPrefix(e.TelephoneNumber, "+3902"), e.TelephoneNumber)
			_, twice := numbers[e.TelephoneNumber]
			assert.False(t, twice, "number %s assigned twice", e.TelephoneNumber)
			numbers[e.TelephoneNumber] = e.UserID
		case "assignPolicy":
			policies[e.PolicyType+" "+e.PolicyName]++
		}
	}
	assert.Len(t, numbers, len(want), "one number per user")
	assert.Equal(t, len(want), policies["OnlineVoiceRoutingPolicy VRP-IT"])
	assert.Equal(t, len(want), policies["TenantDialPlan DP-IT"])
	after := len(d.a.tenant.VoiceLog())
	var uv struct {
		Ready bool `json:"ready"`
	}
	d.api(t, "GET", "/api/customers/contoso/users/"+want[0]+"/voice", "", http.StatusOK, &uv)
	assert.True(t, uv.Ready, "%s is a ready voice user", want[0])

	// Planning again finds nothing to change: the users are voice-enabled
	// now, so the profile's filter matches none of them.
	var nothing string
	step("plan again: nothing to change",
		chromedp.Navigate(d.base+"/voice/operation?customer=contoso&id="+opID+"&plan="+planID),
		chromedp.WaitVisible(css(`#ap-state[data-state="succeeded"]`)),
		chromedp.Click(css(`#ap-plan`)),
		chromedp.WaitVisible(css(`#plan-again`)),
		chromedp.WaitVisible(css(`#plan-operation`)),
		chromedp.Click(css(`#plan-again`)),
		chromedp.WaitVisible(css(`#plan-nothing`)),
		attrInto(&changes, `#pc-changes`, "data-value"),
		attrInto(&users, `#pc-users`, "data-value"),
		into(&nothing, chromedp.Text(css(`#plan-nothing`))),
		screenshot("plans-09-plan-again"),
	)
	assert.Equal(t, "0", changes)
	assert.Equal(t, "0", users)
	assert.Equal(t, "Nothing to change: no user matches.", nothing)
	assert.Len(t, d.a.tenant.VoiceLog(), after, "planning again changed nothing")

	// A CSV with bad rows: each row's error in words.
	csv := filepath.Join(t.TempDir(), "numbers.csv")
	require.NoError(t, os.WriteFile(csv, []byte("user,number,range,licenses,OnlineVoiceRoutingPolicy\n"+
		"nobody@"+demoDomain+",next,Milan,auto,VRP-IT\n"+
		"user00001@"+demoDomain+",+39020000024,,auto,VRP-IT\n"+
		"user00002@"+demoDomain+",12ab,,auto,VRP-IT\n"+
		"user00007@"+demoDomain+",next,Milan,auto,VRP-XX\n"+
		"user00010@"+demoDomain+",next,Milan,auto,VRP-IT\n"), 0o644))
	var errRows, codes string
	step("a CSV with bad rows",
		chromedp.Navigate(voiceTab),
		chromedp.WaitVisible(css(`#csv-file`)),
		chromedp.SetUploadFiles(css(`#csv-file`), []string{csv}),
		chromedp.Click(css(`#plan-csv`)),
		chromedp.WaitVisible(css(`#pc-errors[data-value="4"]`)),
		attrInto(&changes, `#pc-changes`, "data-value"),
		chromedp.Click(css(`#plan-items-card .seg button[data-status="error"]`)),
		chromedp.WaitNotPresent(css(`#plan-items tbody tr[data-status="change"]`)),
		into(&errRows, chromedp.Text(css(`#plan-items tbody`))),
		into(&codes, chromedp.Evaluate[string](`[...document.querySelectorAll("#plan-items tbody tr")].map((tr) => tr.cells[0].textContent + ":" + tr.dataset.code).join(" ")`)),
		screenshot("plans-10-csv-errors"),
	)
	assert.Equal(t, "2:unknownUser 3:numberTaken 4:invalid 5:unknownPolicy", codes, "each bad row's error")
	assert.Equal(t, "1", changes, "the one good row")
	for _, want := range []string{"nobody@", "+39020000024", "12ab", "VRP-XX"} {
		assert.Contains(t, errRows, want)
	}
	t.Logf("CSV errors:\n%s", errRows)

	// The tabs move with the arrow keys (WAI-ARIA tabs).
	var quality, voiceSel string
	step("tabs by keyboard",
		chromedp.Navigate(voiceTab),
		chromedp.WaitVisible(css(`#profiles tr[data-profile="Italy Sales"]`)),
		chromedp.SendKeys(css(`#tab-voice`), kb.ArrowRight),
		chromedp.WaitVisible(css(`#panel-quality`)),
		chromedp.WaitNotVisible(css(`#panel-voice`)),
		attrInto(&quality, `#tab-quality`, "aria-selected"),
		attrInto(&voiceSel, `#tab-voice`, "aria-selected"),
	)
	assert.Equal(t, "true", quality)
	assert.Equal(t, "false", voiceSel)

	// Activity pages back past the newest ten.
	var audit struct {
		Entries []struct{} `json:"entries"`
	}
	d.api(t, "GET", "/api/customers/contoso/audit?limit=11", "", http.StatusOK, &audit)
	require.Len(t, audit.Entries, 11, "more than a page of audit entries")
	var rows int
	step("activity: older entries",
		chromedp.Navigate(d.base+"/?customer=contoso&tab=activity"),
		chromedp.WaitVisible(css(`#audit tbody tr:nth-child(10)`)),
		chromedp.Click(css(`#audit-older`)),
		chromedp.WaitVisible(css(`#audit tbody tr:nth-child(11)`)),
		into(&rows, chromedp.Evaluate[int](`document.querySelectorAll("#audit tbody tr").length`)),
		chromedp.ScrollIntoView(css(`#audit-older`)),
		screenshot("plans-11-activity-older"),
	)
	assert.Greater(t, rows, 10)

	// A viewer reads the Voice tab without the buttons it cannot use.
	_, viewer, err := d.a.apiTokens.create(ctx, "portal-viewer", httpapi.RoleViewer, time.Now().Add(time.Hour), "test")
	require.NoError(t, err)
	var role string
	var offered int
	step("a viewer is offered no change",
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			return t.Call(ctx, "Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Authorization": "Bearer " + viewer}}, nil)
		}),
		chromedp.Navigate(voiceTab),
		chromedp.WaitVisible(css(`#profiles tr[data-profile="Italy Sales"]`)),
		into(&role, chromedp.Evaluate[string](`document.querySelector("nav[data-role]").dataset.role`)),
		into(&offered, chromedp.Evaluate[int](`[...document.querySelectorAll("button[data-needs]")].filter((b) => b.offsetParent !== null).length`)),
		chromedp.WaitVisible(css(`#plan-viewer-note`)),
		screenshot("plans-12-viewer"),
	)
	assert.Equal(t, "viewer", role)
	assert.Zero(t, offered, "buttons a viewer cannot use are not shown")
}
