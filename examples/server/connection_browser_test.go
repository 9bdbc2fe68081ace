package main

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestBrowserNorthwindConsent walks issue 26's northwind, an app
// registration customer whose app has no admin consent, at 1366x768:
// the page names the customer and switches to another by name; it shows
// Consent required (never Connected while Graph refuses, whatever its
// sync and token requests did), only the buttons of its mode; a refused
// save marks its field where the action happened; Grant admin consent
// gives a copyable link of the customer's own app; the consent callback
// answers at once and its page follows the confirmation; Validate then
// proves the connection. Times read in one format, in UTC.
func TestBrowserNorthwindConsent(t *testing.T) {
	t.Parallel()
	step := browserAt(t, 240*time.Second)
	d := startDemo(t, t.TempDir(), "-consent-wait", "1s")
	const nwApp = "a9d2e8f1-3c4b-4d5e-9f60-7a8b9c0d1e2f"

	// Northwind's first check has run (its scheduled sync meets Graph's
	// 403 and gets tokens): the state is and stays consentRequired.
	var st struct {
		State     string `json:"state"`
		LastError *struct {
			Op      string `json:"op"`
			Message string `json:"message"`
		} `json:"lastError"`
	}
	require.Eventually(t, func() bool {
		d.api(t, "GET", "/api/customers/northwind/m365/status", "", http.StatusOK, &st)
		return st.State == "consentRequired"
	}, 60*time.Second, 200*time.Millisecond)

	var name, title, badge, lastValidation string
	var hiddenInvite, hiddenRefresh, hiddenSwitch bool
	var consentLabel string
	step("northwind's page",
		d.logIn(),
		chromedp.Navigate(d.base+"/?customer=northwind"),
		chromedp.WaitVisible(css(`#status-state[data-state="consentRequired"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1/span[@id="customer-name" and normalize-space()="Northwind Traders"]`)),
		into(&name, chromedp.Text(css(`#customer-name`))),
		into(&title, chromedp.Title()),
		into(&badge, chromedp.Text(css(`#status-state`))),
		into(&hiddenInvite, chromedp.Evaluate[bool](`document.getElementById("send-invitation").hidden`)),
		into(&hiddenRefresh, chromedp.Evaluate[bool](`document.getElementById("refresh-token").hidden`)),
		into(&hiddenSwitch, chromedp.Evaluate[bool](`document.getElementById("switch-to-token").hidden`)),
		into(&consentLabel, chromedp.Text(css(`#grant-consent`))),
		chromedp.WaitVisible(chromedp.Search(`//dt[normalize-space()="Last validation"]/following-sibling::dd[1]`)),
		into(&lastValidation, chromedp.Text(chromedp.Search(`//dt[normalize-space()="Last validation"]/following-sibling::dd[1]`))),
		viewportShot("26a-northwind-consent-required"),
	)
	assert.Equal(t, "Northwind Traders", name)
	assert.Contains(t, title, "Northwind Traders")
	assert.Equal(t, "Consent required", badge)
	assert.True(t, hiddenInvite, "Send Invitation is for token customers")
	assert.True(t, hiddenRefresh, "a new sign-in link is for token customers")
	assert.False(t, hiddenSwitch)
	assert.Equal(t, "Grant admin consent to the customer's app", consentLabel)
	assert.Regexp(t, regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d UTC`), lastValidation, "one date format, with its time zone")
	d.api(t, "GET", "/api/customers/northwind/m365/status", "", http.StatusOK, &st)
	assert.Equal(t, "consentRequired", st.State, "no Connected while Graph refuses")

	var invalid, describedBy chromedp.AttributeResult
	var fieldErr string
	var cleared bool
	step("a refused save is shown at its field",
		into(&cleared, chromedp.Evaluate[bool](`(document.getElementById("client-id").value = "", true)`)),
		chromedp.Click(css(`#save-settings`)),
		chromedp.WaitVisible(css(`#client-id-error`)),
		into(&fieldErr, chromedp.Text(css(`#client-id-error`))),
		into(&invalid, chromedp.AttributeValue(css(`#client-id`), "aria-invalid")),
		into(&describedBy, chromedp.AttributeValue(css(`#client-id`), "aria-describedby")),
		chromedp.WaitVisible(css(`#settings-message.error`)),
		viewportShot("26a-field-error"),
	)
	assert.NotEmpty(t, fieldErr)
	assert.Equal(t, "true", invalid.Value)
	assert.Equal(t, "client-id-error", describedBy.Value)

	var clientID, shareURL, about string
	step("grant admin consent names the customer's app",
		chromedp.Navigate(d.base+"/?customer=northwind"),
		chromedp.WaitVisible(css(`#status-state:not([data-state=""])`)), // the page's script is running
		chromedp.WaitVisible(css(`#grant-consent`)),
		chromedp.Click(css(`#grant-consent`)),
		chromedp.WaitVisible(css(`#consent-panel[data-customer-app="true"]`)),
		into(&clientID, chromedp.Evaluate[string](`document.getElementById("consent-panel").dataset.clientId`)),
		into(&shareURL, chromedp.Value(css(`#consent-share-url`))),
		into(&about, chromedp.Text(css(`#consent-about`))),
		chromedp.ScrollIntoView(css(`#consent-panel`)),
		viewportShot("26a-consent-link"),
	)
	assert.Equal(t, nwApp, clientID)
	assert.Contains(t, about, nwApp)
	u, err := url.Parse(shareURL)
	require.NoError(t, err)
	assert.Equal(t, nwApp, u.Query().Get("client_id"), "the link consents the customer's app, not the provider's")

	var progress string
	step("the customer's administrator grants it",
		chromedp.Click(css(`#consent-open`)),
		chromedp.WaitVisible(css(`#accept`)),
		chromedp.SetValue(css(`#username`), "admin@northwind.onmicrosoft.com"),
		chromedp.SetValue(css(`#password`), m365test.DefaultPassword),
		chromedp.Click(css(`#accept`)),
		chromedp.WaitVisible(css(`#consent-progress`)),
		into(&progress, chromedp.Evaluate[string](`document.getElementById("consent-progress").dataset.progress`)),
		screenshot("26a-consent-confirming"),
	)
	assert.Equal(t, "confirming", progress, "the callback answers at once, before Microsoft has propagated the grant")

	// Microsoft propagates the grant; Validate proves the connection.
	d.a.fake.Advance(m365test.DefaultConsentReplicationDelay)
	step("validate proves the connection",
		chromedp.Navigate(d.base+"/?customer=northwind"),
		chromedp.WaitVisible(css(`#status-state:not([data-state=""])`)), // the page's script is running
		chromedp.WaitVisible(css(`#validate`)),
		chromedp.Click(css(`#validate`)),
		chromedp.WaitVisible(css(`#validate-result[data-ok="true"]`)),
		chromedp.WaitVisible(css(`#status-state[data-state="connected"]`)),
		viewportShot("26a-northwind-connected"),
	)
	st.LastError = nil // json leaves a field the answer omits as it was
	d.api(t, "GET", "/api/customers/northwind/m365/status", "", http.StatusOK, &st)
	assert.Equal(t, "connected", st.State)
	assert.Nil(t, st.LastError, "the stale error clears once the connection is proven")

	var loc string
	step("switch to another customer by name",
		chromedp.SendKeys(css(`#switch-customer`), "Fabrikam"),
		chromedp.Click(css(`#switch-go`)),
		chromedp.WaitVisible(chromedp.Search(`//h1/span[@id="customer-name" and normalize-space()="Fabrikam Inc"]`)),
		into(&loc, chromedp.Location()),
	)
	assert.Contains(t, loc, "customer=fabrikam")
}
