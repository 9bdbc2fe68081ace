package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// syncWith saves the demo customer's user filter, syncs through the admin
// API and returns the finished run's total.
func syncWith(t *testing.T, d *demo, filter string) int {
	t.Helper()
	d.api(t, "PUT", "/api/customers/contoso/m365", `{"userFilter":`+quoteJSON(filter)+`}`, http.StatusOK, nil)
	var run struct {
		State string `json:"state"`
		Total int    `json:"total"`
	}
	d.api(t, "POST", "/api/customers/contoso/users/sync", "", http.StatusAccepted, &run)
	deadline := time.Now().Add(6 * time.Minute)
	for run.State == "running" || run.State == "queued" || run.State == "retrying" {
		if time.Now().After(deadline) {
			t.Fatalf("sync with %s still %s", filter, run.State)
		}
		time.Sleep(20 * time.Millisecond)
		d.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	}
	if run.State != "succeeded" {
		t.Fatalf("sync with %s: %+v", filter, run)
	}
	return run.Total
}

func quoteJSON(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestDemoTeamsFilters: in the demo portal (50,000 users), syncs with
// Teams filters give the counts the demo rule predicts, user 00024 reads
// its line URI and routing policy, a filter whose Teams part the fake
// refuses (a $filter on telephoneNumbers) still syncs the right users, and
// malformed Teams filters are refused with a position.
func TestDemoTeamsFilters(t *testing.T) {
	if testing.Short() {
		t.Skip("syncs the 50,000-user demo tenant")
	}
	d := startDemo(t, t.TempDir())
	connectWithoutBrowser(t, d)

	if n := syncWith(t, d, "EnterpriseVoiceEnabled -eq $true"); n != 16_667 {
		t.Errorf("EnterpriseVoiceEnabled -eq $true: %d users, want 16,667", n)
	}
	if n := syncWith(t, d, "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true"); n != 1_666 {
		t.Errorf("Italy's voice users: %d, want 1,666", n)
	}
	// The fake refuses telephoneNumbers in $filter: the Teams part runs
	// client-side and the result is the same.
	if n := syncWith(t, d, "LineUri -like 'tel:+39*'"); n != 1_666 {
		t.Errorf("LineUri -like 'tel:+39*': %d users, want 1,666", n)
	}

	var page struct {
		Users []struct {
			UserPrincipalName string            `json:"userPrincipalName"`
			LineURI           *string           `json:"lineUri"`
			Voice             bool              `json:"enterpriseVoiceEnabled"`
			Policies          map[string]string `json:"policies"`
			Numbers           []struct {
				Number   string `json:"number"`
				Category string `json:"category"`
			} `json:"telephoneNumbers"`
		} `json:"users"`
		Total int `json:"total"`
	}
	d.api(t, "GET", "/api/customers/contoso/users?filter="+url.QueryEscape("UserPrincipalName -eq 'user00024@contoso.onmicrosoft.com'"), "", http.StatusOK, &page)
	if page.Total != 1 || len(page.Users) != 1 {
		t.Fatalf("user 00024: %+v", page)
	}
	u := page.Users[0]
	if u.LineURI == nil || *u.LineURI != "tel:+39020000024" || u.Policies["OnlineVoiceRoutingPolicy"] != "VRP-IT" || !u.Voice ||
		len(u.Numbers) != 1 || u.Numbers[0].Number != "+39020000024" || u.Numbers[0].Category != "primary" {
		t.Errorf("user 00024 = %+v", u)
	}

	for _, bad := range []struct{ filter, where string }{
		{"EnterpriseVoiceEnabled -eq $true -and LineUri -like", "at 51 (line 1, column 52)"},
		{"UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq 'maybe'", "at 28 (line 1, column 29)"},
		{"LineUrl -like 'tel:+39*'", "at 0 (line 1, column 1)"},
	} {
		var prob struct {
			Fields []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"fields"`
		}
		d.api(t, "PUT", "/api/customers/contoso/m365", `{"userFilter":`+quoteJSON(bad.filter)+`}`, http.StatusUnprocessableEntity, &prob)
		if len(prob.Fields) != 1 || prob.Fields[0].Field != "userFilter" || !strings.Contains(prob.Fields[0].Message, bad.where) {
			t.Errorf("%s: %+v, want the userFilter field with %q", bad.filter, prob, bad.where)
		}
		d.api(t, "GET", "/api/customers/contoso/users?filter="+url.QueryEscape(bad.filter), "", http.StatusBadRequest, &prob)
		if len(prob.Fields) != 1 || prob.Fields[0].Field != "filter" || !strings.Contains(prob.Fields[0].Message, bad.where) {
			t.Errorf("list with %s: %+v", bad.filter, prob)
		}
	}
}
