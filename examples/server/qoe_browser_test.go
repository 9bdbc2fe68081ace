package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserQoE: in the portal, "Place 100 demo calls" makes the fake
// place 100 calls; the QoE panel then reads 100 calls, 24 poor (10
// jitter, 10 packet loss, 4 round trip), draws today's poor rate (24%) in
// its chart and lists the 24 poor calls with their reasons.
func TestBrowserQoE(t *testing.T) {
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
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 40*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			dctx, cancel := context.WithTimeout(bctx, 5*time.Second)
			defer cancel()
			body, _ := chromedp.Run(dctx, chromedp.Text(css("body")))
			t.Fatalf("%s: %v\n%s", name, err, body)
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
	if poor != "24" || jitter != "10" || loss != "10" || rtt != "4" || rate != "24%" {
		t.Errorf("panel: poor %s, jitter %s, loss %s, rtt %s, rate %s", poor, jitter, loss, rtt, rate)
	}
	if rows != "24" || strings.Count(reasons, "jitter") != 10 || strings.Count(reasons, "packet loss") != 10 || strings.Count(reasons, "round trip") != 4 {
		t.Errorf("poor calls table: %s rows, %q", rows, reasons)
	}
	if !strings.HasPrefix(bar, "24/") || !strings.Contains(bar, "24%") {
		t.Errorf("today's bar: %q", bar)
	}
}
