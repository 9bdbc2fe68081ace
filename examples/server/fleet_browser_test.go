package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browserAt starts Chromium at 1366x768 (the size the portal is checked
// at) and returns a step runner that fails the test with the page's text.
func browserAt(t *testing.T, timeout time.Duration) (step func(name string, actions ...chromedp.Action[chromedp.Void])) {
	t.Helper()
	browser := findBrowser(t)
	if testing.Short() && os.Getenv("TENANTGATE_TEST_BROWSER") != "required" {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 768),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	require.NoError(t, chromedp.Do(bctx), "starting %s", browser)
	return func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			dctx, cancel := context.WithTimeout(bctx, 5*time.Second)
			defer cancel()
			loc, _ := chromedp.Run(dctx, chromedp.Location())
			body, _ := chromedp.Run(dctx, chromedp.Text(css("body")))
			require.NoError(t, err, "%s\nat %s:\n%s", name, loc, body)
		}
	}
}

// logIn signs in to the portal with the admin token.
func (d *demo) logIn() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(d.base+"/login"),
		chromedp.WaitVisible(css(`#token`)),
		chromedp.SetValue(css(`#token`), d.token),
		chromedp.Click(css(`#login`)),
		chromedp.WaitVisible(css(`#nav-customers`)),
	)
}

// TestBrowserAddCustomerSafely: Add customer with a taken ID says so under
// the ID field and leaves that customer on its tenant (it silently
// repointed it before); a mistyped customer in the address is a 404 page,
// not an editable blank one.
func TestBrowserAddCustomerSafely(t *testing.T) {
	t.Parallel()
	step := browserAt(t, 120*time.Second)
	d := startDemo(t, t.TempDir())
	var before, after map[string]any
	d.api(t, "GET", "/api/customers/fabrikam/m365", "", http.StatusOK, &before)

	var errText string
	var invalid, describedBy chromedp.AttributeResult
	step("add a customer whose ID is taken",
		d.logIn(),
		chromedp.Navigate(d.base+"/customers"),
		chromedp.WaitVisible(css(`#fleet tr[data-customer="fabrikam"]`)),
		chromedp.SetValue(css(`#new-customer`), "fabrikam"),
		chromedp.SetValue(css(`#new-tenant`), "woodgrove.onmicrosoft.com"),
		chromedp.Click(css(`#add`)),
		chromedp.WaitVisible(css(`#new-customer-error`)),
		into(&errText, chromedp.Text(css(`#new-customer-error`))),
		into(&invalid, chromedp.AttributeValue(css(`#new-customer`), "aria-invalid")),
		into(&describedBy, chromedp.AttributeValue(css(`#new-customer`), "aria-describedby")),
		chromedp.ScrollIntoView(css(`#add-card`)),
		screenshot("26-add-customer-taken"),
	)
	assert.Contains(t, errText, "taken")
	assert.Equal(t, "true", invalid.Value)
	assert.Equal(t, "new-customer-error", describedBy.Value)
	d.api(t, "GET", "/api/customers/fabrikam/m365", "", http.StatusOK, &after)
	assert.Equal(t, before["tenant"], after["tenant"], "the taken ID was repointed")
	assert.Equal(t, before["version"], after["version"])

	var heading string
	step("a mistyped customer",
		chromedp.Navigate(d.base+"/?customer=typo"),
		chromedp.WaitVisible(css(`#missing-customer`)),
		into(&heading, chromedp.Text(css(`h1`))),
		screenshot("26-customer-typo"),
	)
	assert.Equal(t, "No such customer", heading)
	req, err := http.NewRequestWithContext(t.Context(), "GET", d.base+"/?customer=typo", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestBrowserFleetAt300: with 300 customers the Customers page finds one
// by name, sorts by state, counts each state, keeps its view in the URL
// and sends invitations to a selection with a progress view.
func TestBrowserFleetAt300(t *testing.T) {
	t.Parallel()
	step := browserAt(t, 240*time.Second)
	d := startDemo(t, t.TempDir())
	for i := range 300 {
		id := fmt.Sprintf("t%03d", i)
		d.api(t, "POST", "/api/customers", fmt.Sprintf(`{"customer":%q,"name":"Tenant %03d Ltd","tenant":"%s.onmicrosoft.com","authMode":"token","serviceAccount":"admin@%s.onmicrosoft.com"}`, id, i, id, id), http.StatusCreated, nil)
	}
	var rows []string
	var pageText, url1, firstState string
	step("find one by name",
		d.logIn(),
		chromedp.Navigate(d.base+"/customers"),
		chromedp.WaitVisible(css(`#fleet tr[data-customer="t000"]`)),
		into(&pageText, chromedp.Text(css(`#fleet-page`))),
		chromedp.SendKeys(css(`#fleet-search`), "Tenant 217"),
		chromedp.WaitNotPresent(css(`#fleet tr[data-customer="t000"]`)),
		into(&rows, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#fleet tbody tr")).map(r => r.dataset.customer)`)),
		into(&url1, chromedp.Evaluate[string](`location.search`)),
		viewportShot("26-fleet-search"),
	)
	assert.Equal(t, "Page 1 of 4 \u00b7 304 customers", pageText)
	assert.Equal(t, []string{"t217"}, rows)
	assert.Equal(t, "?q=Tenant+217", url1)

	var counts string
	step("sort by state",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("fleet-search"); s.value = ""; s.dispatchEvent(new Event("input")); })()`),
		chromedp.Click(css(`#sort-state`)),
		chromedp.WaitVisible(css(`th[data-sort="state"][aria-sort="ascending"]`)),
		into(&firstState, chromedp.Evaluate[string](`document.querySelector("#fleet tbody tr .badge").dataset.state`)),
		into(&counts, chromedp.Text(css(`#state-counts`))),
		viewportShot("26-fleet-sorted"),
	)
	// northwind (consent required) sorts first: the states needing a
	// person come before the healthy ones.
	assert.Equal(t, "consentRequired", firstState)
	assert.Contains(t, counts, "All 304")

	var state string
	step("send invitations to a selection",
		chromedp.Click(css(`#sort-name`)),
		chromedp.SendKeys(css(`#fleet-search`), "Tenant 01"),
		chromedp.WaitNotPresent(css(`#fleet tr[data-customer="t000"]`)),
		chromedp.Click(css(`#fleet tr[data-customer="t010"] input.pick`)),
		chromedp.Click(css(`#fleet tr[data-customer="t011"] input.pick`)),
		chromedp.Click(css(`#fleet tr[data-customer="t012"] input.pick`)),
		chromedp.Click(css(`#bulk-invite`)),
		chromedp.WaitVisible(css(`#bulk-card[data-finished="true"]`)),
		into(&state, chromedp.Text(css(`#bulk-state`))),
		chromedp.ScrollIntoView(css(`#bulk-card`)),
		viewportShot("26-fleet-bulk-invite"),
	)
	assert.Equal(t, "3 of 3 done", state)
	var out struct {
		Emails []struct {
			To string `json:"to"`
		} `json:"emails"`
	}
	d.api(t, "GET", "/dev/outbox", "", http.StatusOK, &out)
	var to []string
	for _, e := range out.Emails {
		to = append(to, e.To)
	}
	for _, want := range []string{"admin@t010.onmicrosoft.com", "admin@t011.onmicrosoft.com", "admin@t012.onmicrosoft.com"} {
		assert.Contains(t, to, want)
	}
}

// viewportShot saves what the 1366x768 window shows to
// TENANTGATE_SCREENSHOTS/name.png when that directory is set.
func viewportShot(name string) chromedp.Action[chromedp.Void] {
	dir := os.Getenv("TENANTGATE_SCREENSHOTS")
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if dir == "" {
			return nil
		}
		buf, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}
