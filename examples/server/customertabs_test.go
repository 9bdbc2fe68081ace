package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCustomerTabs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ asked, want string }{
		{"", "connection"}, {"users", "users"}, {"voice", "voice"}, {"quality", "quality"},
		{"activity", "activity"}, {"nosuch", "connection"}, {"Voice", "connection"},
	} {
		tab, tabs := customerTabs(tc.asked)
		assert.Equal(t, tc.want, tab, "customerTabs(%q)", tc.asked)
		var selected []string
		for _, x := range tabs {
			if x.Selected {
				selected = append(selected, x.Name)
			}
		}
		assert.Len(t, tabs, 5, "customerTabs(%q)", tc.asked)
		assert.Equal(t, []string{tc.want}, selected, "customerTabs(%q): selected", tc.asked)
	}
}

// TestCustomerPageTabsWithoutScript checks what the server renders, as a
// browser without script shows it: each tab is a link to its own URL, the
// asked one is aria-selected and only its panel shows; buttons a viewer
// cannot use say which role they need (data-needs, hidden by style.css).
func TestCustomerPageTabsWithoutScript(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir())
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bearer := map[string]string{"Authorization": "Bearer " + d.token}
	panel := regexp.MustCompile(`<div role="tabpanel" id="panel-(\w+)"[^>]*>`)
	tab := regexp.MustCompile(`<a role="tab" id="tab-(\w+)" href="([^"]+)"[^>]*aria-selected="(\w+)"`)
	for _, tc := range []struct{ query, want string }{
		{"", "connection"}, {"&tab=users", "users"}, {"&tab=voice", "voice"}, {"&tab=quality", "quality"},
		{"&tab=activity", "activity"}, {"&tab=bogus", "connection"},
	} {
		resp, body := do(t, c, "GET", d.base+"/?customer=contoso"+tc.query, "", bearer)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET /?customer=contoso%s", tc.query)
		shown := []string{}
		for _, m := range panel.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[0], " hidden") {
				shown = append(shown, m[1])
			}
		}
		assert.Equal(t, []string{tc.want}, shown, "%s: panels shown", tc.query)
		tabs := tab.FindAllStringSubmatch(body, -1)
		require.Len(t, tabs, 5, "%s: tabs", tc.query)
		for _, m := range tabs {
			assert.Equal(t, "/?customer=contoso&amp;tab="+m[1], m[2], "tab %s's link", m[1])
			assert.Equal(t, m[1] == tc.want, m[3] == "true", "%s: tab %s aria-selected=%s", tc.query, m[1], m[3])
		}
	}
	_, body := do(t, c, "GET", d.base+"/?customer=contoso&tab=voice", "", bearer)
	for _, want := range []string{
		`id="save-settings" data-needs="admin"`, `id="validate" data-needs="operator"`, `id="sync" data-needs="operator"`,
		`id="profile-new" data-needs="operator"`, `id="plan" class="primary" data-needs="operator"`, `id="plan-csv" data-needs="operator"`,
		`id="profile-save" class="primary" data-needs="operator"`,
	} {
		assert.Contains(t, body, want, "the customer page")
	}
	for _, page := range []string{"/voice/plan?customer=contoso&id=vpl_x", "/voice/operation?customer=contoso&id=vop_x"} {
		resp, body := do(t, c, "GET", d.base+page, "", bearer)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", page)
		assert.Contains(t, body, `data-needs="operator"`, "GET %s", page)
	}
	// An ID the portal never makes goes back to the Voice tab.
	resp, _ := do(t, c, "GET", d.base+"/voice/plan?customer=contoso&id=%3Cscript%3E", "", bearer)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "a bad plan ID")
	assert.Equal(t, "/?customer=contoso&tab=voice", resp.Header.Get("Location"), "a bad plan ID")
}
