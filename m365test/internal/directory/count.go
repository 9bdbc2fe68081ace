package directory

import (
	"fmt"
	"strconv"
	"strings"
)

// countNode is `collection/$count eq N` or `ne N`: how many values a
// collection property holds. Graph supports it in advanced queries only
// ("Advanced query capabilities on Microsoft Entra ID objects": "Getting
// empty collections (/$count eq 0, /$count ne 0) and collections with less
// than one object (/$count eq 1, /$count ne 1) is supported only with
// advanced query parameters"); the page names eq and ne, so other
// operators are refused.
type countNode struct {
	p  prop // a collection property, or pAssignedLicenses
	ne bool
	n  int
}

func (n *countNode) eval(r record, _ string) bool {
	c := 0
	if n.p == pAssignedLicenses {
		c = r.licenseCount()
	} else {
		c = len(r.list(n.p))
	}
	return (c == n.n) != n.ne
}

func (n *countNode) print(b *strings.Builder, _ int) {
	b.WriteString(propName(n.p))
	b.WriteString("/$count")
	if n.ne {
		b.WriteString(" ne ")
	} else {
		b.WriteString(" eq ")
	}
	b.WriteString(strconv.Itoa(n.n))
}

// peekCount reports whether the '/' just read is followed by $count.
func (p *parser) peekCount() bool {
	rest := strings.TrimLeft(p.src[p.off:], " \t\r\n")
	const seg = "$count"
	return len(rest) >= len(seg) && strings.EqualFold(rest[:len(seg)], seg) &&
		(len(rest) == len(seg) || !isIdentPart(rest[len(seg)]))
}

// parseCount parses `/$count eq N` after the property c (named name); the
// current token is the '/'.
func (p *parser) parseCount(c prop, name token) (node, error) {
	if c == pVar || p.lambdaVar != "" {
		return nil, badRequest(CodeUnsupportedQuery, "$count is not supported inside a lambda operator on resource 'User'.")
	}
	if c != pAssignedLicenses && (c >= numProps || props[c].kind != kindCollection) {
		return nil, badRequest(CodeUnsupportedQuery, "$count is supported only on collection properties; '%s' of resource 'User' is not one.", name.text)
	}
	if err := p.next(); err != nil { // the '/'
		return nil, err
	}
	if err := p.next(); err != nil { // $count
		return nil, err
	}
	op := p.tok
	switch {
	case op.is("eq"), op.is("ne"):
	case op.is("gt"), op.is("ge"), op.is("lt"), op.is("le"):
		return nil, badRequest(CodeUnsupportedQuery, "Operator '%s' is not supported with $count on property '%s' of resource 'User'; use eq or ne.", strings.ToLower(op.text), propName(c))
	default:
		return nil, p.syntax(op.pos, fmt.Sprintf("expected eq or ne after '%s/$count', found %s", name.text, op.describe()))
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	t := p.tok
	if t.kind != tokNumber {
		if t.kind == tokString {
			return nil, mismatch("Edm.Int32", "Edm.String", map[bool]string{false: "Equal", true: "NotEqual"}[op.is("ne")])
		}
		return nil, p.syntax(t.pos, fmt.Sprintf("expected a number after '%s/$count %s', found %s", name.text, strings.ToLower(op.text), t.describe()))
	}
	n, err := strconv.Atoi(t.text)
	if err != nil || n < 0 {
		return nil, p.syntax(t.pos, fmt.Sprintf("'%s' is not a count: $count compares with a whole number of at least 0", t.text))
	}
	return &countNode{p: c, ne: op.is("ne"), n: n}, p.next()
}
