package m365test_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestAdvancedQueryLag: with Options.AdvancedQueryLag, users added,
// changed or deleted within the lag are not seen by queries with
// ConsistencyLevel: eventual, while plain reads see them at once.
func TestAdvancedQueryLag(t *testing.T) {
	t.Parallel()
	const lag = 30 * time.Second
	srv := m365test.NewServer(&m365test.Options{AdvancedQueryLag: lag, InMemory: true})
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}
	var err error
	f.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 10})
	require.NoError(t, err)
	addReaderApp(t, f, "aaaaaaaa-1111-2222-3333-444444444444", "User.Read.All")
	tok := clientToken(t, f, "aaaaaaaa-1111-2222-3333-444444444444")
	var lastIDs []string
	count := func(filter string, eventual bool) int {
		t.Helper()
		path := "/users?$select=id&$top=999&$filter=" + filter
		var hdr []string
		if eventual {
			path += "&$count=true"
			hdr = []string{"ConsistencyLevel", "eventual"}
		}
		gr := graphDo(t, f, "GET", path, tok, nil, hdr...)
		require.Equal(t, 200, gr.status, "%s: %v", path, gr.body)
		n := len(gr.body["value"].([]any))
		lastIDs = lastIDs[:0]
		for _, u := range gr.body["value"].([]any) {
			lastIDs = append(lastIDs, u.(map[string]any)["id"].(string))
		}
		if eventual {
			assert.Equal(t, n, int(gr.body["@odata.count"].(float64)), "@odata.count against the users listed")
		}
		return n
	}
	const it = "usageLocation%20eq%20'IT'"
	p, a := count(it, false), count(it, true)
	require.Equal(t, 1, p, "before changes: plain")
	require.Equal(t, 1, a, "before changes: advanced")
	_, err = f.contoso.AddUsers(10) // user 14 is in Milan
	require.NoError(t, err)
	require.NoError(t, f.contoso.UpdateUser("user00004@contoso.onmicrosoft.com", map[string]any{"usageLocation": "FR"}))
	// Plain reads: user 14 added, user 4 moved to France. Advanced: still
	// the old directory.
	p = count(it, false)
	plainIT := append([]string(nil), lastIDs...)
	a = count(it, true)
	if assert.Equal(t, 1, p, "within the lag: plain %v", plainIT) {
		assert.Equal(t, f.contoso.UserID("user00014@contoso.onmicrosoft.com"), plainIT[0], "within the lag: plain")
	}
	if assert.Equal(t, 1, a, "within the lag: advanced %v", lastIDs) {
		assert.Equal(t, f.contoso.UserID("user00004@contoso.onmicrosoft.com"), lastIDs[0], "within the lag: advanced")
	}
	assert.Equal(t, 20, count("startsWith(displayName,'User')", false), "within the lag, all users: plain")
	assert.Equal(t, 10, count("startsWith(displayName,'User')", true), "within the lag, all users: advanced")
	gr := graphDo(t, f, "GET", "/users/user00014@contoso.onmicrosoft.com?$select=id", tok, nil)
	assert.Equal(t, 200, gr.status, "a plain read of the new user")
	srv.Advance(lag)
	assert.Equal(t, 20, count("startsWith(displayName,'User')", false), "after the lag: plain")
	assert.Equal(t, 20, count("startsWith(displayName,'User')", true), "after the lag: advanced")
	assert.Equal(t, 1, count(it, true), "after the lag, IT")
}
