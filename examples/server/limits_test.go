package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyncSixtyNamedUsers: a user filter of 60 UserPrincipalName -eq terms
// joined by -or, saved and synced through the portal's admin API against
// the demo's fake cloud (Graph's query limits on), stores exactly those 60
// users.
func TestSyncSixtyNamedUsers(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir(), "-demo-users", "2000")
	connectWithoutBrowser(t, d)
	var terms, want []string
	for k := range 60 {
		upn := fmt.Sprintf("user%05d@%s", 11+k*31, demoDomain)
		terms = append(terms, "UserPrincipalName -eq '"+upn+"'")
		want = append(want, upn)
	}
	slices.Sort(want)
	body, _ := json.Marshal(map[string]string{"userFilter": strings.Join(terms, " -or ")})
	d.api(t, "PUT", "/api/customers/contoso/m365", string(body), http.StatusOK, nil)
	var run struct {
		State string `json:"state"`
		Total int    `json:"total"`
		Error any    `json:"error"`
	}
	d.api(t, "POST", "/api/customers/contoso/users/sync", "", http.StatusAccepted, &run)
	for deadline := time.Now().Add(30 * time.Second); (run.State == "running" || run.State == "queued") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		d.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	}
	require.Equal(t, "succeeded", run.State, "sync run %+v", run)
	require.Equal(t, 60, run.Total, "sync run's total")
	var page struct {
		Users []struct {
			UserPrincipalName string `json:"userPrincipalName"`
		} `json:"users"`
		Total int `json:"total"`
	}
	d.api(t, "GET", "/api/customers/contoso/users?limit=1000", "", http.StatusOK, &page)
	var got []string
	for _, u := range page.Users {
		got = append(got, u.UserPrincipalName)
	}
	slices.Sort(got)
	assert.Equal(t, 60, page.Total, "stored users' total")
	assert.Equal(t, want, got, "stored users")
}
