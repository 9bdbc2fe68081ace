package filter_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync/filter"
	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

// The demo tenant's data domain (package m365test's documentation, "Demo
// data").
var (
	demoLocations = []struct{ code, country, city string }{
		{"US", "United States", "Seattle"}, {"GB", "United Kingdom", "London"}, {"DE", "Germany", "Berlin"},
		{"FR", "France", "Paris"}, {"IT", "Italy", "Milan"}, {"ES", "Spain", "Madrid"},
		{"NL", "Netherlands", "Amsterdam"}, {"SE", "Sweden", "Stockholm"}, {"PL", "Poland", "Warsaw"},
		{"JP", "Japan", "Tokyo"},
	}
	demoDepartments = []string{"Sales", "Engineering", "Support", "Finance", "Marketing"}
	demoTitles      = []string{"Engineer", "Manager", "Analyst", "Director"}
	// hostileValues try to break out of quotes or confuse case folding.
	hostileValues = []string{"O'Brien", "'", "''", "it's 'quoted'", "a*b", "x) or (1 eq 1", "' or true or 'a' eq 'a",
		"Zürich", "ÅSA", "back`tick", `dou"ble`, "smart’quote", "50% [off]", "?",
		// Longer than Graph's 120 characters for eq in a plain query.
		strings.Repeat("long value ", 12)}
	extraValues = map[string][]string{
		"givenName":         {"Anna", "Marco", "Giulia", "O'Brien"},
		"surname":           {"Rossi", "Bianchi", "Smith", "D'Angelo"},
		"state":             {"WA", "Lombardia", "Bayern"},
		"streetAddress":     {"Via Roma 1", "1 Main St"},
		"postalCode":        {"20121", "98101", "10115"},
		"mobilePhone":       {"+39 333 1234567", "+1 206 555 0100"},
		"preferredLanguage": {"en-US", "it-IT", "de-DE"},
	}
)

// demoUser is user i of the demo tenant contoso.onmicrosoft.com, as Graph
// returns it in JSON.
func demoUser(i int) map[string]any {
	loc := demoLocations[i%10]
	upn := fmt.Sprintf("user%05d@contoso.onmicrosoft.com", i)
	return map[string]any{
		"userPrincipalName": upn,
		"mail":              upn,
		"displayName":       fmt.Sprintf("User %05d", i),
		"mailNickname":      fmt.Sprintf("user%05d", i),
		"usageLocation":     loc.code,
		"country":           loc.country,
		"city":              loc.city,
		"officeLocation":    loc.city + " Office",
		"department":        demoDepartments[(i/10)%5],
		"jobTitle":          demoTitles[(i/50)%4],
		"accountEnabled":    i%20 != 19,
		"companyName":       "Contoso Ltd",
		"proxyAddresses":    []any{"SMTP:" + upn, fmt.Sprintf("smtp:user%05d@contoso.com", i)},
	}
}

type generator struct {
	r      *rand.Rand
	attrs  []filter.Attribute
	domain map[string][]string // Graph property -> values seen
}

func newGenerator(seed uint64) *generator {
	g := &generator{r: rand.New(rand.NewPCG(seed, 42)), attrs: entraAttributes(), domain: map[string][]string{}}
	for i := range 200 {
		for k, v := range demoUser(i * 7) {
			switch v := v.(type) {
			case string:
				g.domain[k] = append(g.domain[k], v)
			case []any:
				for _, s := range v {
					g.domain[k] = append(g.domain[k], s.(string))
				}
			}
		}
	}
	g.domain["department"] = append(g.domain["department"], "Administration")
	g.domain["jobTitle"] = append(g.domain["jobTitle"], "Global Administrator")
	for k, v := range extraValues {
		g.domain[k] = append(g.domain[k], v...)
	}
	for k := range g.domain {
		slices.Sort(g.domain[k])
		g.domain[k] = slices.Compact(g.domain[k])
	}
	return g
}

func (g *generator) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *generator) recase(s string) string {
	switch g.r.IntN(4) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		return strings.ToLower(s)
	}
	return s
}

// user returns a random user: a demo user with some properties missing,
// recased or replaced by hostile values.
func (g *generator) user() map[string]any {
	u := demoUser(g.r.IntN(1000))
	for _, at := range g.attrs {
		p := at.Graph
		if vals, ok := extraValues[p]; ok && g.r.IntN(2) == 0 {
			u[p] = g.pick(vals)
		}
		if at.Nullable && g.r.IntN(7) == 0 {
			delete(u, p)
			continue
		}
		if at.Type == filter.TypeString {
			if s, ok := u[p].(string); ok {
				switch g.r.IntN(10) {
				case 0:
					u[p] = g.pick(hostileValues)
				case 1:
					u[p] = g.recase(s)
				}
			}
		}
	}
	if g.r.IntN(10) == 0 {
		u["proxyAddresses"] = []any{}
	}
	return u
}

func (g *generator) value(p string) string {
	if g.r.IntN(8) == 0 || len(g.domain[p]) == 0 {
		return g.pick(hostileValues)
	}
	return g.recase(g.pick(g.domain[p]))
}

// escapeWild escapes PowerShell wildcard characters with a backtick.
func escapeWild(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("*?[]`", r) {
			b.WriteByte('`')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pattern returns a -like pattern built from a value of p.
func (g *generator) pattern(p string) string {
	v := []rune(g.value(p))
	i := g.r.IntN(len(v) + 1)
	j := i + g.r.IntN(len(v)-i+1)
	switch g.r.IntN(9) {
	case 0:
		return escapeWild(string(v))
	case 1, 2:
		return escapeWild(string(v[:i])) + "*"
	case 3, 4:
		return "*" + escapeWild(string(v[i:]))
	case 5:
		return "*" + escapeWild(string(v[i:j])) + "*"
	case 6:
		if len(v) == 0 {
			return "*"
		}
		return escapeWild(string(v[:i])) + "?" + escapeWild(string(v[min(i+1, len(v)):]))
	case 7:
		if i == len(v) {
			return "[a-m]*"
		}
		return escapeWild(string(v[:i])) + "[" + strings.ToLower(string(v[i])) + "xyz]*"
	}
	return escapeWild(string(v[:i])) + "*" + escapeWild(string(v[j:]))
}

func (g *generator) comparison() *syntax.Comparison {
	at := g.attrs[g.r.IntN(len(g.attrs))]
	name := at.Name
	if len(at.Aliases) > 0 && g.r.IntN(3) == 0 {
		name = g.pick(at.Aliases)
	}
	c := &syntax.Comparison{Attr: g.recase(name)}
	str := func(s string) syntax.Literal { return syntax.Literal{Kind: syntax.LitString, Str: s} }
	switch at.Type {
	case filter.TypeBool:
		c.Op = []syntax.Operator{syntax.OpEq, syntax.OpNe}[g.r.IntN(2)]
		c.Value = []syntax.Literal{{Kind: syntax.LitTrue}, {Kind: syntax.LitFalse}, {Kind: syntax.LitNull}, str("true"), str("False")}[g.r.IntN(5)]
	case filter.TypeList:
		switch g.r.IntN(5) {
		case 0:
			c.Op, c.Value = syntax.OpContains, str(g.value(at.Graph))
		case 1:
			c.Op, c.Value = syntax.OpNotContains, str(g.value(at.Graph))
		case 2:
			c.Op, c.Value = syntax.OpEq, str(g.value(at.Graph))
		case 3:
			c.Op, c.Value = syntax.OpLike, str(g.pattern(at.Graph))
		default:
			c.Op, c.Value = []syntax.Operator{syntax.OpEq, syntax.OpNe}[g.r.IntN(2)], syntax.Literal{Kind: syntax.LitNull}
		}
	default:
		c.Op = syntax.Operator(1 + g.r.IntN(6))
		switch {
		case c.Op == syntax.OpLike || c.Op == syntax.OpNotLike:
			c.Value = str(g.pattern(at.Graph))
		case g.r.IntN(8) == 0:
			c.Value = syntax.Literal{Kind: syntax.LitNull}
		default:
			c.Value = str(g.value(at.Graph))
		}
	}
	return c
}

// inChain returns an -or of -eq on one attribute, which the compiler may
// turn into `in` lists.
func (g *generator) inChain() syntax.Expr {
	var candidates []filter.Attribute
	for _, at := range g.attrs {
		if at.In != filter.Unsupported && at.Type == filter.TypeString {
			candidates = append(candidates, at)
		}
	}
	at := candidates[g.r.IntN(len(candidates))]
	var e syntax.Expr
	for range 2 + g.r.IntN(25) {
		c := &syntax.Comparison{Attr: at.Name, Op: syntax.OpEq, Value: syntax.Literal{Kind: syntax.LitString, Str: g.value(at.Graph)}}
		if g.r.IntN(6) == 0 {
			c.Op, c.Value.Str = syntax.OpLike, escapeWild(c.Value.Str)
		}
		if e == nil {
			e = c
		} else {
			e = &syntax.BinaryExpr{Op: syntax.Or, X: e, Y: c}
		}
	}
	return e
}

func (g *generator) expr(depth int) syntax.Expr {
	n := g.r.IntN(20)
	switch {
	case depth <= 0 || n < 7:
		return g.comparison()
	case n < 9:
		return g.inChain()
	case n < 12:
		return &syntax.NotExpr{X: g.expr(depth - 1)}
	}
	op := syntax.And
	if g.r.IntN(2) == 0 {
		op = syntax.Or
	}
	return &syntax.BinaryExpr{Op: op, X: g.expr(depth - 1), Y: g.expr(depth - 1)}
}

// render writes e in filter syntax with random spelling: quoting styles,
// escapes, operator case, $_. prefixes, ! for -not, spacing and braces.
func (g *generator) render(e syntax.Expr) string {
	var b strings.Builder
	braces := g.r.IntN(5) == 0
	if braces {
		b.WriteString("{")
	}
	g.renderTo(&b, e)
	if braces {
		b.WriteString(" }")
	}
	return b.String()
}

func (g *generator) space() string {
	return []string{" ", " ", " ", "  ", "\t", "\n", "\u00a0"}[g.r.IntN(7)]
}

func (g *generator) renderTo(b *strings.Builder, e syntax.Expr) {
	switch e := e.(type) {
	case *syntax.Comparison:
		if g.r.IntN(6) == 0 {
			b.WriteString([]string{"$_.", "$PSItem.", "$_."}[g.r.IntN(3)])
		}
		b.WriteString(e.Attr + g.space())
		op := e.Op.String()
		switch g.r.IntN(6) {
		case 0:
			op = "-i" + op[1:]
		case 1:
			op = strings.ToUpper(op)
		case 2:
			op = "\u2013" + op[1:] // en dash, as word processors write it
		}
		b.WriteString(op + g.space())
		b.WriteString(g.literal(e.Value))
	case *syntax.NotExpr:
		b.WriteString([]string{"-not", "-NOT", "!"}[g.r.IntN(3)])
		_, isCmp := e.X.(*syntax.Comparison)
		if isCmp && g.r.IntN(2) == 0 {
			b.WriteString(g.space())
			g.renderTo(b, e.X)
			return
		}
		b.WriteString(g.space() + "(")
		g.renderTo(b, e.X)
		b.WriteString(")")
	case *syntax.BinaryExpr:
		x, xBin := e.X.(*syntax.BinaryExpr)
		if xBin && (x.Op != e.Op || g.r.IntN(3) == 0) {
			b.WriteString("(")
			g.renderTo(b, e.X)
			b.WriteString(")")
		} else {
			g.renderTo(b, e.X)
		}
		op := e.Op.String()
		if g.r.IntN(3) == 0 {
			op = strings.ToUpper(op)
		}
		b.WriteString(g.space() + op + g.space())
		if _, yBin := e.Y.(*syntax.BinaryExpr); yBin || g.r.IntN(4) == 0 {
			b.WriteString("(")
			g.renderTo(b, e.Y)
			b.WriteString(")")
		} else {
			g.renderTo(b, e.Y)
		}
	}
}

func (g *generator) literal(l syntax.Literal) string {
	switch l.Kind {
	case syntax.LitNull:
		return []string{"$null", "$NULL", "$Null"}[g.r.IntN(3)]
	case syntax.LitTrue:
		return []string{"$true", "$TRUE"}[g.r.IntN(2)]
	case syntax.LitFalse:
		return []string{"$false", "$False"}[g.r.IntN(2)]
	}
	s := l.Str
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(n, 10) == s && g.r.IntN(2) == 0 {
		return s // a bare number
	}
	switch g.r.IntN(4) {
	case 0, 1:
		return l.String() // single quotes, quotes doubled
	case 2:
		// Double quotes: quote characters doubled, backticks escaped.
		var b strings.Builder
		b.WriteString(`"`)
		for _, r := range s {
			switch {
			case r == '"' || r == '\u201c' || r == '\u201d' || r == '\u201e':
				if g.r.IntN(2) == 0 {
					b.WriteRune('`')
				} else {
					b.WriteRune(r)
				}
			case r == '`':
				b.WriteRune('`')
			case r == '\n':
				b.WriteString("`n")
				continue
			}
			b.WriteRune(r)
		}
		b.WriteString(`"`)
		return b.String()
	}
	// Typographic single quotes, as pasted from a word processor.
	var b strings.Builder
	b.WriteString("\u2018")
	for _, r := range s {
		if r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201a' || r == '\u201b' {
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteString("\u2019")
	return b.String()
}

// oracle evaluates a parsed filter on a user with PowerShell's semantics,
// directly and naively (wildcards through regexp), as an independent
// reference for Plan.Match.
type oracle struct {
	re map[string]*regexp.Regexp
}

func wildcardRegexp(p string) string {
	var b strings.Builder
	b.WriteString(`(?is)^`)
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		switch r {
		case '`':
			if i < len(p) {
				r, n = utf8.DecodeRuneInString(p[i:])
				i += n
			}
			b.WriteString(regexp.QuoteMeta(string(r)))
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(p[i:], ']')
			b.WriteString("[")
			for _, c := range p[i : i+end] {
				if c == '-' {
					b.WriteString("-")
				} else {
					fmt.Fprintf(&b, `\x{%x}`, c)
				}
			}
			b.WriteString("]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return b.String()
}

func (o *oracle) like(s, p string) bool {
	re, ok := o.re[p]
	if !ok {
		re = regexp.MustCompile(wildcardRegexp(p))
		o.re[p] = re
	}
	return re.MatchString(s)
}

func (o *oracle) eval(e syntax.Expr, u map[string]any) bool {
	switch e := e.(type) {
	case *syntax.NotExpr:
		return !o.eval(e.X, u)
	case *syntax.BinaryExpr:
		if e.Op == syntax.And {
			return o.eval(e.X, u) && o.eval(e.Y, u)
		}
		return o.eval(e.X, u) || o.eval(e.Y, u)
	}
	c := e.(*syntax.Comparison)
	at, ok := filter.LookupAttribute(c.Attr)
	if !ok {
		panic("oracle: unknown attribute " + c.Attr)
	}
	v := u[at.Graph]
	neg := c.Op == syntax.OpNe || c.Op == syntax.OpNotLike || c.Op == syntax.OpNotContains
	like := c.Op == syntax.OpLike || c.Op == syntax.OpNotLike
	var res bool
	switch at.Type {
	case filter.TypeBool:
		b, isBool := v.(bool)
		switch {
		case c.Value.Kind == syntax.LitNull:
			res = v == nil
		case c.Value.Kind == syntax.LitTrue || c.Value.Kind == syntax.LitString && strings.EqualFold(c.Value.Str, "true"):
			res = isBool && b
		default:
			res = isBool && !b
		}
	case filter.TypeList:
		list, _ := v.([]any)
		if c.Value.Kind == syntax.LitNull {
			res = len(list) == 0
			break
		}
		for _, x := range list {
			s := x.(string)
			if like && o.like(s, c.Value.Str) || !like && strings.EqualFold(s, c.Value.Str) {
				res = true
			}
		}
	default:
		s, isStr := v.(string)
		switch {
		case like:
			res = o.like(s, c.Value.Str) // $null -like 'x' compares ""
		case c.Value.Kind == syntax.LitNull:
			res = !isStr
		default:
			res = isStr && strings.EqualFold(s, c.Value.Str)
		}
	}
	return res != neg
}

// checkAgreement is the property: for random filters and users, the plan's
// Match equals the reference meaning, and so does Graph's evaluation of the
// pushed-down filter combined with MatchClientSide.
func checkAgreement(t *testing.T, eval graphEvaluator, seed uint64, filters, users int, opts filter.Options) {
	t.Helper()
	g := newGenerator(seed)
	o := &oracle{re: map[string]*regexp.Regexp{}}
	pool := make([]map[string]any, users)
	for i := range pool {
		pool[i] = g.user()
	}
	pushed, clientOnly, withIn, split := 0, 0, 0, 0
	for range filters {
		e := g.expr(4)
		text := g.render(e)
		parsed, err := syntax.Parse(text)
		require.NoError(t, err, "Parse(%q)", text)
		require.Equal(t, e.String(), parsed.String(), "Parse(%q)", text)
		plan, err := opts.Compile(text)
		require.NoError(t, err, "Compile(%q)", text)
		if opts.NoAdvanced {
			require.False(t, plan.Advanced, "Compile(%q) with NoAdvanced needs an advanced query: %s", text, plan.GraphFilter)
		}
		if plan.GraphFilter != "" {
			pushed++
		}
		if len(plan.Pushed) == 0 {
			clientOnly++
		}
		if strings.Contains(plan.GraphFilter, " in (") {
			withIn++
		}
		if len(plan.Queries) > 1 {
			split++
		}
		checkLimits(t, text, plan)
		for _, u := range pool {
			// The per-user checks below call testify only on a mismatch:
			// its t.Helper bookkeeping and boxed arguments on every one of
			// the million checks made the test 40% slower.
			want := o.eval(e, u)
			if got := plan.Match(filter.MapUser(u)); got != want {
				require.Equal(t, want, got, "filter %q\nuser %v\nMatch against the reference", text, u)
			}
			selected := filter.MapUser{}
			for _, p := range plan.Select {
				if v, ok := u[p]; ok {
					selected[p] = v
				}
			}
			if got := plan.Match(selected); got != want {
				require.Equal(t, want, got, "filter %q: Match on the Select properties %v only", text, plan.Select)
			}
			// The users of the plan's queries, merged: a user is read when
			// any query selects it.
			graphSays := false
			for _, q := range plan.Queries {
				ok := true
				if q.Filter != "" {
					if ok, err = eval(q.Filter, q.Advanced, u); err != nil {
						require.NoError(t, err, "filter %q\nGraph filter %q (advanced %v)", text, q.Filter, q.Advanced)
					}
				}
				graphSays = graphSays || ok
			}
			if got := graphSays && plan.MatchClientSide(filter.MapUser(u)); got != want {
				require.Equal(t, want, got, "filter %q\nuser %v\nGraph filter %q says %v, client side says %v\n%s",
					text, u, plan.GraphFilter, graphSays, plan.MatchClientSide(filter.MapUser(u)), plan)
			}
		}
	}
	t.Logf("%d filters x %d users: %d with a Graph filter, %d with an in list, %d split, %d entirely client-side",
		filters, users, pushed, withIn, split, clientOnly)
	assert.GreaterOrEqual(t, pushed, filters/4, "generator covers too little: filters with a Graph filter of %d", filters)
	assert.NotZero(t, withIn, "generator covers too little: filters with an in list")
	assert.NotZero(t, clientOnly, "generator covers too little: filters entirely client-side")
	assert.NotZero(t, split, "generator covers too little: split filters")
}

// graphEvaluators are the Graph $filter evaluators the property test runs
// against: this package's own OData evaluator and the fake Graph's (the
// evaluation GET /v1.0/users of m365test applies).
var graphEvaluators = map[string]graphEvaluator{
	"m365test": m365test.EvalUserFilter,
	"odata":    odataEval,
}

func TestPushdownAgreesWithGraph(t *testing.T) {
	t.Parallel()
	filters := 3000
	if testing.Short() {
		filters = 300
	}
	for evalName, eval := range graphEvaluators {
		for _, tc := range []struct {
			name string
			opts filter.Options
		}{
			{"default", filter.Options{}},
			{"no-advanced", filter.Options{NoAdvanced: true}},
			{"small-limits", filter.Options{MaxInValues: 2, MaxDepth: 1}},
		} {
			t.Run(evalName+"/"+tc.name, func(t *testing.T) {
				checkAgreement(t, eval, 1, filters, 60, tc.opts)
			})
		}
	}
}

// TestDemoUserPredictions checks the Italy filter on the demo tenant's
// generated users: exactly a tenth of them are in Italy.
func TestDemoUserPredictions(t *testing.T) {
	t.Parallel()
	plan, err := filter.Compile("UsageLocation -eq 'IT'")
	require.NoError(t, err)
	n := 0
	for i := range 50000 {
		u := demoUser(i)
		ok, err := odataEval(plan.GraphFilter, plan.Advanced, u)
		require.NoError(t, err)
		require.Equal(t, ok, plan.Match(filter.MapUser(u)), "user %d: Match against Graph", i)
		if ok && plan.MatchClientSide(filter.MapUser(u)) {
			n++
		}
	}
	assert.Equal(t, 5000, n, "demo users of 50,000 UsageLocation -eq 'IT' selects")
}

// entraAttributes are the attributes Graph's /users evaluates: the
// property tests compare the pushdown with Graph's evaluation.
func entraAttributes() []filter.Attribute {
	var out []filter.Attribute
	for _, at := range filter.Attributes() {
		if !at.Teams {
			out = append(out, at)
		}
	}
	return out
}

// usersURLOverhead is the length of a users request URL without its
// $filter, as usersync sends it (global Graph host, $count, $top and the
// $select of every property it reads), rounded up.
const usersURLOverhead = 600

// checkLimits checks that every query of plan stays within Graph's query
// limits as the fake enforces them, both as the plan marks it and as an
// advanced query (a reader may add $count=true to any query).
func checkLimits(t *testing.T, text string, plan *filter.Plan) {
	t.Helper()
	require.NotEmpty(t, plan.Queries, "filter %q: a plan without queries", text)
	for _, q := range plan.Queries {
		if q.Filter == "" {
			continue
		}
		urlLen := usersURLOverhead + len(url.QueryEscape(q.Filter))
		for _, adv := range []bool{q.Advanced, true} {
			require.NoError(t, m365test.CheckUserQueryLimits(q.Filter, adv, urlLen),
				"filter %q\nquery %q (advanced %v, URL %d characters) is past Graph's limits\n%s", text, q.Filter, adv, urlLen, plan)
		}
	}
}
