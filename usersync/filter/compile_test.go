package filter_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync/filter"
)

func TestCompile(t *testing.T) {
	t.Parallel()
	in16 := make([]string, 16)
	want16 := make([]string, 16)
	for i := range in16 {
		in16[i] = fmt.Sprintf("City -eq 'c%d'", i)
		want16[i] = fmt.Sprintf("'c%d'", i)
	}
	tests := []struct {
		in       string
		graph    string
		advanced bool
		client   []string // Filter of the client-side parts
		sel      []string
	}{
		{in: "UsageLocation -eq 'IT'", graph: "usageLocation eq 'IT'", sel: []string{"usageLocation"}},
		{in: "", graph: ""},
		{in: "{ }", graph: ""},
		{in: "usagelocation -eq 'it'", graph: "usageLocation eq 'it'", sel: []string{"usageLocation"}},
		{in: "City -eq 'O''Brien'", graph: "city eq 'O''Brien'", sel: []string{"city"}},
		{in: `City -eq "' or 1 eq 1 or city eq '"`, graph: "city eq ''' or 1 eq 1 or city eq '''", sel: []string{"city"}},
		{in: "City -ne 'Milan'", graph: "city ne 'Milan'", advanced: true, sel: []string{"city"}},
		{in: "City -eq $null", graph: "city eq null", advanced: true, sel: []string{"city"}},
		{in: "City -ne $null", graph: "city ne null", advanced: true, sel: []string{"city"}},
		{in: "UsageLocation -eq $null", client: []string{"UsageLocation -eq $null"}, sel: []string{"usageLocation"}},
		{in: "City -like 'Mil*'", graph: "startsWith(city,'Mil')", sel: []string{"city"}},
		{in: "City -like 'Milan'", graph: "city eq 'Milan'", sel: []string{"city"}},
		{in: "City -like 'Mil`*'", graph: "city eq 'Mil*'", sel: []string{"city"}},
		{in: "City -like 'Mil**'", graph: "startsWith(city,'Mil')", sel: []string{"city"}},
		{in: "City -like '*lan'", client: []string{"City -like '*lan'"}, sel: []string{"city"}},
		{in: "City -like '*ila*'", client: []string{"City -like '*ila*'"}, sel: []string{"city"}},
		{in: "City -like 'M?lan'", client: []string{"City -like 'M?lan'"}, sel: []string{"city"}},
		{in: "City -like '[mM]ilan'", client: []string{"City -like '[mM]ilan'"}, sel: []string{"city"}},
		{in: "City -like ''", client: []string{"City -like ''"}, sel: []string{"city"}},
		{in: "City -like '*'", client: []string{"City -like '*'"}, sel: []string{"city"}},
		{in: "UserPrincipalName -like '*@contoso.com'", graph: "endsWith(userPrincipalName,'@contoso.com')", advanced: true, sel: []string{"userPrincipalName"}},
		{in: "Mail -like '*@contoso.com'", graph: "endsWith(mail,'@contoso.com')", advanced: true, sel: []string{"mail"}},
		{in: "UserPrincipalName -notlike '*@contoso.com'", client: []string{"UserPrincipalName -notlike '*@contoso.com'"}, sel: []string{"userPrincipalName"}},
		{in: "DisplayName -notlike 'Conf*'", graph: "not(startsWith(displayName,'Conf'))", advanced: true, sel: []string{"displayName"}},
		{in: "City -notlike 'M*'", graph: "not(startsWith(city,'M')) or city eq null", advanced: true, sel: []string{"city"}},
		{in: "-not (City -like 'M*')", graph: "not(startsWith(city,'M')) or city eq null", advanced: true, sel: []string{"city"}},
		{in: "Title -notlike 'Eng*'", client: []string{"Title -notlike 'Eng*'"}, sel: []string{"jobTitle"}},
		{in: "-not (City -eq 'Milan')", graph: "city ne 'Milan'", advanced: true, sel: []string{"city"}},
		{in: "AccountEnabled -eq $true", graph: "accountEnabled eq true", sel: []string{"accountEnabled"}},
		{in: "AccountEnabled -ne $true", graph: "accountEnabled eq false", sel: []string{"accountEnabled"}},
		{in: "-not (AccountEnabled -eq $false)", graph: "accountEnabled eq true", sel: []string{"accountEnabled"}},
		{in: "AccountEnabled -eq 'False'", graph: "accountEnabled eq false", sel: []string{"accountEnabled"}},
		{in: "AccountEnabled -eq $null", client: []string{"AccountEnabled -eq $null"}, sel: []string{"accountEnabled"}},
		{in: "Company -eq 'Contoso Ltd'", graph: "companyName eq 'Contoso Ltd'", advanced: true, sel: []string{"companyName"}},
		{in: "Office -like 'Milan*'", graph: "startsWith(officeLocation,'Milan')", advanced: true, sel: []string{"officeLocation"}},
		{in: "City -contains 'Milan'", graph: "city eq 'Milan'", sel: []string{"city"}},
		{in: "ProxyAddresses -contains 'smtp:a@contoso.com'", graph: "proxyAddresses/any(x:x eq 'smtp:a@contoso.com')", sel: []string{"proxyAddresses"}},
		{in: "ProxyAddresses -like 'SMTP:*'", graph: "proxyAddresses/any(x:startsWith(x,'SMTP:'))", sel: []string{"proxyAddresses"}},
		{in: "ProxyAddresses -like '*@contoso.com'", graph: "proxyAddresses/any(x:endsWith(x,'@contoso.com'))", advanced: true, sel: []string{"proxyAddresses"}},
		{in: "ProxyAddresses -notcontains 'x'", graph: "not(proxyAddresses/any(x:x eq 'x'))", advanced: true, sel: []string{"proxyAddresses"}},
		{in: "ProxyAddresses -eq $null", client: []string{"ProxyAddresses -eq $null"}, sel: []string{"proxyAddresses"}},
		{
			in:    "UsageLocation -eq 'IT' -and City -like '*ila*'",
			graph: "usageLocation eq 'IT'", client: []string{"City -like '*ila*'"}, sel: []string{"city", "usageLocation"},
		},
		{
			in:    "UsageLocation -eq 'IT' -or UsageLocation -eq 'DE' -or UsageLocation -eq 'fr'",
			graph: "usageLocation in ('IT','DE','fr')", sel: []string{"usageLocation"},
		},
		{
			in:    "UsageLocation -eq 'IT' -or UsageLocation -eq 'it'",
			graph: "usageLocation eq 'IT'", sel: []string{"usageLocation"},
		},
		{
			in:    "(Department -eq 'Sales' -or Department -eq 'Support' -or City -eq 'Milan') -and Title -eq 'Manager'",
			graph: "(department in ('Sales','Support') or city eq 'Milan') and jobTitle eq 'Manager'", sel: []string{"city", "department", "jobTitle"},
		},
		{
			in:    strings.Join(in16, " -or "),
			graph: "city in (" + strings.Join(want16[:15], ",") + ") or city eq 'c15'", sel: []string{"city"},
		},
		{
			// An -or with a branch Graph cannot evaluate runs client-side as a whole.
			in:     "UsageLocation -eq 'IT' -and (City -eq 'Milan' -or City -like '*ome')",
			graph:  "usageLocation eq 'IT'",
			client: []string{"City -eq 'Milan' -or City -like '*ome'"}, sel: []string{"city", "usageLocation"},
		},
		{
			// -not is pushed down to the comparisons (De Morgan).
			in:    "-not (City -eq 'Milan' -or Department -eq 'Sales')",
			graph: "city ne 'Milan' and department ne 'Sales'", advanced: true, sel: []string{"city", "department"},
		},
		{
			in:    "-not (City -eq 'Milan' -and Department -eq 'Sales')",
			graph: "city ne 'Milan' or department ne 'Sales'", advanced: true, sel: []string{"city", "department"},
		},
		{
			// PowerShell evaluates -and and -or left to right.
			in:    "City -eq 'Milan' -or City -eq 'Rome' -and Department -eq 'Sales'",
			graph: "city in ('Milan','Rome') and department eq 'Sales'", sel: []string{"city", "department"},
		},
		{
			// Nesting deeper than three levels stays client-side.
			in:     "City -eq 'a' -and (City -eq 'b' -or (Title -eq 'c' -and (Department -eq 'd' -or (Country -eq 'e' -and State -eq 'f'))))",
			graph:  "city eq 'a'",
			client: []string{"City -eq 'b' -or (Title -eq 'c' -and (Department -eq 'd' -or (Country -eq 'e' -and State -eq 'f')))"},
			sel:    []string{"city", "country", "department", "jobTitle", "state"},
		},
	}
	for _, tt := range tests {
		plan, err := filter.Compile(tt.in)
		if !assert.NoError(t, err, "Compile(%q)", tt.in) {
			continue
		}
		var client []string
		for _, p := range plan.ClientSide {
			client = append(client, p.Filter)
			assert.NotEmpty(t, p.Reason, "Compile(%q): client-side part %q has no reason", tt.in, p.Filter)
		}
		assert.Equal(t, tt.graph, plan.GraphFilter, "Compile(%q): graph filter", tt.in)
		assert.Equal(t, tt.advanced, plan.Advanced, "Compile(%q): advanced", tt.in)
		assert.True(t, slices.Equal(tt.client, client), "Compile(%q): client-side parts %q, want %q", tt.in, client, tt.client)
		assert.True(t, slices.Equal(tt.sel, plan.Select), "Compile(%q): select %q, want %q", tt.in, plan.Select, tt.sel)
		assert.Equal(t, plan.GraphFilter == "", len(plan.Pushed) == 0, "Compile(%q): pushed parts %+v, graph filter %q", tt.in, plan.Pushed, plan.GraphFilter)
		if len(plan.Pushed) == 1 {
			assert.Equal(t, plan.GraphFilter, plan.Pushed[0].Graph, "Compile(%q): the one pushed part is the graph filter", tt.in)
		}
		for _, p := range plan.Pushed {
			assert.Contains(t, plan.GraphFilter, p.Graph, "Compile(%q): pushed part is not in the graph filter", tt.in)
		}
	}
}

func TestCompileOptions(t *testing.T) {
	t.Parallel()
	plan, err := filter.Options{NoAdvanced: true}.Compile("UsageLocation -eq 'IT' -and City -ne 'Milan' -and Company -eq 'Contoso Ltd'")
	require.NoError(t, err)
	assert.Equal(t, "usageLocation eq 'IT'", plan.GraphFilter, "NoAdvanced: %s", plan)
	assert.False(t, plan.Advanced, "NoAdvanced: %s", plan)
	assert.Len(t, plan.ClientSide, 2, "NoAdvanced: %s", plan)
	for _, p := range plan.ClientSide {
		assert.Contains(t, p.Reason, "NoAdvanced", "NoAdvanced: the reason does not name the option")
	}
	plan, err = filter.Options{MaxInValues: 2}.Compile("City -eq 'a' -or City -eq 'b' -or City -eq 'c'")
	require.NoError(t, err)
	assert.Equal(t, "city in ('a','b') or city eq 'c'", plan.GraphFilter, "MaxInValues 2")
	plan, err = filter.Options{MaxDepth: 1}.Compile("City -eq 'a' -and (City -eq 'b' -or (Title -eq 'c' -and Country -eq 'd'))")
	require.NoError(t, err)
	assert.Equal(t, "city eq 'a'", plan.GraphFilter, "MaxDepth 1: %s", plan)
	if assert.Len(t, plan.ClientSide, 1, "MaxDepth 1: %s", plan) {
		assert.Contains(t, plan.ClientSide[0].Reason, "deeper than 1", "MaxDepth 1: %s", plan)
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		kind   filter.AttributeErrorKind
		offset int
		msg    string // substring of Error()
	}{
		{"SipAddress -eq 'sip:a@b'", filter.TeamsOnlyAttribute, 0, `attribute "SipAddress" is Teams-only at 0 (line 1, column 1): neither Microsoft Graph /users nor /admin/teams/userConfigurations carries it`},
		{"City -eq 'x' -and HostedVoiceMail -eq $true", filter.TeamsOnlyAttribute, 18, `"HostedVoiceMail" is Teams-only`},
		{"VoicePolicy -eq 'x'", filter.TeamsOnlyAttribute, 0, "the policy attributes a filter can use: TeamsCallingPolicy, OnlineVoiceRoutingPolicy"},
		{"Citty -eq 'x'", filter.UnknownAttribute, 0, `unknown attribute "Citty" at 0 (line 1, column 1): it is neither a Microsoft Graph user property nor a Teams Phone System attribute; did you mean City?`},
		{"LineUrl -like 'tel:+39*'", filter.UnknownAttribute, 0, "did you mean LineUri?"},
		{"EnterpriseVoiceEnabled -like 'T*'", filter.InvalidComparison, 0, "compare it with -eq or -ne"},
		{"UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq 'yes'", filter.InvalidComparison, 28, "takes $true or $false, not 'yes'"},
		{"City -eq 'x' -and LineUri -eq $true", filter.InvalidComparison, 18, "LineUri is text"},
		{"FeatureTypes -ne 'PhoneSystem'", filter.InvalidComparison, 0, "FeatureTypes -notcontains 'PhoneSystem'"},
		{"(Department -eq 'Sales' -or OnlineVoiceRoutingPolicy -like '[VRP') -and AccountEnabled -eq $true", filter.InvalidComparison, 28, "no closing ']'"},
		{"Frobnicate -eq 'x'", filter.UnknownAttribute, 0, "use one of UserPrincipalName, DisplayName"},
		{"AccountEnabled -like 'T*'", filter.InvalidComparison, 0, "compare it with -eq or -ne"},
		{"AccountEnabled -eq 'yes'", filter.InvalidComparison, 0, "takes $true or $false, not 'yes'"},
		{"City -eq $true", filter.InvalidComparison, 0, "is text"},
		{"City -like $null", filter.InvalidComparison, 0, "needs a quoted wildcard pattern"},
		{"City -like '[ab'", filter.InvalidComparison, 0, "no closing ']'"},
		{"City -like 'a[]'", filter.InvalidComparison, 0, "empty '[]'"},
		{"ProxyAddresses -ne 'x'", filter.InvalidComparison, 0, "-notcontains"},
		{"ProxyAddresses -notlike 'x*'", filter.InvalidComparison, 0, "-not (ProxyAddresses -like 'x*')"},
	}
	for _, tt := range tests {
		_, err := filter.Compile(tt.in)
		var ae *filter.AttributeError
		if !assert.ErrorAs(t, err, &ae, "Compile(%q)", tt.in) {
			continue
		}
		assert.Equal(t, tt.kind, ae.Kind, "Compile(%q): kind", tt.in)
		assert.Equal(t, tt.offset, ae.Offset, "Compile(%q): offset", tt.in)
		assert.ErrorContains(t, err, tt.msg, "Compile(%q)", tt.in)
	}
	_, err := filter.Compile("City -eq")
	assert.ErrorAs(t, err, new(*filter.SyntaxError), "Compile(syntax error)")
}

func TestAttributes(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"UserPrincipalName": "userPrincipalName", "DisplayName": "displayName", "GivenName": "givenName",
		"LastName": "surname", "Title": "jobTitle", "Department": "department", "Company": "companyName",
		"City": "city", "StateOrProvince": "state", "Country": "country", "UsageLocation": "usageLocation",
		"AccountEnabled": "accountEnabled", "Street": "streetAddress",
	}
	for name, graph := range want {
		at, ok := filter.LookupAttribute(strings.ToUpper(name))
		assert.True(t, ok, "LookupAttribute(%q) found", name)
		assert.Equal(t, graph, at.Graph, "LookupAttribute(%q)", name)
	}
	for _, at := range filter.Attributes() {
		if at.EndsWith != filter.Unsupported {
			assert.Contains(t, []string{"mail", "otherMails", "userPrincipalName", "proxyAddresses"}, at.Graph, "%s: endsWith on a property that is not mail-like", at.Name)
		}
		if at.Eq == filter.Unsupported {
			assert.True(t, at.Teams, "%s: not filterable by eq", at.Name)
		}
	}
	// The table is a copy: changing it changes nothing.
	attrs := filter.Attributes()
	attrs[0].Graph = "hacked"
	at, _ := filter.LookupAttribute(attrs[0].Name)
	assert.NotEqual(t, "hacked", at.Graph, "Attributes returned the table itself")
}

// TestCompileLargeFilter compiles the longest accepted filter, a long -or
// chain, to check nothing in parsing, compiling or rendering is quadratic.
func TestCompileLargeFilter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 0; b.Len() < filter.MaxFilterLength-40; i++ {
		if i > 0 {
			b.WriteString(" -or ")
		}
		fmt.Fprintf(&b, "City -eq 'c%d'", i)
	}
	plan, err := filter.Compile(b.String())
	require.NoError(t, err)
	// Thousands of values would take hundreds of queries: past
	// Options.MaxQueries the -or runs client-side, and the plan says why.
	values := strings.Count(b.String(), "-or") + 1
	assert.Empty(t, plan.GraphFilter, "plan of %d values: graph filter", values)
	if assert.Len(t, plan.Queries, 1, "plan of %d values: queries", values) {
		assert.Empty(t, plan.Queries[0].Filter, "plan of %d values: the query's filter", values)
	}
	if assert.Len(t, plan.ClientSide, 1, "plan of %d values: client side", values) {
		assert.Contains(t, plan.ClientSide[0].Reason, "MaxQueries", "plan of %d values: client side", values)
	}
	assert.True(t, plan.Match(filter.MapUser{"city": "C17"}), "the large filter does not match c17")
}

// TestCompileSplitsPastGraphLimits: 60 UserPrincipalName -eq terms are
// past Graph's query limits as one request; the plan splits them into
// queries of at most 15 values each, and says so.
func TestCompileSplitsPastGraphLimits(t *testing.T) {
	t.Parallel()
	var terms []string
	for i := range 60 {
		terms = append(terms, fmt.Sprintf("UserPrincipalName -eq 'user%05d@contoso.onmicrosoft.com'", i))
	}
	for _, tc := range []struct {
		name, filter string
		queries      int
		each         string
	}{
		{"60 upns", strings.Join(terms, " -or "), 4, ""},
		{"60 upns and enabled", "AccountEnabled -eq $true -and (" + strings.Join(terms, " -or ") + ")", 5, "accountEnabled eq true and userPrincipalName in ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := filter.Compile(tc.filter)
			require.NoError(t, err)
			require.Len(t, plan.Queries, tc.queries, "queries\n%s", plan)
			require.NotEmpty(t, plan.Split, "split\n%s", plan)
			require.Empty(t, plan.ClientSide, "client side\n%s", plan)
			values := 0
			for _, q := range plan.Queries {
				assert.True(t, strings.HasPrefix(q.Filter, tc.each), "query %q lacks the other parts %q", q.Filter, tc.each)
				values += strings.Count(q.Filter, "@contoso.onmicrosoft.com")
				assert.NoError(t, m365test.CheckUserQueryLimits(q.Filter, q.Advanced, 600+len(q.Filter)*2), "query %q", q.Filter)
			}
			assert.Equal(t, 60, values, "values the queries name")
			assert.Contains(t, plan.String(), "merged by user ID", "the plan does not say it splits")
		})
	}
}
