package filter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

// Default limits of Microsoft Graph's $filter on users.
const (
	DefaultMaxInValues = 15 // values in one `in (...)`
	DefaultMaxDepth    = 3  // nested parenthesized levels
)

// MaxFilterLength is the longest filter, in bytes, that Compile accepts;
// a longer one is a *SyntaxError.
const MaxFilterLength = syntax.MaxLength

// Options tunes Compile. The zero value follows Graph's documented limits
// and allows advanced queries.
type Options struct {
	// MaxInValues is the most values one `in (...)` may hold; 0 means
	// DefaultMaxInValues. Longer lists are split into several `in` joined
	// by `or`.
	MaxInValues int
	// MaxDepth is the most nested levels the Graph filter may have (each
	// parenthesized group, not(...) and any(...) is one level); 0 means
	// DefaultMaxDepth. Deeper parts run client-side.
	MaxDepth int
	// NoAdvanced keeps everything that would need an advanced query
	// (ConsistencyLevel: eventual) client-side, for tenants without
	// advanced query support such as Azure AD B2C.
	NoAdvanced bool
	// MaxGraphFilterLength is the most characters one query's
	// URL-encoded $filter may take; 0 means DefaultMaxGraphFilterLength,
	// which keeps the request URL within Graph's MaxURLLength with room
	// for $select and paging.
	MaxGraphFilterLength int
	// MaxQueries bounds the queries a filter past Graph's limits is split
	// into; 0 means DefaultMaxQueries. Past it the part being split runs
	// client-side.
	MaxQueries int
}

// Plan is a compiled filter: the part Microsoft Graph evaluates and the part
// evaluated on the users Graph returns. A Plan is immutable once compiled and
// safe for concurrent use. Fetching users with GraphFilter (and
// the advanced query parameters when Advanced is set), selecting at least
// Select, and keeping those for which MatchClientSide is true gives exactly
// the users the filter means; Match evaluates the whole filter on any user.
type Plan struct {
	// Filter is the filter as given.
	Filter string
	// GraphFilter is the $filter value (not yet URL-encoded); empty when
	// Graph cannot narrow the users at all. It may be past Graph's query
	// limits: read the users with Queries.
	GraphFilter string
	// Advanced says the request needs the header ConsistencyLevel: eventual
	// and $count=true.
	Advanced bool
	// Select lists the Graph user properties the filter reads, sorted;
	// $select them so Match and MatchClientSide see them. Teams
	// attributes are not listed.
	Select []string
	// Queries are the /users requests that read what GraphFilter
	// selects within Graph's query limits (at most MaxPlainExpressions
	// expressions and values of at most MaxPlainValueLength characters in
	// a plain query, a $filter of at most Options.MaxGraphFilterLength encoded
	// characters): the users of all of them, each once (merge by user
	// ID), are the users of GraphFilter. There is always at least one;
	// one with an empty Filter reads every user.
	Queries []Query
	// Split says why and how GraphFilter was split into several Queries;
	// empty when it was not. Parts that could not be split within the
	// limits run client-side instead (ClientSide says so).
	Split string
	// Pushed are the parts of the filter (the terms of its top-level -and)
	// that Graph evaluates.
	Pushed []Part
	// ClientSide are the parts evaluated client-side, each with the reason.
	ClientSide []Part

	// Teams says the filter reads Teams Phone System attributes, so users
	// must be joined by ID with their configuration from
	// /admin/teams/userConfigurations before MatchClientSide.
	Teams bool
	// TeamsFilter is the $filter for /admin/teams/userConfigurations
	// (not yet URL-encoded); empty when no Teams part has one. Graph
	// documents no filter support for that endpoint, so it is optimistic:
	// a reader that gets 400 for it reads the configurations without it.
	// Either way is correct: a user whose configuration TeamsFilter
	// excludes fails the filter, and MatchClientSide re-checks every
	// Teams part after the join.
	TeamsFilter string
	// TeamsPushed are the Teams parts TeamsFilter holds.
	TeamsPushed []Part

	root   node
	client []node
}

// Part is one term of the filter's top-level -and.
type Part struct {
	// Filter is the term in filter syntax, with -not pushed down to the
	// comparisons (so -not (A -eq 'x') reads A -ne 'x').
	Filter string
	// Graph is its $filter form, for a pushed part.
	Graph string
	// Advanced says the pushed part needs an advanced query.
	Advanced bool
	// Reason says why a client-side part could not be pushed down.
	Reason string
	// Teams says the part reads Teams attributes.
	Teams bool
}

// Match reports whether u matches the whole filter.
func (p *Plan) Match(u User) bool {
	if p.root == nil {
		return true
	}
	return p.root.eval(u)
}

// MatchClientSide reports whether u, a user Graph returned for GraphFilter,
// matches the parts Graph did not evaluate. It is true when there are none.
func (p *Plan) MatchClientSide(u User) bool {
	for _, n := range p.client {
		if !n.eval(u) {
			return false
		}
	}
	return true
}

// String describes the plan for people: the Graph filter and what runs where.
func (p *Plan) String() string {
	var b strings.Builder
	if p.GraphFilter == "" {
		b.WriteString("$filter: (none)\n")
	} else {
		fmt.Fprintf(&b, "$filter: %s\n", p.GraphFilter)
	}
	if p.Advanced {
		b.WriteString("advanced query: yes (ConsistencyLevel: eventual, $count=true)\n")
	} else {
		b.WriteString("advanced query: no\n")
	}
	for _, pt := range p.Pushed {
		fmt.Fprintf(&b, "pushed down: %s => %s\n", pt.Filter, pt.Graph)
	}
	if p.Split != "" {
		fmt.Fprintf(&b, "%s\n", p.Split)
		for i, q := range p.Queries {
			fmt.Fprintf(&b, "query %d: %s\n", i+1, q.Filter)
		}
	}
	if p.Teams {
		if p.TeamsFilter == "" {
			b.WriteString("userConfigurations $filter: (none)\n")
		} else {
			fmt.Fprintf(&b, "userConfigurations $filter: %s (optimistic: without it if Graph refuses it)\n", p.TeamsFilter)
		}
		for _, pt := range p.TeamsPushed {
			fmt.Fprintf(&b, "pushed to userConfigurations: %s => %s (re-checked after the join)\n", pt.Filter, pt.Graph)
		}
	}
	for _, pt := range p.ClientSide {
		fmt.Fprintf(&b, "client-side: %s (%s)\n", pt.Filter, pt.Reason)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Compile parses a filter and compiles it with the default Options. A blank
// filter (or "{ }") compiles to a plan that matches every user.
func Compile(filter string) (*Plan, error) {
	return Options{}.Compile(filter)
}

// Compile parses and compiles a filter. Syntax errors are *SyntaxError;
// unknown, Teams-only or misused attributes are *AttributeError.
func (o Options) Compile(filter string) (*Plan, error) {
	e, err := syntax.ParseOrBlank(filter)
	if err != nil {
		return nil, syntaxError(err)
	}
	if o.MaxInValues <= 0 {
		o.MaxInValues = DefaultMaxInValues
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxGraphFilterLength <= 0 {
		o.MaxGraphFilterLength = DefaultMaxGraphFilterLength
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = DefaultMaxQueries
	}
	plan := &Plan{Filter: filter, Queries: []Query{{}}}
	if e == nil {
		return plan, nil
	}
	c := &compiler{src: filter, opts: o}
	root, err := c.build(e, false)
	if err != nil {
		return nil, err
	}
	plan.root = root
	plan.Select = selectOf(root)

	conjuncts := []node{root}
	if and, ok := root.(andNode); ok {
		conjuncts = and
	}
	frags := make([]frag, len(conjuncts))
	reasons := make([]string, len(conjuncts))
	pushable := 0
	side := make([]sides, len(conjuncts))
	for i, n := range conjuncts {
		side[i] = sidesOf(n)
		if side[i].teams {
			plan.Teams = true
			continue
		}
		frags[i], reasons[i] = c.push(n)
		if reasons[i] == "" {
			pushable++
		}
	}
	var teamsGraph []string
	var pushed []*pushedPart
	for i, n := range conjuncts {
		if side[i].teams {
			// Teams parts always run after the join; a Teams-only part
			// may narrow the configurations read as well.
			plan.client = append(plan.client, n)
			if side[i].entra {
				plan.ClientSide = append(plan.ClientSide, Part{Filter: n.source(), Teams: true,
					Reason: "it mixes Microsoft Graph user properties and Teams attributes under -or, so it runs after the join by user ID"})
				continue
			}
			tf, reason := pushTeams(n)
			if reason != "" {
				plan.ClientSide = append(plan.ClientSide, Part{Filter: n.source(), Teams: true, Reason: reason + "; it runs after the join by user ID"})
				continue
			}
			plan.TeamsPushed = append(plan.TeamsPushed, Part{Filter: n.source(), Graph: tf, Teams: true})
			teamsGraph = append(teamsGraph, tf)
			continue
		}
		f := frags[i]
		if reasons[i] == "" {
			if f.kind == fragOr && pushable > 1 {
				f = f.paren()
			}
			if f.depth > o.MaxDepth {
				reasons[i] = fmt.Sprintf("its Graph form %s nests deeper than %d levels", f.s, o.MaxDepth)
			}
		}
		if reasons[i] != "" {
			plan.ClientSide = append(plan.ClientSide, Part{Filter: n.source(), Reason: reasons[i]})
			plan.client = append(plan.client, n)
			continue
		}
		pushed = append(pushed, &pushedPart{n: n, f: f, raw: frags[i]})
	}
	plan.Queries, plan.Split = c.fit(pushed)
	for _, p := range pushed {
		if p.reason != "" {
			plan.ClientSide = append(plan.ClientSide, Part{Filter: p.n.source(), Reason: p.reason})
			plan.client = append(plan.client, p.n)
			continue
		}
		plan.Pushed = append(plan.Pushed, Part{Filter: p.n.source(), Graph: p.raw.s, Advanced: p.f.adv})
	}
	whole := queryOf(pushed, nil)
	plan.GraphFilter, plan.Advanced = whole.Filter, whole.Advanced
	plan.TeamsFilter = strings.Join(teamsGraph, " and ")
	return plan, nil
}

func selectOf(n node) []string {
	var props []string
	var walk func(node)
	walk = func(n node) {
		switch n := n.(type) {
		case andNode:
			for _, c := range n {
				walk(c)
			}
		case orNode:
			for _, c := range n {
				walk(c)
			}
		case *leaf:
			if !n.attr.Teams {
				props = append(props, n.attr.Graph)
			}
		}
	}
	walk(n)
	slices.Sort(props)
	return slices.Compact(props)
}

type compiler struct {
	src  string
	opts Options
}

// build turns the parsed tree into nodes, pushing -not down to the
// comparisons (De Morgan) and flattening nested -and / -or.
func (c *compiler) build(e syntax.Expr, neg bool) (node, error) {
	switch e := e.(type) {
	case *syntax.NotExpr:
		return c.build(e.X, !neg)
	case *syntax.BinaryExpr:
		isAnd := (e.Op == syntax.And) != neg
		kids, err := c.gather(nil, e, e.Op, neg, isAnd)
		if err != nil {
			return nil, err
		}
		if isAnd {
			return andNode(kids), nil
		}
		return orNode(kids), nil
	case *syntax.Comparison:
		return c.leaf(e, neg)
	}
	return nil, fmt.Errorf("filter: unexpected node %T", e)
}

// gather appends the operands of a chain of op (as -and or -or chains nest)
// to dst, flattening without copying, so long chains compile in linear time.
func (c *compiler) gather(dst []node, e syntax.Expr, op syntax.LogicalOp, neg, isAnd bool) ([]node, error) {
	if b, ok := e.(*syntax.BinaryExpr); ok && b.Op == op {
		dst, err := c.gather(dst, b.X, op, neg, isAnd)
		if err != nil {
			return nil, err
		}
		return c.gather(dst, b.Y, op, neg, isAnd)
	}
	n, err := c.build(e, neg)
	if err != nil {
		return nil, err
	}
	if and, ok := n.(andNode); ok && isAnd {
		return append(dst, and...), nil
	}
	if or, ok := n.(orNode); ok && !isAnd {
		return append(dst, or...), nil
	}
	return append(dst, n), nil
}

// leaf checks one comparison against its attribute and compiles it.
func (c *compiler) leaf(cmp *syntax.Comparison, neg bool) (node, error) {
	at, err := resolveAttribute(c.src, cmp.Attr, cmp.AttrPos)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		line, col := syntax.Position(c.src, cmp.AttrPos)
		return &AttributeError{Attribute: cmp.Attr, Kind: InvalidComparison, Offset: cmp.AttrPos, Line: line, Column: col,
			Detail: fmt.Sprintf(format, args...)}
	}
	val := syntax.Clip(cmp.Value.String())
	l := &leaf{attr: at, name: cmp.Attr, lit: cmp.Value}
	op := cmp.Op
	l.like = op == syntax.OpLike || op == syntax.OpNotLike
	l.neg = neg != (op == syntax.OpNe || op == syntax.OpNotLike || op == syntax.OpNotContains)
	isBool := cmp.Value.Kind == syntax.LitTrue || cmp.Value.Kind == syntax.LitFalse
	switch at.Type {
	case TypeString:
		if isBool {
			return nil, bad("%s is text; compare it with a quoted string or $null, not %s", cmp.Attr, val)
		}
	case TypeBool:
		if l.like || op == syntax.OpContains || op == syntax.OpNotContains {
			return nil, bad("%s is $true or $false; compare it with -eq or -ne, not %s", cmp.Attr, op)
		}
		if cmp.Value.Kind == syntax.LitString {
			switch strings.ToLower(cmp.Value.Str) {
			case "true":
				l.lit = syntax.Literal{Kind: syntax.LitTrue}
			case "false":
				l.lit = syntax.Literal{Kind: syntax.LitFalse}
			default:
				return nil, bad("%s takes $true or $false, not %s", cmp.Attr, val)
			}
		}
	case TypeList:
		switch {
		case isBool:
			return nil, bad("%s is a list of text values; compare it with a quoted string, not %s", cmp.Attr, val)
		case op == syntax.OpNe && cmp.Value.Kind == syntax.LitString:
			return nil, bad("%s is a list; to exclude a value write %s -notcontains %s", cmp.Attr, cmp.Attr, val)
		case op == syntax.OpNotLike:
			return nil, bad("%s is a list; to exclude matching values write -not (%s -like %s)", cmp.Attr, cmp.Attr, val)
		case (op == syntax.OpContains || op == syntax.OpNotContains) && cmp.Value.Kind == syntax.LitNull:
			return nil, bad("%s is a list; test for an empty list with -eq $null", cmp.Attr)
		}
	}
	if l.like {
		if cmp.Value.Kind != syntax.LitString {
			return nil, bad("%s needs a quoted wildcard pattern, not %s", op, val)
		}
		if l.pat, err = compilePattern(cmp.Value.Str); err != nil {
			return nil, bad("the pattern %s is not valid: %v", val, err)
		}
	}
	return l, nil
}
