package m365test_test

import (
	"testing"
	"time"

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
	if f.contoso, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, Users: 10}); err != nil {
		t.Fatal(err)
	}
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
		if gr.status != 200 {
			t.Fatalf("%s: %d %v", path, gr.status, gr.body)
		}
		n := len(gr.body["value"].([]any))
		lastIDs = lastIDs[:0]
		for _, u := range gr.body["value"].([]any) {
			lastIDs = append(lastIDs, u.(map[string]any)["id"].(string))
		}
		if eventual && int(gr.body["@odata.count"].(float64)) != n {
			t.Errorf("count %v, %d users", gr.body["@odata.count"], n)
		}
		return n
	}
	const it = "usageLocation%20eq%20'IT'"
	if p, a := count(it, false), count(it, true); p != 1 || a != 1 {
		t.Fatalf("before changes: plain %d, advanced %d", p, a)
	}
	if _, err := f.contoso.AddUsers(10); err != nil { // user 14 is in Milan
		t.Fatal(err)
	}
	if err := f.contoso.UpdateUser("user00004@contoso.onmicrosoft.com", map[string]any{"usageLocation": "FR"}); err != nil {
		t.Fatal(err)
	}
	// Plain reads: user 14 added, user 4 moved to France. Advanced: still
	// the old directory.
	p := count(it, false)
	plainIT := append([]string(nil), lastIDs...)
	a := count(it, true)
	if p != 1 || a != 1 || plainIT[0] != f.contoso.UserID("user00014@contoso.onmicrosoft.com") || lastIDs[0] != f.contoso.UserID("user00004@contoso.onmicrosoft.com") {
		t.Errorf("within the lag: plain %v, advanced %v", plainIT, lastIDs)
	}
	if p, a := count("startsWith(displayName,'User')", false), count("startsWith(displayName,'User')", true); p != 20 || a != 10 {
		t.Errorf("within the lag, all users: plain %d, advanced %d", p, a)
	}
	if gr := graphDo(t, f, "GET", "/users/user00014@contoso.onmicrosoft.com?$select=id", tok, nil); gr.status != 200 {
		t.Errorf("a plain read of the new user: %d", gr.status)
	}
	srv.Advance(lag)
	if p, a := count("startsWith(displayName,'User')", false), count("startsWith(displayName,'User')", true); p != 20 || a != 20 {
		t.Errorf("after the lag: plain %d, advanced %d", p, a)
	}
	if a := count(it, true); a != 1 {
		t.Errorf("after the lag, IT: %d", a)
	}
}
