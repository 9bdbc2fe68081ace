package filter

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

// Graph's query-size limits on /users ("Known issues with Microsoft
// Graph", query parameter limitations). A Plan's Queries stay within them.
const (
	// MaxPlainExpressions is the most expressions (each comparison or
	// function call, each value of an `in` list) Graph accepts in a
	// filter with `in` or `or` in a query without the advanced
	// parameters.
	MaxPlainExpressions = 15
	// MaxPlainValueLength is the longest value, in characters, Graph
	// accepts in an `eq` or `in` of a query without the advanced
	// parameters.
	MaxPlainValueLength = 120
	// MaxURLLength is the longest request URL Graph accepts in an
	// advanced query.
	MaxURLLength = 2048
	// DefaultMaxGraphFilterLength is the default budget of one query's
	// URL-encoded $filter: MaxURLLength less room for the base URL,
	// $select, $top, $count and a skip token.
	DefaultMaxGraphFilterLength = 1200
	// DefaultMaxQueries is the default bound on the queries one filter
	// is split into; past it the part being split runs client-side.
	DefaultMaxQueries = 64
)

// Query is one Graph /users request of a Plan.
type Query struct {
	// Filter is the $filter value (not yet URL-encoded); empty reads
	// every user.
	Filter string
	// Advanced says the request needs the header ConsistencyLevel:
	// eventual and $count=true.
	Advanced bool
}

// measure counts a Graph filter's expressions (every string literal,
// null, true and false outside literals: each comparison, function call
// and `in` value has exactly one) and the length in characters of its
// longest string literal.
func measure(s string) (exprs, longest int) {
	for i := 0; i < len(s); {
		if s[i] == '\'' {
			n := 0
			i++
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						n++
						i += 2
						continue
					}
					i++
					break
				}
				_, w := utf8.DecodeRuneInString(s[i:])
				n++
				i += w
			}
			exprs++
			longest = max(longest, n)
			continue
		}
		if isWord(s[i]) {
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			switch s[i:j] {
			case "null", "true", "false":
				exprs++
			}
			i = j
			continue
		}
		i++
	}
	return exprs, longest
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// limitOf says why q is past Graph's limits (or the filter budget), or "".
func (c *compiler) limitOf(q Query) string {
	if n := len(url.QueryEscape(q.Filter)); n > c.opts.MaxGraphFilterLength {
		return fmt.Sprintf("its $filter is %d characters URL-encoded, over the %d that keep the request URL within Graph's %d", n, c.opts.MaxGraphFilterLength, MaxURLLength)
	}
	if q.Advanced {
		return ""
	}
	exprs, longest := measure(q.Filter)
	if longest > MaxPlainValueLength {
		return fmt.Sprintf("it compares a value of %d characters, over the %d Graph accepts without an advanced query", longest, MaxPlainValueLength)
	}
	if exprs > MaxPlainExpressions && (strings.Contains(q.Filter, " in (") || strings.Contains(q.Filter, " or ")) {
		return fmt.Sprintf("it holds %d expressions, over the %d Graph accepts with in or or", exprs, MaxPlainExpressions)
	}
	return ""
}

// pushedPart is one pushed conjunct on its way into the plan.
type pushedPart struct {
	n      node
	f      frag // as joined (an or parenthesized among several parts)
	raw    frag // as pushed
	reason string
}

func queryOf(parts []*pushedPart, extra *frag) Query {
	var q Query
	var b strings.Builder
	for _, p := range parts {
		if p.reason != "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(p.f.s)
		q.Advanced = q.Advanced || p.f.adv
	}
	if extra != nil {
		if b.Len() > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(extra.s)
		q.Advanced = q.Advanced || extra.adv
	}
	q.Filter = b.String()
	return q
}

// fit makes the pushed parts fit Graph's limits. A part comparing a value
// too long for a plain query makes the query advanced (or, with
// NoAdvanced, runs client-side). When the one query is still past a
// limit, the pushed -or with the most expressions is split: several
// queries, each the other parts and a share of the -or's branches, whose
// union is the users the one query means. What cannot be split runs
// client-side, the largest part first. It returns the queries and, when
// it split, how.
func (c *compiler) fit(parts []*pushedPart) ([]Query, string) {
	for _, p := range parts {
		if _, longest := measure(p.raw.s); longest > MaxPlainValueLength && !p.f.adv {
			if c.opts.NoAdvanced {
				p.reason = fmt.Sprintf("it compares a value of %d characters, which Graph accepts only in an advanced query, and Options.NoAdvanced disables those", longest)
				continue
			}
			p.f.adv, p.raw.adv = true, true
		}
	}
	live := func() []*pushedPart {
		var out []*pushedPart
		for _, p := range parts {
			if p.reason == "" {
				out = append(out, p)
			}
		}
		return out
	}
	for {
		whole := queryOf(parts, nil)
		why := c.limitOf(whole)
		if why == "" {
			return []Query{whole}, ""
		}
		// The -or (or in list) with the most expressions is split.
		var target *pushedPart
		best := 0
		for _, p := range live() {
			if p.raw.ops == nil && p.raw.listProp == "" {
				continue
			}
			if n, _ := measure(p.raw.s); n > best {
				target, best = p, n
			}
		}
		if target != nil {
			if qs, how := c.split(parts, target, why); qs != nil {
				return qs, how
			}
			continue // target moved client-side; try again without it
		}
		// Nothing to split: the longest part runs client-side.
		var longest *pushedPart
		for _, p := range live() {
			if longest == nil || len(p.f.s) > len(longest.f.s) {
				longest = p
			}
		}
		if longest == nil {
			return []Query{whole}, ""
		}
		longest.reason = "the query would exceed Graph's query limits (" + why + "), and it cannot be split"
	}
}

// splitUnit is one branch of the -or being split: a value of an `in`
// property, or another branch.
type splitUnit struct {
	prop         string
	val          string
	eqAdv, inAdv bool
	other        *frag
}

// split divides target's branches among queries that each fit with the
// other parts. It returns nil after moving a part client-side when no
// split fits.
func (c *compiler) split(parts []*pushedPart, target *pushedPart, why string) ([]Query, string) {
	target.reason = "split" // excluded from queryOf while packing
	defer func() {
		if target.reason == "split" {
			target.reason = ""
		}
	}()
	others := queryOf(parts, nil)
	if w := c.limitOf(others); w != "" {
		// The other parts alone are past a limit: the largest of them
		// runs client-side first.
		var longest *pushedPart
		for _, p := range parts {
			if p.reason == "" && (longest == nil || len(p.f.s) > len(longest.f.s)) {
				longest = p
			}
		}
		if longest != nil {
			longest.reason = "the query would exceed Graph's query limits (" + w + "), and it cannot be split"
			return nil, ""
		}
	}
	var units []splitUnit
	ops := target.raw.ops
	if ops == nil {
		ops = []frag{target.raw}
	}
	for i := range ops {
		o := &ops[i]
		if o.listProp != "" {
			for _, v := range o.inVals {
				units = append(units, splitUnit{prop: o.listProp, val: v, eqAdv: o.eqAdv, inAdv: o.inAdv})
			}
			continue
		}
		units = append(units, splitUnit{other: o})
	}
	withOthers := others.Filter != ""
	render := func(group []splitUnit) frag {
		var fr []frag
		byProp := map[string]int{}
		var props [][]splitUnit
		for _, u := range group {
			if u.other != nil {
				fr = append(fr, *u.other)
				continue
			}
			k, ok := byProp[u.prop]
			if !ok {
				k = len(props)
				byProp[u.prop] = k
				props = append(props, nil)
			}
			props[k] = append(props[k], u)
		}
		for _, us := range props {
			for len(us) > 0 {
				n := min(len(us), c.opts.MaxInValues)
				vals := make([]string, n)
				for i := range n {
					vals[i] = us[i].val
				}
				fr = append(fr, inFrag(us[0].prop, vals, us[0].eqAdv, us[0].inAdv))
				us = us[n:]
			}
		}
		f := join(fr, fragOr)
		if withOthers && f.kind == fragOr {
			f = f.paren()
		}
		return f
	}
	var queries []Query
	var group []splitUnit
	for _, u := range units {
		try := append(group[:len(group):len(group)], u)
		g := render(try)
		if c.limitOf(queryOf(parts, &g)) == "" {
			group = try
			continue
		}
		if len(group) == 0 {
			target.reason = "the query would exceed Graph's query limits (" + why + "), and its branch " + render([]splitUnit{u}).s + " alone does too"
			return nil, ""
		}
		g = render(group)
		queries = append(queries, queryOf(parts, &g))
		group = []splitUnit{u}
		g = render(group)
		if c.limitOf(queryOf(parts, &g)) != "" {
			target.reason = "the query would exceed Graph's query limits (" + why + "), and its branch " + g.s + " alone does too"
			return nil, ""
		}
	}
	if len(group) > 0 {
		g := render(group)
		queries = append(queries, queryOf(parts, &g))
	}
	if len(queries) > c.opts.MaxQueries {
		target.reason = fmt.Sprintf("the query would exceed Graph's query limits (%s), and splitting it would take %d queries, over Options.MaxQueries (%d)", why, len(queries), c.opts.MaxQueries)
		return nil, ""
	}
	how := fmt.Sprintf("split into %d queries merged by user ID, because the one query would exceed Graph's query limits (%s): each query holds a share of %s", len(queries), why, syntax.Clip(target.n.source()))
	return queries, how
}
