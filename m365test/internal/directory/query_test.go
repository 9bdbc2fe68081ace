package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
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
		if err != nil {
			t.Fatalf("Query(%+v) page %d: %v", q, pages, err)
		}
		pages++
		if len(res.Users) > MaxTop {
			t.Fatalf("page of %d users", len(res.Users))
		}
		if res.NextSkipToken != "" && len(res.Users) != MaxTop {
			t.Fatalf("page %d has %d users and a next link", pages, len(res.Users))
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
	if len(upns) != len(spec) {
		t.Fatalf("listed %d users, want %d", len(upns), len(spec))
	}
	for i, s := range spec {
		if upns[i] != s.upn {
			t.Fatalf("position %d = %s, want %s", i, upns[i], s.upn)
		}
	}
	if want := (specN + 1 + MaxTop - 1) / MaxTop; pages != want {
		t.Errorf("pages = %d, want %d", pages, want)
	}
	for _, c := range counts {
		if c != -1 {
			t.Fatalf("count = %d without $count", c)
		}
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
			if tc.want >= 0 && len(want) != tc.want {
				t.Fatalf("the test's model selects %d users, the spec says %d", len(want), tc.want)
			}
			q := Query{Filter: tc.filter, Count: tc.advanced, ConsistencyEventual: tc.advanced}
			got, counts, _ := listAll(t, d, q)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d users, want %d (first got %v, first want %v)", len(got), len(want), head(got), head(want))
			}
			for _, c := range counts {
				if tc.advanced && c != len(want) || !tc.advanced && c != -1 {
					t.Fatalf("counts = %v, want %d on every page", counts, len(want))
				}
			}
			// Expr.Match on materialized users agrees with the lazy evaluator.
			e, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
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
			if n != wantN {
				t.Errorf("Match on users 0..1999: %d, want %d", n, wantN)
			}
			if e.Match(d.Admin()) != tc.pred(spec[0]) {
				t.Errorf("Match(admin) = %v", !tc.pred(spec[0]))
			}
			if c := d.Count(e); c != len(want) {
				t.Errorf("Count = %d, want %d", c, len(want))
			}
		})
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }

func queryErr(t *testing.T, err error) *QueryError {
	t.Helper()
	var qe *QueryError
	if !errors.As(err, &qe) {
		t.Fatalf("error %v (%T) is not a *QueryError", err, err)
	}
	if qe.Status != 400 {
		t.Errorf("status = %d, want 400", qe.Status)
	}
	return qe
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
				if err != nil {
					t.Errorf("%q advanced=%v: %v", tc.filter, advanced, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("%q advanced=%v: accepted, want %s", tc.filter, advanced, want)
				continue
			}
			if qe := queryErr(t, err); qe.Code != want {
				t.Errorf("%q advanced=%v: code %s (%s), want %s", tc.filter, advanced, qe.Code, qe.Message, want)
			}
		}
	}
	// Advanced means both the header and $count=true.
	for _, q := range []Query{
		{Filter: "accountEnabled ne true", Count: true},
		{Filter: "accountEnabled ne true", ConsistencyEventual: true},
	} {
		if _, err := d.Query(q); err == nil || queryErr(t, err).Code != uq {
			t.Errorf("%+v: err = %v, want %s", q, err, uq)
		}
	}
	// Graph's message says what to add.
	_, err := d.Query(Query{Filter: "accountEnabled ne true"})
	if msg := queryErr(t, err).Message; !strings.Contains(msg, "ConsistencyLevel:eventual") {
		t.Errorf("message %q does not name the header", msg)
	}
	_, err = d.Query(Query{Filter: "foo eq 'x'"})
	if msg := queryErr(t, err).Message; msg != "Could not find a property named 'foo' on type 'microsoft.graph.user'." {
		t.Errorf("unknown property message %q", msg)
	}
}

func TestTop(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 500)
	for _, tc := range []struct {
		top, want int
	}{{0, 100}, {1, 1}, {999, 501}, {1000, -1}, {-1, -1}} {
		res, err := d.Query(Query{Top: tc.top})
		if tc.want < 0 {
			if err == nil || queryErr(t, err).Code != CodeRequestBadRequest {
				t.Errorf("top %d: err = %v, want %s", tc.top, err, CodeRequestBadRequest)
			}
			continue
		}
		if err != nil || len(res.Users) != tc.want {
			t.Errorf("top %d: %d users, %v; want %d", tc.top, len(res.Users), err, tc.want)
		}
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 10)
	keys := func(sel []string) []string {
		t.Helper()
		res, err := d.Query(Query{Select: sel, Top: 2})
		if err != nil {
			t.Fatal(err)
		}
		var objs []map[string]json.RawMessage
		if err := json.Unmarshal(res.Value(), &objs); err != nil {
			t.Fatalf("%s: %v", res.Value(), err)
		}
		if len(objs) != 2 {
			t.Fatalf("value has %d users", len(objs))
		}
		var ks []string
		for k := range objs[1] {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		want := slices.Clone(res.Select)
		slices.Sort(want)
		if !slices.Equal(ks, want) {
			t.Errorf("JSON keys %v, Result.Select %v", ks, res.Select)
		}
		return ks
	}
	if got := keys([]string{"displayName", " UsageLocation", "displayName"}); !slices.Equal(got, []string{"displayName", "usageLocation"}) {
		t.Errorf("select displayName,usageLocation: %v", got)
	}
	if got := keys(nil); !slices.Equal(got, []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail",
		"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}) {
		t.Errorf("default select: %v", got)
	}
	if got := keys([]string{"*"}); len(got) != len(Properties()) {
		t.Errorf("select *: %v", got)
	}
	_, err := d.Query(Query{Select: []string{"displayName", "notAProperty"}})
	if err == nil || queryErr(t, err).Code != CodeBadRequest {
		t.Errorf("unknown $select property: %v", err)
	}
	// A declared property the directory keeps no value for is null ([] for
	// a collection).
	res, _ := d.Query(Query{Select: []string{"id", "createdDateTime", "AssignedLicenses"}, Top: 1})
	if got, want := string(res.Value()), fmt.Sprintf(`[{"id":"%s","createdDateTime":"2024-01-01T00:00:00Z","assignedLicenses":[]}]`, d.Admin().ID); got != want || !slices.Equal(res.Select, []string{"id", "createdDateTime", "assignedLicenses"}) {
		t.Errorf("declared: value = %s (select %v), want %s", got, res.Select, want)
	}
	res, _ = d.Query(Query{Select: []string{"accountEnabled", "state", "proxyAddresses", "ID"}, Top: 1})
	if got, want := string(res.Value()), fmt.Sprintf(`[{"accountEnabled":true,"state":null,"proxyAddresses":["SMTP:admin@%s"],"id":"%s"}]`, specDomain, d.Admin().ID); got != want {
		t.Errorf("value = %s, want %s", got, want)
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 3000)
	res, err := d.Query(Query{Count: true, ConsistencyEventual: true, Filter: "usageLocation eq 'IT'", Top: 10})
	if err != nil || res.Count != 300 {
		t.Fatalf("count = %d, %v; want 300", res.Count, err)
	}
	res, err = d.Query(Query{Count: true, ConsistencyEventual: true})
	if err != nil || res.Count != 3001 {
		t.Fatalf("unfiltered count = %d, %v; want 3001", res.Count, err)
	}
	// Graph ignores $count=true without the header.
	res, err = d.Query(Query{Count: true, Filter: "usageLocation eq 'IT'"})
	if err != nil || res.Count != -1 {
		t.Fatalf("count without header = %d, %v; want -1", res.Count, err)
	}
}

func TestOrderBy(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 2500)
	spec := specUsers(specDomain, 2500)
	var asc []string
	for _, s := range spec {
		asc = append(asc, s.upn)
	}
	if !slices.IsSorted(asc) {
		t.Fatal("listing order is not userPrincipalName order")
	}
	got, _, _ := listAll(t, d, Query{OrderBy: "userPrincipalName"})
	if !slices.Equal(got, asc) {
		t.Error("$orderby=userPrincipalName is not ascending")
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	got, _, _ = listAll(t, d, Query{OrderBy: " displayName  DESC "})
	if !slices.Equal(got, desc) {
		t.Error("$orderby=displayName desc is not descending")
	}
	got, _, _ = listAll(t, d, Query{OrderBy: "displayName desc", Filter: "usageLocation eq 'IT'", Count: true, ConsistencyEventual: true})
	if len(got) != 250 || got[0] != "user02494@"+specDomain {
		t.Errorf("filtered desc: %d users, first %v", len(got), head(got))
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
		if _, err := d.Query(tc.q); err == nil || queryErr(t, err).Code != tc.code {
			t.Errorf("%+v: err = %v, want %s", tc.q, err, tc.code)
		}
	}
}

func TestSkipTokenValidation(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 300)
	first, err := d.Query(Query{Filter: "usageLocation eq 'IT'", Top: 5})
	if err != nil || first.NextSkipToken == "" {
		t.Fatalf("first page: %v, token %q", err, first.NextSkipToken)
	}
	tok := first.NextSkipToken
	flipped := []byte(tok)
	flipped[len(flipped)/2] ^= 1
	other := New("another-tenant", specDomain, specCompany, 300)
	_, otherErr := other.Query(Query{Filter: "usageLocation eq 'IT'", Top: 5, SkipToken: tok})
	if otherErr == nil || queryErr(t, otherErr).Code != CodeRequestBadRequest {
		t.Errorf("another tenant accepted the token: %v", otherErr)
	}
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
		if _, err := d.Query(q); err == nil || queryErr(t, err).Code != CodeRequestBadRequest {
			t.Errorf("%s: err = %v, want %s", name, err, CodeRequestBadRequest)
		}
	}
	// The same filter in another spelling is the same query.
	next, err := d.Query(Query{Filter: "USAGELOCATION  eq  'IT'", Top: 5, SkipToken: tok})
	if err != nil || len(next.Users) != 5 || next.Users[0].Index != 54 {
		t.Errorf("equivalent filter: %v, %+v", err, next.Users)
	}
	// Tokens survive rebuilding the same tenant.
	again := New(specTenant, specDomain, specCompany, 300)
	if _, err := again.Query(Query{Filter: "usageLocation eq 'IT'", Top: 5, SkipToken: tok}); err != nil {
		t.Errorf("rebuilt directory refused its token: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 5000)
	id := d.UserAt(4321).ID
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 20 {
				if u, ok := d.User(id); !ok || u.Index != 4321 {
					t.Errorf("worker %d: User(id) = %d, %v", w, u.Index, ok)
				}
				res, err := d.Query(Query{Filter: "usageLocation eq 'IT' or department eq 'Administration'", Top: 50, Count: true, ConsistencyEventual: true})
				if err != nil || res.Count != 501 || res.Users[0].Index != -1 {
					t.Errorf("worker %d: %v count %d", w, err, res.Count)
				}
				res.Users[0].ProxyAddresses[0] = "scribble" // must not reach the directory
			}
		})
	}
	wg.Wait()
	if d.Admin().ProxyAddresses[0] != "SMTP:admin@"+specDomain {
		t.Fatal("a query result aliased the admin")
	}
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
		if err != nil {
			t.Fatalf("%q: %v", tc.filter, err)
		}
		var got []int
		for _, u := range res.Users {
			got = append(got, u.Index)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q = %v, want %v", tc.filter, got, tc.want)
		}
		e, _ := ParseFilter(tc.filter)
		if n := d.Count(e); n != len(tc.want) {
			t.Errorf("%q: Count = %d, want %d", tc.filter, n, len(tc.want))
		}
		for _, i := range tc.want {
			u := d.Admin()
			if i >= 0 {
				u = d.UserAt(i)
			}
			if !e.Match(u) {
				t.Errorf("%q does not Match user %d", tc.filter, i)
			}
		}
	}
}
