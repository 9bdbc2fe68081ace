package directory

import "strings"

// rangeNode is `operand ge literal` or `operand le literal`.
//
// Strings compare case-insensitively, ordinal by Unicode code point after
// lower-casing (Graph documents case-insensitive filtering but not its
// collation; for the ASCII values of the demo data the two cannot differ).
// A null property satisfies neither; accountEnabled orders false before
// true.
type rangeNode struct {
	o   operand
	le  bool
	lit literal
}

func (n *rangeNode) eval(r record, v string) bool {
	if n.o.p != pVar && props[n.o.p].kind == kindBool {
		got, want := r.boolean(n.o.p), n.lit.b
		if n.le {
			return !got || want
		}
		return got || !want
	}
	s, ok := n.o.value(r, v)
	if !ok {
		return false
	}
	c := strings.Compare(strings.ToLower(s), strings.ToLower(n.lit.s))
	if n.le {
		return c <= 0
	}
	return c >= 0
}

func (n *rangeNode) print(b *strings.Builder, _ int) {
	n.o.print(b)
	if n.le {
		b.WriteString(" le ")
	} else {
		b.WriteString(" ge ")
	}
	n.lit.print(b)
}

// parseCompare parses the literal after ge or le; the current token is the
// operator. null is refused: the filter table's null column is about eq
// and ne.
func (p *parser) parseCompare(o operand, op token) (node, error) {
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.is("null") {
		name := o.varName
		if o.p != pVar {
			name = props[o.p].name
		}
		return nil, badRequest(CodeUnsupportedQuery, "Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", name)
	}
	l, err := p.parseLiteral(o, op)
	if err != nil {
		return nil, err
	}
	return &rangeNode{o: o, le: op.is("le"), lit: l}, nil
}

// checkRange checks ge or le of o.
func checkRange(n *rangeNode, coll prop, advanced bool) error {
	p, err := target(n.o, coll)
	if err != nil {
		return err
	}
	s := props[p].ge
	if n.le {
		s = props[p].le
	}
	return need(s, p, advanced)
}
