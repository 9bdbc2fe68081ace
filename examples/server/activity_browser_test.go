package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
)

// TestBrowserActivity walks the Activity pages in Chromium at 1366x768:
// a webhook receiver that answers 410 Gone fails the connection's
// delivery at once; the deliveries page filtered to failed ones (filters
// in the URL) offers Replay, which says what it will do before it sends
// and then queues it again; the replay is in the audit trail (filtered by
// action); the events page lists the customer's events; and the customer
// page's Activity links to these pages.
func TestBrowserActivity(t *testing.T) {
	t.Parallel()
	step := browserAt(t, 240*time.Second)
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }))
	t.Cleanup(gone.Close)
	d := startDemo(t, t.TempDir(), "-demo-users", "10", "-webhook-url", gone.URL+"/hooks", "-webhook-secret", events.GenerateSecret())
	connectWithoutBrowser(t, d)
	var failed struct {
		Deliveries []events.Delivery `json:"deliveries"`
	}
	require.Eventually(t, func() bool {
		d.api(t, "GET", "/api/webhooks/deliveries?customer=contoso&state=failed", "", http.StatusOK, &failed)
		return len(failed.Deliveries) > 0
	}, 60*time.Second, 100*time.Millisecond, "a delivery to the 410 endpoint fails")

	var confirm, message, auditText, eventsText string
	var moreAudit chromedp.AttributeResult
	step("failed deliveries, replay confirmed",
		d.logIn(),
		chromedp.Navigate(d.base+"/activity/deliveries?customer=contoso&state=failed"),
		chromedp.WaitVisible(css(`#records tr[data-state="failed"] button.replay`)),
		screenshot("30-activity-deliveries-failed"),
		chromedp.Click(css(`#records tr[data-state="failed"] button.replay`)),
		chromedp.WaitVisible(css(`#replay-confirm`)),
		into(&confirm, chromedp.Text(css(`#replay-what`))),
		screenshot("31-activity-replay-confirm"),
		chromedp.Click(css(`#replay-yes`)),
		chromedp.WaitVisible(css(`#message.ok`)),
		into(&message, chromedp.Text(css(`#message`))),
		screenshot("32-activity-replayed"),
	)
	assert.Contains(t, confirm, "is sent again to the webhook endpoint")
	assert.Contains(t, confirm, "recorded in the audit trail")
	assert.Contains(t, message, "is queued for endpoint")

	step("the replay in the audit trail, the events, the customer page's links",
		chromedp.Navigate(d.base+"/activity/audit?action=webhooks.replay"),
		chromedp.WaitVisible(css(`#records tbody tr[data-outcome="succeeded"]`)),
		into(&auditText, chromedp.Text(css(`#records`))),
		screenshot("33-activity-audit"),
		chromedp.Navigate(d.base+"/activity/events?customer=contoso"),
		chromedp.WaitVisible(css(`#records tbody tr[data-type="connection.connected"]`)),
		into(&eventsText, chromedp.Text(css(`#records`))),
		screenshot("34-activity-events"),
		chromedp.Navigate(d.base+"/?customer=contoso&tab=activity"),
		chromedp.WaitVisible(css(`#more-audit`)),
		into(&moreAudit, chromedp.AttributeValue(css(`#more-audit`), "href")),
	)
	assert.Contains(t, auditText, "webhooks.replay")
	assert.Contains(t, auditText, " UTC")
	assert.True(t, strings.Contains(eventsText, "connection.connected"), eventsText)
	assert.Equal(t, "/activity/audit?customer=contoso", moreAudit.Value)
}
