package m365test_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzServicePrincipalKey sends arbitrary top-level Graph segments (the
// route that parses servicePrincipals(appId='...')) and $select values:
// the answer is 200, or 400/404 in Graph's error shape, never a crash or
// a 5xx.
func FuzzServicePrincipalKey(f *testing.F) {
	for _, s := range []string{"servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", "servicePrincipals(appId='')",
		"servicePrincipals(appId=')", "servicePrincipals(", "servicePrincipals(appId='x'))", "servicePrincipals(displayName='x')", "groups", ""} {
		f.Add(s, "id,appRoles")
	}
	fx := newFixture(f, 3)
	addReaderAppTB(f, fx, "aaaaaaaa-1111-2222-3333-444444444444", "Application.Read.All")
	tok := clientTokenTB(f, fx, "aaaaaaaa-1111-2222-3333-444444444444")
	f.Fuzz(func(t *testing.T, seg, sel string) {
		u := fx.srv.GraphURL() + "/" + url.PathEscape(seg) + "?" + url.Values{"$select": {sel}}.Encode()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := fx.srv.Client().Do(req)
		require.NoError(t, err)
		body := readAll(t, resp)
		switch resp.StatusCode {
		case http.StatusOK, http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		case http.StatusBadRequest, http.StatusNotFound:
			if body != "" && body[0] == '{' {
				gr := graphResp{status: resp.StatusCode, body: decode(t, body)}
				require.NotEmpty(t, graphErr(t, gr), "empty code")
			}
		default:
			require.FailNow(t, "unexpected status", "segment %q select %q: status %d %s", seg, sel, resp.StatusCode, body)
		}
	})
}
