package filter

import (
	"fmt"
	"strings"

	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

type fragKind uint8

const (
	fragAtom fragKind = iota // a comparison or function call
	fragAnd                  // a and b
	fragOr                   // a or b
)

// frag is a piece of Graph $filter text.
type frag struct {
	s     string
	kind  fragKind
	depth int  // nested levels of parentheses, not(...) and any(...)
	adv   bool // needs an advanced query

	// For `p eq 'v'` on a property with `in` support: p, v and whether
	// `in` needs an advanced query, so an -or can merge them into `in`.
	inProp, inVal string
	inAdv         bool
	// For an `in` list (or an `eq` of one value) that mergeIn made: its
	// values and whether the single-value `eq` needs an advanced query,
	// so a query past Graph's limits can be split between the values.
	listProp string
	inVals   []string
	eqAdv    bool
	// ops are the operands of an `or` (after mergeIn), so a query past
	// Graph's limits can be split between them.
	ops []frag
}

func (f frag) paren() frag {
	return frag{s: "(" + f.s + ")", kind: fragAtom, depth: f.depth + 1, adv: f.adv}
}

// quote renders s as an OData string literal: single quotes, with each quote
// in s doubled so that no value can end the literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

const (
	reasonAdvancedOff = "it needs an advanced query, which Options.NoAdvanced disables"
)

// push compiles n to a Graph filter, or returns why Graph cannot evaluate it.
func (c *compiler) push(n node) (frag, string) {
	switch n := n.(type) {
	case *leaf:
		f, reason := c.pushLeaf(n)
		if reason == "" && f.adv && c.opts.NoAdvanced {
			return frag{}, reasonAdvancedOff
		}
		return f, reason
	case andNode:
		parts := make([]frag, 0, len(n))
		for _, k := range n {
			f, reason := c.push(k)
			if reason != "" {
				return frag{}, reason
			}
			parts = append(parts, f)
		}
		return join(parts, fragAnd), ""
	case orNode:
		parts := make([]frag, 0, len(n))
		for _, k := range n {
			f, reason := c.push(k)
			if reason != "" {
				return frag{}, fmt.Sprintf("its -or branch %s cannot be pushed down (%s), so the whole -or runs client-side", k.source(), reason)
			}
			parts = append(parts, f)
		}
		merged := c.mergeIn(parts)
		f := join(merged, fragOr)
		if len(merged) > 1 {
			f.ops = merged
		}
		return f, ""
	}
	return frag{}, "unknown node"
}

// join joins fragments with "and" or "or", parenthesizing the fragments of
// the other kind.
func join(parts []frag, kind fragKind) frag {
	if len(parts) == 1 {
		return parts[0]
	}
	sep := " and "
	if kind == fragOr {
		sep = " or "
	}
	out := frag{kind: kind}
	var b strings.Builder
	for i, f := range parts {
		if f.kind != fragAtom && f.kind != kind {
			f = f.paren()
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(f.s)
		out.depth = max(out.depth, f.depth)
		out.adv = out.adv || f.adv
	}
	out.s = b.String()
	return out
}

// mergeIn turns the equality branches of an -or on one property into `in`
// lists of at most MaxInValues values, each in place of the first branch it
// absorbs.
func (c *compiler) mergeIn(parts []frag) []frag {
	groups := make(map[string][]int)
	for i, f := range parts {
		if f.inProp != "" {
			groups[f.inProp] = append(groups[f.inProp], i)
		}
	}
	out := make([]frag, 0, len(parts))
	for i, f := range parts {
		idx := groups[f.inProp]
		if f.inProp == "" || len(idx) < 2 {
			out = append(out, f)
			continue
		}
		if idx[0] != i {
			continue // absorbed by the group's first branch
		}
		var vals []string
		seen := make(map[string]bool, len(idx))
		for _, j := range idx {
			v := parts[j].inVal
			if key := strings.ToLower(v); !seen[key] {
				seen[key] = true
				vals = append(vals, v)
			}
		}
		for len(vals) > 0 {
			n := min(len(vals), c.opts.MaxInValues)
			chunk := vals[:n]
			vals = vals[n:]
			out = append(out, inFrag(f.inProp, chunk, f.adv, f.inAdv))
		}
	}
	return out
}

// inFrag renders vals of property p as `p eq 'v'` (one value, advanced
// when eqAdv) or `p in ('a','b')` (advanced when inAdv).
func inFrag(p string, vals []string, eqAdv, inAdv bool) frag {
	if len(vals) == 1 {
		return frag{s: p + " eq " + quote(vals[0]), adv: eqAdv, listProp: p, inAdv: inAdv, inVals: vals, eqAdv: eqAdv}
	}
	q := make([]string, len(vals))
	for k, v := range vals {
		q[k] = quote(v)
	}
	return frag{s: p + " in (" + strings.Join(q, ",") + ")", adv: inAdv, listProp: p, inAdv: inAdv, inVals: vals, eqAdv: eqAdv}
}

// pushLeaf compiles one comparison, following the capability table.
func (c *compiler) pushLeaf(l *leaf) (frag, string) {
	at := l.attr
	p := at.Graph
	switch at.Type {
	case TypeBool:
		return c.pushBool(l)
	case TypeList:
		return c.pushList(l)
	}
	if !l.like {
		return c.pushEquality(l, l.lit)
	}
	lit := l.pat.lit
	switch l.pat.shape {
	case shapeExact:
		if lit == "" {
			return frag{}, "an empty -like pattern matches only empty or missing values, which Graph cannot express"
		}
		return c.pushEquality(l, syntax.Literal{Kind: syntax.LitString, Str: lit})
	case shapePrefix:
		if at.StartsWith == Unsupported {
			return frag{}, fmt.Sprintf("Graph cannot use startsWith on %s", p)
		}
		return c.negatable(l, "startsWith("+p+","+quote(lit)+")", at.StartsWith == Advanced)
	case shapeSuffix:
		if at.EndsWith == Unsupported {
			return frag{}, fmt.Sprintf("Graph supports endsWith only on mail, otherMails, userPrincipalName and proxyAddresses, not on %s", p)
		}
		return c.negatable(l, "endsWith("+p+","+quote(lit)+")", true)
	case shapeContains:
		return frag{}, "Graph has no $filter form for a '*text*' pattern"
	case shapeAny:
		return frag{}, "a '*' pattern decides nothing Graph needs to filter"
	}
	return frag{}, "Graph has no $filter form for a pattern with ?, [...] or an inner *"
}

// pushEquality compiles -eq / -ne of a string attribute with lit.
func (c *compiler) pushEquality(l *leaf, lit syntax.Literal) (frag, string) {
	at := l.attr
	p := at.Graph
	if lit.Kind == syntax.LitNull {
		if at.Null == Unsupported {
			return frag{}, fmt.Sprintf("Graph cannot filter %s on null", p)
		}
		if l.neg {
			return frag{s: p + " ne null", adv: true}, ""
		}
		return frag{s: p + " eq null", adv: at.Null == Advanced}, ""
	}
	if at.Eq == Unsupported {
		return frag{}, fmt.Sprintf("Graph cannot filter on %s", p)
	}
	if l.neg {
		// OData: null ne 'v' is true, as PowerShell's $null -ne 'v' is.
		return frag{s: p + " ne " + quote(lit.Str), adv: true}, ""
	}
	f := frag{s: p + " eq " + quote(lit.Str), adv: at.Eq == Advanced}
	if at.In != Unsupported {
		f.inProp, f.inVal, f.inAdv = p, lit.Str, at.In == Advanced
	}
	return f, ""
}

// negatable compiles a startsWith/endsWith call, or its negation. Graph's
// not() of a function of null is not true (OData null propagation) while
// PowerShell's $null -notlike 'x*' is, so on a nullable property the
// negation adds "or p eq null".
func (c *compiler) negatable(l *leaf, call string, adv bool) (frag, string) {
	at := l.attr
	if !l.neg {
		return frag{s: call, adv: adv}, ""
	}
	if at.Not == Unsupported {
		return frag{}, fmt.Sprintf("Graph cannot use not() on %s", at.Graph)
	}
	f := frag{s: "not(" + call + ")", depth: 1, adv: true}
	if at.Nullable {
		if at.Null == Unsupported {
			return frag{}, fmt.Sprintf("-notlike must include users whose %s is null, and Graph cannot filter %s on null", at.Graph, at.Graph)
		}
		f = frag{s: f.s + " or " + at.Graph + " eq null", kind: fragOr, depth: 1, adv: true}
	}
	return f, ""
}

func (c *compiler) pushBool(l *leaf) (frag, string) {
	at := l.attr
	p := at.Graph
	if l.lit.Kind == syntax.LitNull {
		if at.Null == Unsupported {
			return frag{}, fmt.Sprintf("Graph cannot filter %s on null", p)
		}
		if l.neg {
			return frag{s: p + " ne null", adv: true}, ""
		}
		return frag{s: p + " eq null", adv: at.Null == Advanced}, ""
	}
	want := l.lit.Kind == syntax.LitTrue
	if l.neg {
		if at.Nullable {
			return frag{s: fmt.Sprintf("%s ne %t", p, want), adv: true}, ""
		}
		want = !want // never null: -ne $true is -eq $false
	}
	return frag{s: fmt.Sprintf("%s eq %t", p, want), adv: at.Eq == Advanced}, ""
}

func (c *compiler) pushList(l *leaf) (frag, string) {
	at := l.attr
	p := at.Graph
	if l.lit.Kind == syntax.LitNull {
		return frag{}, fmt.Sprintf("Graph cannot filter %s on an empty collection without $count", p)
	}
	var call string
	adv := false
	shape, lit := shapeExact, l.lit.Str
	if l.like {
		shape, lit = l.pat.shape, l.pat.lit
	}
	switch shape {
	case shapeExact:
		if l.like && lit == "" {
			return frag{}, "an empty -like pattern matches only empty values, which Graph cannot express"
		}
		call, adv = "x eq "+quote(lit), at.Eq == Advanced
	case shapePrefix:
		call, adv = "startsWith(x,"+quote(lit)+")", at.StartsWith == Advanced
	case shapeSuffix:
		call, adv = "endsWith(x,"+quote(lit)+")", true
	default:
		return frag{}, fmt.Sprintf("Graph has no $filter form for the pattern %s on %s", l.lit, p)
	}
	f := frag{s: p + "/any(x:" + call + ")", depth: 1, adv: adv}
	if l.neg {
		if at.Not == Unsupported {
			return frag{}, fmt.Sprintf("Graph cannot use not() on %s", p)
		}
		f = frag{s: "not(" + f.s + ")", depth: 2, adv: true}
	}
	return f, ""
}
