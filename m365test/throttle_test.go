package m365test_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestThrottle: a tenant's budget ends with 429 and a Retry-After in Graph
// seconds, another tenant keeps its own budget, and the app-wide budget
// limits the sum; a new window admits again.
func TestThrottle(t *testing.T) {
	t.Parallel()
	// The throttle judges its windows by the process clock: in a synctest
	// bubble, sleeping past a window takes no real time.
	synctest.Test(t, func(t *testing.T) {
		// 10 s and 20 s of Graph time are 0.5 s and 1 s of real time.
		throttle := &m365test.Throttle{TenantUnits: 5, TenantWindow: 10 * time.Second, AppUnits: 8, AppWindow: 20 * time.Second, TimeScale: 20}
		srv := m365test.NewServer(&m365test.Options{InMemory: true, ConsentReplicationDelay: -1, Throttle: throttle})
		defer srv.Close()
		get := func(t *testing.T, tenant *m365test.Tenant, tok string) *http.Response {
			t.Helper()
			req, _ := http.NewRequestWithContext(context.Background(), "GET", "https://"+m365test.GraphHost+"/v1.0/users?$select=id&$top=1", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp
		}
		var toks []string
		var tenants []*m365test.Tenant
		for _, d := range []string{"a.onmicrosoft.com", "b.onmicrosoft.com"} {
			tn, err := srv.AddTenant(m365test.TenantOptions{Domains: []string{d}, Users: 3})
			require.NoError(t, err)
			tenants = append(tenants, tn)
		}
		const app, secret = "0a0a0a0a-1111-2222-3333-444444444444", "throttle-test-secret-0123456789"
		_, err := srv.AddApp(m365test.AppOptions{ClientID: app, Secrets: []m365test.Secret{{Value: secret}}, ApplicationPermissions: []string{"User.Read.All"}})
		require.NoError(t, err)
		for _, tn := range tenants {
			require.NoError(t, srv.GrantAdminConsentNow(tn.ID, app))
			toks = append(toks, throttleAppToken(t, srv, tn.ID, app, secret))
		}
		// Fresh windows from now (the setup's token requests are no Graph
		// calls, but the windows started with the server).
		srv.SetThrottle(throttle)
		codes := func(tenant int, n int) (ok, throttled int, retryAfter string) {
			for range n {
				resp := get(t, tenants[tenant], toks[tenant])
				switch resp.StatusCode {
				case 200:
					ok++
				case 429:
					throttled++
					retryAfter = resp.Header.Get("Retry-After")
				default:
					require.FailNow(t, "unexpected status", "status %d", resp.StatusCode)
				}
			}
			return
		}
		ok, thr, ra := codes(0, 7)
		require.Equal(t, 5, ok, "tenant a: ok")
		require.Equal(t, 2, thr, "tenant a: throttled")
		if n, err := strconv.Atoi(ra); assert.NoError(t, err, "Retry-After %q", ra) {
			assert.GreaterOrEqual(t, n, 1, "Retry-After in Graph seconds")
			assert.LessOrEqual(t, n, 10, "Retry-After in Graph seconds")
		}
		// Tenant b has its own budget, but the app-wide one has 3 units left.
		ok, thr, _ = codes(1, 5)
		require.Equal(t, 3, ok, "tenant b: ok (the app budget)")
		require.Equal(t, 2, thr, "tenant b: throttled")
		st := srv.ThrottleStats()
		assert.Equal(t, int64(12), st.Requests, "stats %+v", st)
		assert.Equal(t, int64(2), st.TenantThrottled, "stats %+v", st)
		assert.Equal(t, int64(2), st.AppThrottled, "stats %+v", st)
		time.Sleep(time.Second + 50*time.Millisecond) // both windows roll over (on the bubble's clock: no real wait)
		ok, thr, _ = codes(0, 1)
		assert.Equal(t, 1, ok, "after the window: ok")
		assert.Equal(t, 0, thr, "after the window: throttled")
	})
}

// throttleAppToken gets an app-only Graph token by client credentials.
func throttleAppToken(t *testing.T, srv *m365test.Server, tenant, clientID, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	resp, err := srv.Client().PostForm("https://"+m365test.LoginHost+"/"+tenant+"/oauth2/v2.0/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out), "token: status %d", resp.StatusCode)
	require.NotEmpty(t, out.AccessToken, "token: status %d", resp.StatusCode)
	return out.AccessToken
}
