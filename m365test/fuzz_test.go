package m365test_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
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
	require.NoError(f, fx.srv.GrantAdminConsent(fx.contoso.ID, fx.provider.ClientID))
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
			require.NoError(t, err)
			body := readAll(t, resp)
			switch resp.StatusCode {
			case http.StatusOK:
			case http.StatusBadRequest:
				gr := graphResp{status: 400, body: decode(t, body)}
				require.NotEmpty(t, graphErr(t, gr), "empty code")
			default:
				require.FailNow(t, "unexpected status", "filter %q select %q top %q: status %d %s", filter, sel, top, resp.StatusCode, body)
			}
		}
	})
}
