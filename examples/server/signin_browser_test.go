package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// signInAs signs a demo technician in with Microsoft on the login page:
// the fake Microsoft sign-in page, as a person fills it.
func (d *demo) signInAs(upn string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(d.base+"/login"),
		chromedp.WaitVisible(css(`#signin-microsoft`)),
		chromedp.Click(css(`#signin-microsoft`)),
		chromedp.WaitVisible(css(`#username`)),
		chromedp.SetValue(css(`#username`), upn),
		chromedp.SetValue(css(`#password`), m365test.DefaultPassword),
		chromedp.Click(css(`#accept`)),
	)
}

// TestBrowserSignInAndTokens walks the technicians' sign-in and the API
// token page in Chromium at 1366x768: the sign-in page, an admin signing
// in with Microsoft, creating an operator token shown once and used by a
// script, revoking it after saying what that does; a viewer sees no
// token page and no admin links.
func TestBrowserSignInAndTokens(t *testing.T) {
	t.Parallel()
	step := browserAt(t, 150*time.Second)
	d := startDemo(t, t.TempDir(), "-demo-users", "10", "-demo-fleet-users", "5")
	var who, value, text string
	var viewerLinks int
	step("the sign-in page",
		chromedp.Navigate(d.base+"/"),
		heading("Sign in"),
		chromedp.WaitVisible(css(`#demo-technicians`)),
		screenshot("signin-page"),
	)
	step("an admin signs in with Microsoft",
		chromedp.Navigate(d.base+"/login"),
		chromedp.WaitVisible(css(`#signin-microsoft`)),
		chromedp.Click(css(`#signin-microsoft`)),
		chromedp.WaitVisible(css(`#username`)),
		chromedp.SetValue(css(`#username`), "ada.admin@"+demoProviderDomain),
		chromedp.SetValue(css(`#password`), m365test.DefaultPassword),
		screenshot("signin-microsoft"),
		chromedp.Click(css(`#accept`)),
		chromedp.WaitVisible(css(`#who`)),
		into(&who, chromedp.Text(css(`#who`))),
		screenshot("signin-admin-signed-in"),
	)
	assert.Equal(t, "Ada Admin · admin", strings.TrimSpace(who))

	step("create an operator token",
		chromedp.Click(css(`#nav-tokens`)),
		heading("API tokens"),
		chromedp.WaitVisible(css(`#no-tokens`)),
		screenshot("tokens-empty"),
		chromedp.SetValue(css(`#token-name`), "nightly-sync"),
		chromedp.SetValue(css(`#token-role`), "operator"),
		chromedp.SetValue(css(`#token-days`), "30"),
		chromedp.Click(css(`#create-token-button`)),
		chromedp.WaitVisible(css(`#new-token-value`)),
		into(&value, chromedp.Value(css(`#new-token-value`))),
		screenshot("tokens-created"),
	)
	require.True(t, strings.HasPrefix(value, apiTokenPrefix), value)
	status, _ := send(t, http.DefaultClient, "POST", d.base+"/api/customers/contoso/m365/validate", value, "")
	assert.Equal(t, http.StatusOK, status, "the script's token validates (operator)")
	status, _ = send(t, http.DefaultClient, "DELETE", d.base+"/api/customers/contoso", value, "")
	assert.Equal(t, http.StatusForbidden, status, "but does not offboard (admin)")

	step("the token is listed, shown once, and revoked after saying what that does",
		chromedp.Navigate(d.base+"/tokens"),
		chromedp.WaitVisible(css(`#tokens-table`)),
		into(&text, chromedp.Text(css(`main`))),
	)
	assert.NotContains(t, text, value, "shown once")
	assert.Contains(t, text, "nightly-sync")
	assert.Contains(t, text, "Ada Admin")
	step("revoke",
		chromedp.Click(css(`tr[data-token="nightly-sync"] details.confirm summary`)),
		chromedp.WaitVisible(chromedp.Search(`//button[normalize-space()="Revoke nightly-sync"]`)),
		screenshot("tokens-revoke-confirm"),
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Revoke nightly-sync"]`)),
		chromedp.WaitVisible(css(`#tokens-notice`)),
		into(&text, chromedp.Text(css(`#tokens-table`))),
		screenshot("tokens-revoked"),
	)
	assert.Contains(t, text, "revoked")
	status, _ = send(t, http.DefaultClient, "GET", d.base+"/api/customers", value, "")
	assert.Equal(t, http.StatusUnauthorized, status, "revoked at once")

	step("a viewer sees no admin or operator links and no token page",
		chromedp.Click(css(`#logout`)),
		heading("Sign in"),
		d.signInAs("vera.viewer@"+demoProviderDomain),
		chromedp.WaitVisible(css(`#who`)),
		into(&viewerLinks, chromedp.Evaluate[int](`[...document.querySelectorAll('#nav-tokens, #nav-outbox')].filter(e => e.offsetParent !== null).length`)),
		chromedp.Navigate(d.base+"/tokens"),
		chromedp.WaitVisible(css(`#forbidden`)),
		into(&text, chromedp.Text(css(`#forbidden`))),
		screenshot("tokens-viewer-forbidden"),
	)
	assert.Zero(t, viewerLinks)
	assert.Contains(t, text, "needs the admin role")

	// Buttons the API would refuse are not shown: the fleet page's bulk
	// actions and row invitations need an operator, adding and
	// offboarding customers an admin.
	visible := func(sel string, n *int) chromedp.Action[chromedp.Void] {
		return into(n, chromedp.Evaluate[int](`[...document.querySelectorAll('`+sel+`')].filter(e => e.offsetParent !== null).length`))
	}
	const operatorOnly, adminOnly = `#bulk-invite, #bulk-validate, #bulk-sync, #fleet .row-action[data-needs]`, `#add-card, #fleet details.menu`
	var viewerOps, viewerAdmin, rows, labels int
	step("a viewer's fleet page has no bulk actions, invitations, offboarding or Add customer",
		chromedp.Navigate(d.base+"/customers"),
		chromedp.WaitVisible(css(`#fleet tbody tr`)),
		visible(`#fleet tbody tr`, &rows),
		visible(operatorOnly, &viewerOps),
		visible(adminOnly, &viewerAdmin),
		visible(`#fleet .action-label`, &labels),
		screenshot("fleet-viewer"),
	)
	assert.Equal(t, 4, labels, "each customer's action named as text: invitations (2), consent, secret")
	require.Positive(t, rows)
	assert.Zero(t, viewerOps, "operator buttons shown to a viewer")
	assert.Zero(t, viewerAdmin, "admin controls shown to a viewer")

	var opBulk, opAdmin, opActions, opLabels int
	step("an operator's fleet page has the bulk actions but no offboarding or Add customer",
		chromedp.Click(css(`#logout`)),
		heading("Sign in"),
		d.signInAs("oscar.operator@"+demoProviderDomain),
		chromedp.WaitVisible(css(`#who`)),
		chromedp.Navigate(d.base+"/customers"),
		chromedp.WaitVisible(css(`#fleet tbody tr`)),
		visible(`#bulk-invite, #bulk-validate, #bulk-sync`, &opBulk),
		visible(adminOnly, &opAdmin),
		visible(`#fleet .row-action`, &opActions),
		visible(`#fleet .action-label`, &opLabels),
		screenshot("fleet-operator"),
	)
	assert.Equal(t, 3, opBulk)
	assert.Equal(t, 3, opActions, "the invitations and the consent link are the operator's")
	assert.Equal(t, 1, opLabels, "rotating the secret is the admin's: named as text")
	assert.Zero(t, opAdmin, "admin controls shown to an operator")
}
