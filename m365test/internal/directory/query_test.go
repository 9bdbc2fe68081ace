package directory

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	demoOnce sync.Once
	demo     *Directory
)

// demoDir is the 50,000-user tenant of the design's demo.
func demoDir() *Directory {
	demoOnce.Do(func() { demo = New(specTenant, specDomain, specCompany, specN) })
	return demo
}

// listAll pages through q with $top=999 and returns the UPNs in order, the
// count each page reported, and the number of pages.
func listAll(t *testing.T, d *Directory, q Query) (upns []string, counts []int, pages int) {
	t.Helper()
	q.Top = MaxTop
	for {
		res, err := d.Query(q)
		require.NoError(t, err, "Query(%+v) page %d", q, pages)
		pages++
		require.LessOrEqual(t, len(res.Users), MaxTop, "users on page %d", pages)
		if res.NextSkipToken != "" {
			require.Len(t, res.Users, MaxTop, "page %d has a next link", pages)
		}
		for _, u := range res.Users {
			upns = append(upns, u.UserPrincipalName)
		}
		counts = append(counts, res.Count)
		if res.NextSkipToken == "" {
			return upns, counts, pages
		}
		q.SkipToken = res.NextSkipToken
	}
}

func TestPagingAllUsers(t *testing.T) {
	t.Parallel()
	d := demoDir()
	upns, counts, pages := listAll(t, d, Query{})
	spec := specUsers(specDomain, specN)
	require.Equal(t, len(spec), len(upns), "users listed") // not Len: a failure would print 50,001 UPNs
	for i, s := range spec {
		if upns[i] != s.upn { // testify only on a mismatch: 50,001 positions
			require.Equal(t, s.upn, upns[i], "position %d", i)
		}
	}
	assert.Equal(t, (specN+1+MaxTop-1)/MaxTop, pages, "pages")
	for _, c := range counts {
		require.Equal(t, -1, c, "count without $count")
	}
}

// TestFilterCounts evaluates filters against the demo tenant and compares
// the full, paged answer with the spec model of the test.
func TestFilterCounts(t *testing.T) {
	t.Parallel()
	d := demoDir()
	spec := specUsers(specDomain, specN)
	type pred func(s specUser) bool
	for _, tc := range []struct {
		filter   string
		advanced bool
		want     int // -1: only compare with the model
		pred     pred
	}{
		{"usageLocation eq 'IT'", false, 5000, func(s specUser) bool { return s.usage == "IT" }},
		{"usageLocation eq 'it'", false, 5000, func(s specUser) bool { return s.usage == "IT" }},
		{"UsageLocation EQ 'US'", false, 5001, func(s specUser) bool { return s.usage == "US" }},
		{"usageLocation in ('IT','ES')", false, 10000, func(s specUser) bool { return s.usage == "IT" || s.usage == "ES" }},
		{"accountEnabled eq false", false, 2500, func(s specUser) bool { return !s.enabled }},
		{"accountEnabled eq true", false, 47501, func(s specUser) bool { return s.enabled }},
		{"startsWith(displayName,'User 0001')", false, 10, func(s specUser) bool { return strings.HasPrefix(s.display, "User 0001") }},
		{"startswith(userPrincipalName,'USER4')", false, 10000, func(s specUser) bool { return strings.HasPrefix(s.upn, "user4") }},
		{"department eq 'sales' and jobTitle eq 'Manager'", false, -1, func(s specUser) bool { return s.dept == "Sales" && s.title == "Manager" }},
		{"(usageLocation eq 'DE' or country eq 'France') and accountEnabled eq true", false, -1,
			func(s specUser) bool { return (s.usage == "DE" || s.usage == "FR") && s.enabled }},
		{"city eq 'Milan' or department eq 'Administration'", false, 5001, func(s specUser) bool { return s.city == "Milan" || s.dept == "Administration" }},
		{"jobTitle eq 'Global Administrator'", false, 1, func(s specUser) bool { return s.title == "Global Administrator" }},
		{"displayName eq 'nobody'", false, 0, func(specUser) bool { return false }},
		{"not(department eq 'Sales')", true, -1, func(s specUser) bool { return s.dept != "Sales" }},
		{"accountEnabled ne true", true, 2500, func(s specUser) bool { return !s.enabled }},
		{"endsWith(mail,'9@CONTOSO.onmicrosoft.com')", true, 5000, func(s specUser) bool { return strings.HasSuffix(s.upn, "9@"+specDomain) }},
		{"companyName eq 'contoso ltd'", true, specN + 1, func(specUser) bool { return true }},
		{"officeLocation eq 'Milan Office'", true, 5000, func(s specUser) bool { return s.city == "Milan" }},
		{"state eq null", true, specN + 1, func(specUser) bool { return true }},
		{"state ne null", true, 0, func(specUser) bool { return false }},
		{"state ne 'WA'", true, specN + 1, func(specUser) bool { return true }},
		{"displayName eq null", true, 0, func(specUser) bool { return false }},
		{"proxyAddresses/any(p:startsWith(p,'smtp:user0'))", false, 10000, func(s specUser) bool { return strings.HasPrefix(s.upn, "user0") }},
		{"proxyAddresses/any(p:endsWith(p,'@contoso.onmicrosoft.com'))", true, specN + 1, func(specUser) bool { return true }},
		{"otherMails/any(x:x eq 'a@b.c')", false, 0, func(specUser) bool { return false }},
		{"not(startsWith(displayName,'User')) and not(usageLocation in ('US'))", true, 0, func(specUser) bool { return false }},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			var want []string
			for _, s := range spec {
				if tc.pred(s) {
					want = append(want, s.upn)
				}
			}
			if tc.want >= 0 {
				require.Len(t, want, tc.want, "the test's model against the spec")
			}
			q := Query{Filter: tc.filter, Count: tc.advanced, ConsistencyEventual: tc.advanced}
			got, counts, _ := listAll(t, d, q)
			// slices.Equal, not require.Equal: a diff of 50,000 UPNs says less than the heads.
			require.True(t, slices.Equal(got, want), "got %d users, want %d (first got %v, first want %v)", len(got), len(want), head(got), head(want))
			wantCount := -1
			if tc.advanced {
				wantCount = len(want)
			}
			for _, c := range counts {
				require.Equal(t, wantCount, c, "counts = %v", counts)
			}
			// Expr.Match on materialized users agrees with the lazy evaluator.
			e, err := ParseFilter(tc.filter)
			require.NoError(t, err)
			n := 0
			for i := range 2000 {
				if e.Match(d.UserAt(i)) {
					n++
				}
			}
			wantN := 0
			for _, s := range spec[1:2001] {
				if tc.pred(s) {
					wantN++
				}
			}
			assert.Equal(t, wantN, n, "Match on users 0..1999")
			assert.Equal(t, tc.pred(spec[0]), e.Match(d.Admin()), "Match(admin)")
			assert.Equal(t, len(want), d.Count(e), "Count")
		})
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }

func queryErr(t *testing.T, err error) *QueryError {
	t.Helper()
	var qe *QueryError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, 400, qe.Status, "status")
	return qe
}

// assertQueryCode checks that err is a 400 *QueryError with the given code.
func assertQueryCode(t *testing.T, err error, code string, msgAndArgs ...any) bool {
	t.Helper()
	if !assert.Error(t, err, msgAndArgs...) {
		return false
	}
	return assert.Equal(t, code, queryErr(t, err).Code, msgAndArgs...)
}

// TestGraphRules checks which filters Graph accepts by default, only in
// advanced queries, or never.
func TestGraphRules(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 100)
	ids := make([]string, 16)
	for i := range ids {
		ids[i] = "'" + d.UserAt(i).ID + "'"
	}
	const ok, uq, br = "", CodeUnsupportedQuery, CodeBadRequest
	for _, tc := range []struct {
		filter                    string
		defaultCode, advancedCode string
	}{
		{"city eq 'Milan'", ok, ok},
		{"accountEnabled ne true", uq, ok},
		{"not(city eq 'x')", uq, ok},
		{"endsWith(mail,'x')", uq, ok},
		{"endsWith(userPrincipalName,'x')", uq, ok},
		{"endsWith(displayName,'x')", uq, uq},
		{"companyName eq 'x'", uq, ok},
		{"startsWith(companyName,'x')", uq, ok},
		{"officeLocation eq 'x'", uq, ok},
		{"mobilePhone eq 'x'", uq, ok},
		{"postalCode in ('1')", uq, ok},
		{"preferredLanguage eq 'en'", uq, ok},
		{"streetAddress eq 'x'", uq, ok},
		{"city eq null", uq, ok},
		{"usageLocation eq null", uq, uq},
		{"userPrincipalName ne null", uq, uq},
		{"accountEnabled eq null", uq, uq},
		{"startsWith(userType,'M')", uq, uq},
		{"startsWith(id,'7')", uq, uq},
		{"userType eq 'Member'", ok, ok},
		{"employeeId eq '1'", ok, ok},
		{"id in (" + strings.Join(ids[:15], ",") + ")", ok, ok},
		{"id in (" + strings.Join(ids, ",") + ")", uq, uq},
		{"proxyAddresses/any(p:startsWith(city,'x'))", uq, uq},
		{"proxyAddresses/any(p:p eq null)", uq, uq},
		{"proxyAddresses/any(p:endsWith(p,'x'))", uq, ok},
		{"businessPhones/any(p:startsWith(p,'1'))", uq, uq},
		{"proxyAddresses/all(p:p eq 'x')", uq, uq},
		{"city gt 'a'", uq, uq},
		{"contains(city,'a')", uq, uq},
		{"city/any(c:c eq 'x')", uq, uq},
		{"frob(city)", br, br},
		{"foo eq 'x'", br, br},
		{"otherMails eq 'x'", br, br},
		{"accountEnabled eq 'true'", br, br},
		{"city eq true", br, br},
		{"city eq 5", br, br},
		{"startsWith(accountEnabled,'t')", br, br},
		{"startsWith(city,5)", br, br},
		{"city eq", br, br},
	} {
		for _, advanced := range []bool{false, true} {
			want := tc.defaultCode
			if advanced {
				want = tc.advancedCode
			}
			_, err := d.Query(Query{Filter: tc.filter, Count: advanced, ConsistencyEventual: advanced})
			if want == ok {
				assert.NoError(t, err, "%q advanced=%v", tc.filter, advanced)
				continue
			}
			if !assert.Error(t, err, "%q advanced=%v: accepted, want %s", tc.filter, advanced, want) {
				continue
			}
			qe := queryErr(t, err)
			assert.Equal(t, want, qe.Code, "%q advanced=%v: code (%s)", tc.filter, advanced, qe.Message)
		}
	}
	// Advanced means both the header and $count=true.
	for _, q := range []Query{
		{Filter: "accountEnabled ne true", Count: true},
		{Filter: "accountEnabled ne true", ConsistencyEventual: true},
	} {
		_, err := d.Query(q)
		assertQueryCode(t, err, uq, "%+v", q)
	}
	// Graph's message says what to add.
	_, err := d.Query(Query{Filter: "accountEnabled ne true"})
	assert.Contains(t, queryErr(t, err).Message, "ConsistencyLevel:eventual", "the message names the header")
	_, err = d.Query(Query{Filter: "foo eq 'x'"})
	assert.Equal(t, "Could not find a property named 'foo' on type 'microsoft.graph.user'.", queryErr(t, err).Message, "unknown property message")
}

func TestTop(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 500)
	for _, tc := range []struct {
		top, want int
	}{{0, 100}, {1, 1}, {999, 501}, {1000, -1}, {-1, -1}} {
		res, err := d.Query(Query{Top: tc.top})
		if tc.want < 0 {
			assertQueryCode(t, err, CodeRequestBadRequest, "top %d", tc.top)
			continue
		}
		assert.NoError(t, err, "top %d", tc.top)
		assert.Len(t, res.Users, tc.want, "top %d", tc.top)
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 10)
	keys := func(sel []string) []string {
		t.Helper()
		res, err := d.Query(Query{Select: sel, Top: 2})
		require.NoError(t, err)
		var objs []map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(res.Value(), &objs), "%s", res.Value())
		require.Len(t, objs, 2, "users in value")
		var ks []string
		for k := range objs[1] {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		want := slices.Clone(res.Select)
		slices.Sort(want)
		assert.Equal(t, want, ks, "JSON keys against Result.Select")
		return ks
	}
	assert.Equal(t, []string{"displayName", "usageLocation"}, keys([]string{"displayName", " UsageLocation", "displayName"}), "select displayName,usageLocation")
	assert.Equal(t, []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail",
		"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}, keys(nil), "default select")
	assert.Len(t, keys([]string{"*"}), len(Properties()), "select *")
	_, err := d.Query(Query{Select: []string{"displayName", "notAProperty"}})
	assertQueryCode(t, err, CodeBadRequest, "unknown $select property")
	// A declared property the directory keeps no value for is null ([] for
	// a collection).
	res, _ := d.Query(Query{Select: []string{"id", "createdDateTime", "AssignedLicenses"}, Top: 1})
	assert.Equal(t, fmt.Sprintf(`[{"id":"%s","createdDateTime":"2024-01-01T00:00:00Z","assignedLicenses":[]}]`, d.Admin().ID), string(res.Value()), "declared: value")
	assert.Equal(t, []string{"id", "createdDateTime", "assignedLicenses"}, res.Select, "declared: select")
	res, _ = d.Query(Query{Select: []string{"accountEnabled", "state", "proxyAddresses", "ID"}, Top: 1})
	assert.Equal(t, fmt.Sprintf(`[{"accountEnabled":true,"state":null,"proxyAddresses":["SMTP:admin@%s"],"id":"%s"}]`, specDomain, d.Admin().ID), string(res.Value()), "value")
}

func TestCount(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 3000)
	res, err := d.Query(Query{Count: true, ConsistencyEventual: true, Filter: "usageLocation eq 'IT'", Top: 10})
	require.NoError(t, err)
	require.Equal(t, 300, res.Count, "count")
	res, err = d.Query(Query{Count: true, ConsistencyEventual: true})
	require.NoError(t, err)
	require.Equal(t, 3001, res.Count, "unfiltered count")
	// Graph ignores $count=true without the header.
	res, err = d.Query(Query{Count: true, Filter: "usageLocation eq 'IT'"})
	require.NoError(t, err)
	require.Equal(t, -1, res.Count, "count without header")
}

func TestOrderBy(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 2500)
	spec := specUsers(specDomain, 2500)
	var asc []string
	for _, s := range spec {
		asc = append(asc, s.upn)
	}
	require.True(t, slices.IsSorted(asc), "listing order is not userPrincipalName order")
	got, _, _ := listAll(t, d, Query{OrderBy: "userPrincipalName"})
	assert.True(t, slices.Equal(got, asc), "$orderby=userPrincipalName is not ascending")
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	got, _, _ = listAll(t, d, Query{OrderBy: " displayName  DESC "})
	assert.True(t, slices.Equal(got, desc), "$orderby=displayName desc is not descending")
	got, _, _ = listAll(t, d, Query{OrderBy: "displayName desc", Filter: "usageLocation eq 'IT'", Count: true, ConsistencyEventual: true})
	if assert.Len(t, got, 250, "filtered desc, first %v", head(got)) {
		assert.Equal(t, "user02494@"+specDomain, got[0], "filtered desc: first")
	}
	for _, tc := range []struct {
		q    Query
		code string
	}{
		{Query{OrderBy: "displayName", Filter: "city eq 'Milan'"}, CodeUnsupportedQuery},
		{Query{OrderBy: "city"}, CodeUnsupportedQuery},
		{Query{OrderBy: "displayName,userPrincipalName"}, CodeUnsupportedQuery},
		{Query{OrderBy: "nope"}, CodeBadRequest},
		{Query{OrderBy: "displayName sideways"}, CodeBadRequest},
	} {
		_, err := d.Query(tc.q)
		assertQueryCode(t, err, tc.code, "%+v", tc.q)
	}
}

func TestSkipTokenValidation(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 300)
	first, err := d.Query(Query{Filter: "usageLocation eq 'IT'", Top: 5})
	require.NoError(t, err, "first page")
	require.NotEmpty(t, first.NextSkipToken, "first page: token")
	tok := first.NextSkipToken
	flipped := []byte(tok)
	flipped[len(flipped)/2] ^= 1
	other := New("another-tenant", specDomain, specCompany, 300)
	_, otherErr := other.Query(Query{Filter: "usageLocation eq 'IT'", Top: 5, SkipToken: tok})
	assertQueryCode(t, otherErr, CodeRequestBadRequest, "another tenant accepted the token")
	for name, q := range map[string]Query{
		"garbage":         {Filter: "usageLocation eq 'IT'", SkipToken: "not a token"},
		"empty base64":    {Filter: "usageLocation eq 'IT'", SkipToken: "AAAA"},
		"flipped bit":     {Filter: "usageLocation eq 'IT'", SkipToken: string(flipped)},
		"other filter":    {Filter: "usageLocation eq 'ES'", SkipToken: tok},
		"no filter":       {SkipToken: tok},
		"count added":     {Filter: "usageLocation eq 'IT'", SkipToken: tok, Count: true, ConsistencyEventual: true},
		"order changed":   {Filter: "usageLocation eq 'IT'", SkipToken: tok, OrderBy: "displayName desc", Count: true, ConsistencyEventual: true},
		"very long token": {SkipToken: strings.Repeat("A", 10000)},
	} {
		_, err := d.Query(q)
		assertQueryCode(t, err, CodeRequestBadRequest, name)
	}
	// The same filter in another spelling is the same query.
	next, err := d.Query(Query{Filter: "USAGELOCATION  eq  'IT'", Top: 5, SkipToken: tok})
	if assert.NoError(t, err, "equivalent filter") && assert.Len(t, next.Users, 5, "equivalent filter") {
		assert.Equal(t, 54, next.Users[0].Index, "equivalent filter: first user")
	}
	// Tokens survive rebuilding the same tenant.
	again := New(specTenant, specDomain, specCompany, 300)
	_, err = again.Query(Query{Filter: "usageLocation eq 'IT'", Top: 5, SkipToken: tok})
	assert.NoError(t, err, "rebuilt directory refused its token")
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 5000)
	id := d.UserAt(4321).ID
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 20 {
				// Not the test's goroutine: assert only.
				u, ok := d.User(id)
				assert.True(t, ok, "worker %d: User(id) found", w)
				assert.Equal(t, 4321, u.Index, "worker %d: User(id)", w)
				res, err := d.Query(Query{Filter: "usageLocation eq 'IT' or department eq 'Administration'", Top: 50, Count: true, ConsistencyEventual: true})
				if !assert.NoError(t, err, "worker %d", w) || !assert.NotEmpty(t, res.Users, "worker %d", w) {
					return
				}
				assert.Equal(t, 501, res.Count, "worker %d: count", w)
				assert.Equal(t, -1, res.Users[0].Index, "worker %d: first user", w)
				res.Users[0].ProxyAddresses[0] = "scribble" // must not reach the directory
			}
		})
	}
	wg.Wait()
	require.Equal(t, "SMTP:admin@"+specDomain, d.Admin().ProxyAddresses[0], "a query result aliased the admin")
}

func TestFilterByID(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 1000)
	for _, tc := range []struct {
		filter string
		want   []int // indexes, -1 the admin
	}{
		{"id eq '" + d.UserAt(777).ID + "'", []int{777}},
		{"id eq '" + strings.ToUpper(d.UserAt(777).ID) + "'", []int{777}},
		{"id in ('" + d.Admin().ID + "','" + d.UserAt(5).ID + "','not-a-uuid','" + New("x", "y", "z", 1).UserAt(0).ID + "')", []int{-1, 5}},
		{"id eq 'not-a-uuid'", nil},
	} {
		res, err := d.Query(Query{Filter: tc.filter, Top: 10})
		require.NoError(t, err, "%q", tc.filter)
		var got []int
		for _, u := range res.Users {
			got = append(got, u.Index)
		}
		assert.Equal(t, tc.want, got, "%q", tc.filter)
		e, _ := ParseFilter(tc.filter)
		assert.Equal(t, len(tc.want), d.Count(e), "%q: Count", tc.filter)
		for _, i := range tc.want {
			u := d.Admin()
			if i >= 0 {
				u = d.UserAt(i)
			}
			assert.True(t, e.Match(u), "%q does not Match user %d", tc.filter, i)
		}
	}
}
