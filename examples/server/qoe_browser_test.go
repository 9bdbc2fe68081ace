package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserQoE: in the portal, "Place 100 demo calls" makes the fake
// place 100 calls; the QoE panel then reads 100 calls, 24 poor (10
// jitter, 10 packet loss, 4 round trip), draws today's poor rate (24%) in
// its chart and lists the 24 poor calls with their reasons.
func TestBrowserQoE(t *testing.T) {
	t.Parallel()
	browser := findBrowser(t)
	if testing.Short() && os.Getenv("TENANTGATE_TEST_BROWSER") != "required" {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	d := startDemo(t, t.TempDir(), "-demo-users", "1000")
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	// Start the browser on bctx, so it outlives each step's context.
	require.NoError(t, chromedp.Do(bctx), "starting %s", browser)
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 40*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			dctx, cancel := context.WithTimeout(bctx, 5*time.Second)
			defer cancel()
			body, _ := chromedp.Run(dctx, chromedp.Text(css("body")))
			require.NoError(t, err, "%s\n%s", name, body)
		}
	}
	var poor, jitter, loss, rtt, rate, rows, reasons, bar string
	step("log in",
		chromedp.Navigate(d.base+"/login"),
		chromedp.WaitVisible(css(`#token`)),
		chromedp.SetValue(css(`#token`), d.token),
		chromedp.Click(css(`#login`)),
		chromedp.WaitVisible(css(`#status-state:not([data-state=""])`)),
		chromedp.Click(css(`#tab-quality`)),
		// The script has loaded the panel (and bound the button).
		chromedp.WaitVisible(css(`#qoe-calls[data-value="0"]`)),
		chromedp.WaitVisible(css(`#qoe-poor-calls tbody tr`)),
		chromedp.WaitVisible(css(`#qoe-pstn tbody tr`)),
		chromedp.ScrollIntoView(css(`#qoe-place`)),
	)
	step("place 100 calls",
		chromedp.Click(css(`#qoe-place`)),
		chromedp.WaitVisible(css(`#qoe-calls[data-value="100"]`)),
		chromedp.WaitVisible(css(`#qoe-sub-state[data-state="active"]`)),
		into(&poor, chromedp.Text(css(`#qoe-poor`))),
		into(&jitter, chromedp.Text(css(`#qoe-jitter`))),
		into(&loss, chromedp.Text(css(`#qoe-loss`))),
		into(&rtt, chromedp.Text(css(`#qoe-rtt`))),
		into(&rate, chromedp.Text(css(`#qoe-rate`))),
		chromedp.WaitVisible(css(`#qoe-poor-calls tbody tr:nth-child(24)`)),
		chromedp.WaitVisible(css(`#qoe-pstn tbody tr:nth-child(2)`)),
		into(&rows, chromedp.Evaluate[string](`String(document.querySelectorAll("#qoe-poor-calls tbody tr").length)`)),
		into(&reasons, chromedp.Text(css(`#qoe-poor-calls tbody`))),
		into(&bar, chromedp.Evaluate[string](`(() => { const g = document.querySelector('#qoe-chart svg g.day[data-calls="100"]'); return g ? g.dataset.poor + "/" + g.textContent : ""; })()`)),
		screenshot("10-qoe"),
	)
	assert.Equal(t, "24", poor, "panel: poor")
	assert.Equal(t, "10", jitter, "panel: jitter")
	assert.Equal(t, "10", loss, "panel: packet loss")
	assert.Equal(t, "4", rtt, "panel: round trip")
	assert.Equal(t, "24%", rate, "panel: rate")
	assert.Equal(t, "24", rows, "poor calls table: rows")
	assert.Equal(t, 10, strings.Count(reasons, "jitter"), "poor calls table: jitter in %q", reasons)
	assert.Equal(t, 10, strings.Count(reasons, "packet loss"), "poor calls table: packet loss in %q", reasons)
	assert.Equal(t, 4, strings.Count(reasons, "round trip"), "poor calls table: round trip in %q", reasons)
	assert.True(t, strings.HasPrefix(bar, "24/"), "today's bar %q: 24 poor", bar)
	assert.Contains(t, bar, "24%", "today's bar")
}
