package m365test_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDocUsersRangeAndCount replays the advanced query page's filter table
// for ge and le on string properties (column by column: city has ge but
// not le, userPrincipalName le but not ge, displayName neither) and its
// "Use of $count in a $filter expression" example,
// `~/users?$filter=assignedLicenses/$count eq 0&$count=true`, which needs
// the advanced query parameters. Expected users follow the demo data
// rules: 30 users, cities by i % 10, voice users (i % 3 == 0) with three or
// four licenses and the others with two (SPE_E3, MCOMEETADV), like the
// Global Admin.
func TestDocUsersRangeAndCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30)
	esc := url.QueryEscape
	advanced := []string{"ConsistencyLevel", "eventual"}
	upns := func(t *testing.T, gr graphResp) []any {
		out := []any{}
		for _, u := range values(t, gr) {
			out = append(out, u["userPrincipalName"])
		}
		return out
	}
	count := func(want int) func(t *testing.T, gr graphResp) {
		return func(t *testing.T, gr graphResp) {
			t.Helper()
			assert.Len(t, values(t, gr), want)
			assert.EqualValues(t, want, gr.body["@odata.count"])
		}
	}
	const page = "graph/aad-advanced-queries"
	runDocCases(t, f, []docCase{
		{page: page, name: "surname ge and le by default", method: "GET", status: 200,
			path: "/users?$select=userPrincipalName&$filter=" + esc("surname ge '00010' and surname le '00012'"),
			check: func(t *testing.T, gr graphResp) {
				assert.Equal(t, []any{"user00010@contoso.onmicrosoft.com", "user00011@contoso.onmicrosoft.com",
					"user00012@contoso.onmicrosoft.com"}, upns(t, gr))
			}},
		{page: page, name: "ge compares case-insensitively", method: "GET", status: 200, header: advanced,
			path:  "/users?$count=true&$filter=" + esc("city ge 'STOCKHOLM'"),
			check: count(9)}, // Stockholm, Warsaw, Tokyo: i % 10 in 7, 8, 9
		{page: page, name: "city has no le", method: "GET", status: 400, code: "Request_UnsupportedQuery", header: advanced,
			path: "/users?$count=true&$filter=" + esc("city le 'Berlin'")},
		{page: page, name: "userPrincipalName le by default", method: "GET", status: 200,
			path: "/users?$select=userPrincipalName&$filter=" + esc("userPrincipalName le 'user00001@contoso.onmicrosoft.com'"),
			check: func(t *testing.T, gr graphResp) {
				assert.Equal(t, []any{"admin@contoso.onmicrosoft.com", "user00000@contoso.onmicrosoft.com",
					"user00001@contoso.onmicrosoft.com"}, upns(t, gr))
			}},
		{page: page, name: "userPrincipalName has no ge", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$filter=" + esc("userPrincipalName ge 'user00028'")},
		{page: page, name: "displayName has neither", method: "GET", status: 400, code: "Request_UnsupportedQuery", header: advanced,
			path: "/users?$count=true&$filter=" + esc("displayName ge 'User'")},
		{page: page, name: "officeLocation ge needs the advanced parameters", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$filter=" + esc("officeLocation ge 'Tokyo'")},
		{page: page, name: "officeLocation ge in an advanced query", method: "GET", status: 200, header: advanced,
			path:  "/users?$count=true&$filter=" + esc("officeLocation ge 'Tokyo'"),
			check: count(6)}, // "Tokyo Office" and "Warsaw Office": i % 10 in 8, 9
		{page: page, name: "accountEnabled le false in an advanced query", method: "GET", status: 200, header: advanced,
			path:  "/users?$count=true&$filter=" + esc("accountEnabled le false"),
			check: count(1)}, // i % 20 == 19
		{page: page, name: "ge null is refused", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$filter=" + esc("state ge null")},
		{page: page, name: "gt has no column", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$filter=" + esc("surname gt '00010'")},
		{page: page, name: "ge with a boolean on a string", method: "GET", status: 400, code: "BadRequest",
			path: "/users?$filter=" + esc("surname ge true")},
		{page: page, name: "$count in a filter needs the advanced parameters", method: "GET", status: 400, code: "Request_UnsupportedQuery",
			path: "/users?$filter=" + esc("assignedLicenses/$count eq 0")},
		{page: page, name: "$count in a filter: the page's example", method: "GET", status: 200, header: advanced,
			path:  "/users?$count=true&$filter=" + esc("assignedLicenses/$count eq 0"),
			check: count(0)},
		{page: page, name: "$count in a filter: two licenses", method: "GET", status: 200, header: advanced,
			path:  "/users?$count=true&$filter=" + esc("assignedLicenses/$count eq 2"),
			check: count(21)}, // 20 users without voice and the Global Admin
		{page: page, name: "$count ne on a string collection", method: "GET", status: 200, header: advanced,
			path:  "/users?$count=true&$filter=" + esc("businessPhones/$count ne 0"),
			check: count(0)},
		{page: page, name: "$count with gt is refused", method: "GET", status: 400, code: "Request_UnsupportedQuery", header: advanced,
			path: "/users?$count=true&$filter=" + esc("assignedLicenses/$count gt 0")},
		{page: page, name: "$count of a single-valued property is refused", method: "GET", status: 400, code: "Request_UnsupportedQuery", header: advanced,
			path: "/users?$count=true&$filter=" + esc("city/$count eq 0")},
		{page: page, name: "$count compares with a number", method: "GET", status: 400, code: "BadRequest", header: advanced,
			path: "/users?$count=true&$filter=" + esc("assignedLicenses/$count eq '0'")},
	})
}
