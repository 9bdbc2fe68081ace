package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			require.FailNow(t, "the sync did not end", "sync with %s still %s", filter, run.State)
		}
		time.Sleep(20 * time.Millisecond)
		d.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	}
	require.Equal(t, "succeeded", run.State, "sync with %s: %+v", filter, run)
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
	// Not parallel: a big-demo test (see the note above TestBrowser).
	if testing.Short() {
		t.Skip("syncs the 50,000-user demo tenant")
	}
	d := startDemo(t, t.TempDir())
	connectWithoutBrowser(t, d)

	assert.Equal(t, 16_667, syncWith(t, d, "EnterpriseVoiceEnabled -eq $true"), "EnterpriseVoiceEnabled -eq $true")
	assert.Equal(t, 1_666, syncWith(t, d, "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true"), "Italy's voice users")
	// The fake refuses telephoneNumbers in $filter: the Teams part runs
	// client-side and the result is the same.
	assert.Equal(t, 1_666, syncWith(t, d, "LineUri -like 'tel:+39*'"), "LineUri -like 'tel:+39*'")

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
	require.Equal(t, 1, page.Total, "user 00024: %+v", page)
	require.Len(t, page.Users, 1, "user 00024")
	u := page.Users[0]
	if assert.NotNil(t, u.LineURI, "user 00024's line URI") {
		assert.Equal(t, "tel:+39020000024", *u.LineURI, "user 00024's line URI")
	}
	assert.Equal(t, "VRP-IT", u.Policies["OnlineVoiceRoutingPolicy"], "user 00024's routing policy")
	assert.True(t, u.Voice, "user 00024 is voice-enabled")
	if assert.Len(t, u.Numbers, 1, "user 00024's numbers") {
		assert.Equal(t, "+39020000024", u.Numbers[0].Number, "user 00024's number")
		assert.Equal(t, "primary", u.Numbers[0].Category, "user 00024's number's category")
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
		if assert.Len(t, prob.Fields, 1, "saving %s", bad.filter) {
			assert.Equal(t, "userFilter", prob.Fields[0].Field, "saving %s", bad.filter)
			assert.Contains(t, prob.Fields[0].Message, bad.where, "saving %s", bad.filter)
		}
		d.api(t, "GET", "/api/customers/contoso/users?filter="+url.QueryEscape(bad.filter), "", http.StatusBadRequest, &prob)
		if assert.Len(t, prob.Fields, 1, "list with %s", bad.filter) {
			assert.Equal(t, "filter", prob.Fields[0].Field, "list with %s", bad.filter)
			assert.Contains(t, prob.Fields[0].Message, bad.where, "list with %s", bad.filter)
		}
	}
}
