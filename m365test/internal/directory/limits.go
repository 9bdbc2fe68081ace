package directory

import "unicode/utf8"

// Graph's query-size limits on directory objects ("Known issues with
// Microsoft Graph", query parameter limitations).
const (
	// MaxPlainExpressions is the most expressions a query without the
	// advanced parameters may hold in a filter that uses `in` or `or`:
	// each comparison and function call counts once, each value of an
	// `in` list once.
	MaxPlainExpressions = 15
	// MaxPlainValueLength is the longest string, in characters, an `eq`
	// or `in` may compare with in a query without the advanced
	// parameters.
	MaxPlainValueLength = 120
	// MaxAdvancedURLLength is the longest request URL, in characters, of
	// an advanced query (ConsistencyLevel: eventual and $count=true).
	MaxAdvancedURLLength = 2048
)

// CheckLimits applies Graph's query-size limits to a request filtering by
// e: advanced says whether it is an advanced query, urlLen is the length
// of its URL as sent (scheme, host, path and encoded query). It returns
// nil or a *[QueryError] with Status 400.
func (e Expr) CheckLimits(advanced bool, urlLen int) error {
	if advanced {
		if urlLen > MaxAdvancedURLLength {
			return badRequest(CodeUnsupportedQuery,
				"The request URI is too long: %d characters. An advanced query may use at most %d characters.", urlLen, MaxAdvancedURLLength)
		}
		return nil
	}
	if e.root == nil {
		return nil
	}
	var st limitStats
	st.walk(e.root)
	if st.longest > MaxPlainValueLength {
		return badRequest(CodeUnsupportedQuery,
			"Invalid filter clause: the value of an 'eq' or 'in' expression may be at most %d characters, not %d, without the ConsistencyLevel: eventual header and $count=true.", MaxPlainValueLength, st.longest)
	}
	if (st.in || st.or) && st.exprs > MaxPlainExpressions {
		return badRequest(CodeUnsupportedQuery,
			"Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: %d.", st.exprs, MaxPlainExpressions)
	}
	return nil
}

// limitStats are the measures the query-size limits look at.
type limitStats struct {
	exprs   int  // comparisons, function calls and in values
	longest int  // longest eq / in string value, in characters
	in, or  bool // the filter uses in / or
}

func (st *limitStats) value(l literal) {
	if l.kind == litString {
		st.longest = max(st.longest, utf8.RuneCountInString(l.s))
	}
}

func (st *limitStats) walk(n node) {
	switch n := n.(type) {
	case *logicNode:
		st.or = st.or || n.or
		for _, t := range n.terms {
			st.walk(t)
		}
	case *notNode:
		st.walk(n.x)
	case *cmpNode:
		st.exprs++
		st.value(n.lit)
	case *inNode:
		st.in = true
		st.exprs += len(n.lits)
		for _, l := range n.lits {
			st.value(l)
		}
	case *funcNode, *rangeNode, *countNode:
		st.exprs++
	case *dateNode:
		st.exprs += len(n.ts)
		st.in = st.in || n.op == dateIn
	case *identityNode:
		st.exprs++
		st.value(literal{kind: litString, s: n.issuer})
		st.value(literal{kind: litString, s: n.assignedID})
	case *anyNode:
		st.walk(n.body)
	}
}
