package m365test_test

import (
	"net/http"
	"net/url"
	"testing"
)

// FuzzUsersFilter sends arbitrary $filter, $select and $top values through
// the whole Graph endpoint: the answer is 200 or a 400 in Graph's error
// shape, never a crash or a 5xx.
func FuzzUsersFilter(f *testing.F) {
	for _, s := range []string{"usageLocation eq 'IT'", "startsWith(displayName,'User 1')", "accountEnabled eq false",
		"city in ('Paris','Milan') and not(department eq 'Sales')", "((((", "userPrincipalName eq 'a''b'", "endsWith(mail,'.com')", ""} {
		f.Add(s, "id,displayName", "10")
	}
	fx := newFixture(f, 1000)
	if err := fx.srv.GrantAdminConsent(fx.contoso.ID, fx.provider.ClientID); err != nil {
		f.Fatal(err)
	}
	tok := appToken(f, fx, fx.contoso.ID)
	f.Fuzz(func(t *testing.T, filter, sel, top string) {
		for _, advanced := range []bool{false, true} {
			q := url.Values{"$filter": {filter}, "$select": {sel}, "$top": {top}}
			if advanced {
				q.Set("$count", "true")
			}
			req, _ := http.NewRequest(http.MethodGet, fx.srv.GraphURL()+"/users?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if advanced {
				req.Header.Set("ConsistencyLevel", "eventual")
			}
			resp, err := fx.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusBadRequest:
				if gr := (graphResp{status: 400, body: decode(t, body)}); graphErr(t, gr) == "" {
					t.Fatal("empty code")
				}
			default:
				t.Fatalf("filter %q select %q top %q: status %d %s", filter, sel, top, resp.StatusCode, body)
			}
		}
	})
}
