package directory

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Expr is a parsed Graph $filter over users. The zero Expr is the empty
// filter: it matches every user and prints as "".
type Expr struct {
	root node
}

// Match reports whether u satisfies the filter, comparing strings
// case-insensitively as Graph does. It does not apply Graph's
// default-versus-advanced rules; see [Expr.Validate].
func (e Expr) Match(u User) bool {
	if e.root == nil {
		return true
	}
	return e.root.eval(&u, "")
}

// String returns the filter in canonical form: keywords and function names
// in Graph's spelling (eq, and, startsWith), property names as Graph spells
// them, single spaces, and parentheses only where precedence needs them.
// ParseFilter(e.String()) yields an equal Expr.
func (e Expr) String() string {
	if e.root == nil {
		return ""
	}
	var b strings.Builder
	e.root.print(&b, precOr)
	return b.String()
}

// IsZero reports whether e is the empty filter.
func (e Expr) IsZero() bool { return e.root == nil }

// record is a user as the evaluator sees it: a materialized [User] or a
// lazily generated one.
type record interface {
	str(p prop) (string, bool) // value; false when null
	boolean(p prop) bool
	list(p prop) []string
	licensed(sku [16]byte) bool // assignedLicenses/any(x:x/skuId eq sku)
	createdAt() time.Time       // createdDateTime; zero when null
	identityList() []Identity   // identities besides the userPrincipalName one
	licenseCount() int          // assignedLicenses/$count
}

// Operator precedence for printing, loosest first.
const (
	precOr = iota
	precAnd
	precUnary
)

type node interface {
	// eval evaluates the node for r; v is the value of the enclosing
	// lambda's range variable.
	eval(r record, v string) bool
	print(b *strings.Builder, prec int)
}

// litKind is the type of a literal.
type litKind uint8

const (
	litString litKind = iota
	litBool
	litNull
)

type literal struct {
	kind litKind
	s    string
	b    bool
	// uuid is s parsed as a UUID, when isUUID: it lets `id eq` find a
	// generated user through the directory's ID index instead of hashing
	// every user's ID.
	uuid   [16]byte
	isUUID bool
}

func stringLiteral(s string) literal {
	l := literal{kind: litString, s: s}
	l.uuid, l.isUUID = parseUUID(s)
	return l
}

func (l literal) print(b *strings.Builder) {
	switch l.kind {
	case litNull:
		b.WriteString("null")
	case litBool:
		if l.b {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	default:
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(l.s, "'", "''"))
		b.WriteByte('\'')
	}
}

// operand is a property, or the range variable of the enclosing lambda.
type operand struct {
	p       prop
	varName string // when p == pVar
}

func (o operand) print(b *strings.Builder) {
	if o.p == pVar {
		b.WriteString(o.varName)
		return
	}
	b.WriteString(props[o.p].name)
}

// value returns the operand's string value for r; false when null.
func (o operand) value(r record, v string) (string, bool) {
	if o.p == pVar {
		return v, true
	}
	return r.str(o.p)
}

// matches reports whether the operand of r equals l (case-insensitively for
// strings).
func (o operand) matches(r record, v string, l literal) bool {
	if o.p != pVar && props[o.p].kind == kindBool {
		return l.kind == litBool && r.boolean(o.p) == l.b
	}
	if o.p == pID && l.kind == litString {
		if g, ok := r.(*gen); ok {
			return l.isUUID && g.d.indexOf(l.uuid) == g.i
		}
	}
	s, ok := o.value(r, v)
	if l.kind == litNull {
		return !ok
	}
	return ok && l.kind == litString && strings.EqualFold(s, l.s)
}

// logicNode is an n-ary and/or; n-ary so that long chains do not nest.
type logicNode struct {
	or    bool
	terms []node
}

func (n *logicNode) eval(r record, v string) bool {
	for _, t := range n.terms {
		if t.eval(r, v) == n.or {
			return n.or
		}
	}
	return !n.or
}

func (n *logicNode) print(b *strings.Builder, prec int) {
	self, sep := precAnd, " and "
	if n.or {
		self, sep = precOr, " or "
	}
	if prec > self {
		b.WriteByte('(')
	}
	for i, t := range n.terms {
		if i > 0 {
			b.WriteString(sep)
		}
		t.print(b, self+1)
	}
	if prec > self {
		b.WriteByte(')')
	}
}

type notNode struct{ x node }

func (n *notNode) eval(r record, v string) bool { return !n.x.eval(r, v) }

func (n *notNode) print(b *strings.Builder, _ int) {
	b.WriteString("not(")
	n.x.print(b, precOr)
	b.WriteByte(')')
}

// cmpNode is `operand eq literal` or `operand ne literal`.
type cmpNode struct {
	o   operand
	ne  bool
	lit literal
}

func (n *cmpNode) eval(r record, v string) bool { return n.o.matches(r, v, n.lit) != n.ne }

func (n *cmpNode) print(b *strings.Builder, _ int) {
	n.o.print(b)
	if n.ne {
		b.WriteString(" ne ")
	} else {
		b.WriteString(" eq ")
	}
	n.lit.print(b)
}

// inNode is `operand in (literal, ...)`.
type inNode struct {
	o    operand
	lits []literal
}

func (n *inNode) eval(r record, v string) bool {
	for _, l := range n.lits {
		if n.o.matches(r, v, l) {
			return true
		}
	}
	return false
}

func (n *inNode) print(b *strings.Builder, _ int) {
	n.o.print(b)
	b.WriteString(" in (")
	for i, l := range n.lits {
		if i > 0 {
			b.WriteByte(',')
		}
		l.print(b)
	}
	b.WriteByte(')')
}

// funcNode is startsWith(operand,'x') or endsWith(operand,'x').
type funcNode struct {
	ends bool
	o    operand
	arg  string
}

func (n *funcNode) eval(r record, v string) bool {
	s, ok := n.o.value(r, v)
	if !ok {
		return false
	}
	if n.ends {
		return hasSuffixFold(s, n.arg)
	}
	return hasPrefixFold(s, n.arg)
}

func (n *funcNode) print(b *strings.Builder, _ int) {
	if n.ends {
		b.WriteString("endsWith(")
	} else {
		b.WriteString("startsWith(")
	}
	n.o.print(b)
	b.WriteByte(',')
	literal{kind: litString, s: n.arg}.print(b)
	b.WriteByte(')')
}

// anyNode is `collection/any(v:body)`.
type anyNode struct {
	p       prop
	varName string
	body    node
}

func (n *anyNode) eval(r record, _ string) bool {
	for _, s := range r.list(n.p) {
		if n.body.eval(r, s) {
			return true
		}
	}
	return false
}

func (n *anyNode) print(b *strings.Builder, _ int) {
	b.WriteString(props[n.p].name)
	b.WriteString("/any(")
	b.WriteString(n.varName)
	b.WriteByte(':')
	n.body.print(b, precOr)
	b.WriteByte(')')
}

// foldEq reports whether two runes are equal under Unicode simple case
// folding.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// hasPrefixFold is a case-insensitive strings.HasPrefix.
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		a, na := utf8.DecodeRuneInString(prefix)
		c, nc := utf8.DecodeRuneInString(s)
		if !foldEq(a, c) {
			return false
		}
		prefix, s = prefix[na:], s[nc:]
	}
	return true
}

// hasSuffixFold is a case-insensitive strings.HasSuffix.
func hasSuffixFold(s, suffix string) bool {
	for suffix != "" {
		if s == "" {
			return false
		}
		a, na := utf8.DecodeLastRuneInString(suffix)
		c, nc := utf8.DecodeLastRuneInString(s)
		if !foldEq(a, c) {
			return false
		}
		suffix, s = suffix[:len(suffix)-na], s[:len(s)-nc]
	}
	return true
}
