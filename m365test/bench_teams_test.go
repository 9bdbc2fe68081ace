package m365test_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// benchGet measures GET u with token tok.
func benchGet(b *testing.B, c *http.Client, u, tok string) {
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(b, 200, resp.StatusCode)
	}
}

// benchToken is an app-only token in contoso with roles.
func benchToken(b *testing.B, fx *fixture, roles ...string) string {
	app, err := fx.srv.AddApp(m365test.AppOptions{ClientID: "dddddddd-0000-0000-0000-000000000001", DisplayName: "Bench",
		Secrets:                []m365test.Secret{{Value: providerSecret, Expires: time.Now().Add(time.Hour)}},
		ApplicationPermissions: roles})
	require.NoError(b, err)
	require.NoError(b, fx.srv.GrantAdminConsent(fx.contoso.ID, app.ClientID))
	return tokenFor(b, fx, fx.contoso.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
		"client_secret": {providerSecret}, "scope": {"https://graph.microsoft.com/.default"}})
}

// BenchmarkTeamsConfigsPage999 measures one GET
// /admin/teams/userConfigurations page of 999 from the 50,000-user demo
// tenant (the last page of a voice-only filter, so it scans the tenant's
// end).
func BenchmarkTeamsConfigsPage999(b *testing.B) {
	fx := newFixture(b, 50_000)
	tok := benchToken(b, fx, "TeamsUserConfiguration.Read.All")
	benchGet(b, fx.srv.Client(), fx.srv.GraphURL()+"/admin/teams/userConfigurations?$top=999", tok)
}

// BenchmarkNumberAssignmentsPage1000 measures the last page of the free
// Italian numbers of the demo tenant ($filter, $skip 3,000, $top 1,000).
func BenchmarkNumberAssignmentsPage1000(b *testing.B) {
	fx := newFixture(b, 50_000)
	tok := benchToken(b, fx, "TeamsTelephoneNumber.Read.All")
	q := url.Values{"$filter": {"isoCountryCode eq 'IT' and assignmentStatus eq 'unassigned'"}, "$top": {"1000"}, "$skip": {"3000"}}
	benchGet(b, fx.srv.Client(), fx.srv.GraphURL()+"/admin/teams/telephoneNumberManagement/numberAssignments?"+q.Encode(), tok)
}
