package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestCustomerTabs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ asked, want string }{
		{"", "connection"}, {"users", "users"}, {"voice", "voice"}, {"quality", "quality"},
		{"activity", "activity"}, {"nosuch", "connection"}, {"Voice", "connection"},
	} {
		tab, tabs := customerTabs(tc.asked)
		if tab != tc.want {
			t.Errorf("customerTabs(%q) = %q, want %q", tc.asked, tab, tc.want)
		}
		var selected []string
		for _, x := range tabs {
			if x.Selected {
				selected = append(selected, x.Name)
			}
		}
		if len(tabs) != 5 || len(selected) != 1 || selected[0] != tc.want {
			t.Errorf("customerTabs(%q): %d tabs, selected %v", tc.asked, len(tabs), selected)
		}
	}
}

// TestCustomerPageTabsWithoutScript checks what the server renders, as a
// browser without script shows it: each tab is a link to its own URL, the
// asked one is aria-selected and only its panel shows; buttons a viewer
// cannot use say which role they need (data-needs, hidden by style.css).
func TestCustomerPageTabsWithoutScript(t *testing.T) {
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
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /?customer=contoso%s: %d", tc.query, resp.StatusCode)
		}
		shown := []string{}
		for _, m := range panel.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[0], " hidden") {
				shown = append(shown, m[1])
			}
		}
		if len(shown) != 1 || shown[0] != tc.want {
			t.Errorf("%s: panels shown %v, want only %s", tc.query, shown, tc.want)
		}
		tabs := tab.FindAllStringSubmatch(body, -1)
		if len(tabs) != 5 {
			t.Fatalf("%s: %d tabs, want 5", tc.query, len(tabs))
		}
		for _, m := range tabs {
			if want := "/?customer=contoso&amp;tab=" + m[1]; m[2] != want {
				t.Errorf("tab %s links to %q, want %q", m[1], m[2], want)
			}
			if (m[3] == "true") != (m[1] == tc.want) {
				t.Errorf("%s: tab %s aria-selected=%s", tc.query, m[1], m[3])
			}
		}
	}
	_, body := do(t, c, "GET", d.base+"/?customer=contoso&tab=voice", "", bearer)
	for _, want := range []string{
		`id="save-settings" data-needs="admin"`, `id="validate" data-needs="operator"`, `id="sync" data-needs="operator"`,
		`id="profile-new" data-needs="operator"`, `id="plan" class="primary" data-needs="operator"`, `id="plan-csv" data-needs="operator"`,
		`id="profile-save" class="primary" data-needs="operator"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the customer page lacks %s", want)
		}
	}
	for _, page := range []string{"/voice/plan?customer=contoso&id=vpl_x", "/voice/operation?customer=contoso&id=vop_x"} {
		resp, body := do(t, c, "GET", d.base+page, "", bearer)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-needs="operator"`) {
			t.Errorf("GET %s: %d", page, resp.StatusCode)
		}
	}
	// An ID the portal never makes goes back to the Voice tab.
	resp, _ := do(t, c, "GET", d.base+"/voice/plan?customer=contoso&id=%3Cscript%3E", "", bearer)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?customer=contoso&tab=voice" {
		t.Errorf("a bad plan ID: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
