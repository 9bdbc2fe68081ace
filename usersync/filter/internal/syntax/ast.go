package syntax

import "strings"

// Expr is a node of a parsed filter: a *Comparison, a *NotExpr or a
// *BinaryExpr. String renders it back in filter syntax; parsing that text
// gives the same tree.
type Expr interface {
	// Pos is the byte offset in the filter where the node starts.
	Pos() int
	String() string
	expr()
}

// Operator is a comparison operator.
type Operator int

// The comparison operators. Each is case-insensitive, like PowerShell's
// default operators; the -i forms (-ieq, -ilike, ...) parse to the same
// operator.
const (
	OpEq          Operator = iota + 1 // -eq
	OpNe                              // -ne
	OpLike                            // -like
	OpNotLike                         // -notlike
	OpContains                        // -contains
	OpNotContains                     // -notcontains
)

var operatorNames = [...]string{
	OpEq:          "-eq",
	OpNe:          "-ne",
	OpLike:        "-like",
	OpNotLike:     "-notlike",
	OpContains:    "-contains",
	OpNotContains: "-notcontains",
}

// String returns the operator as written in a filter, e.g. "-eq".
func (o Operator) String() string {
	if o <= 0 || int(o) >= len(operatorNames) {
		return "-?"
	}
	return operatorNames[o]
}

// LiteralKind says what a Literal holds.
type LiteralKind int

// The literal kinds.
const (
	LitString LiteralKind = iota + 1 // a quoted string or a number
	LitNull                          // $null
	LitTrue                          // $true
	LitFalse                         // $false
)

// Literal is the value side of a comparison. Numbers are kept as their
// decimal text (PowerShell compares a string attribute with a number by its
// text).
type Literal struct {
	Kind LiteralKind
	Str  string // the unescaped string, for LitString
}

// String renders the literal in filter syntax: strings single-quoted with
// quote characters doubled.
func (l Literal) String() string {
	switch l.Kind {
	case LitNull:
		return "$null"
	case LitTrue:
		return "$true"
	case LitFalse:
		return "$false"
	}
	var b strings.Builder
	b.Grow(len(l.Str) + 2)
	b.WriteByte('\'')
	for _, r := range l.Str {
		if isSingleQuote(r) {
			b.WriteRune(r) // PowerShell escapes a quote by doubling it
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// Comparison is `Attribute -op Value`.
type Comparison struct {
	Attr     string // the attribute name as written (without a $_. prefix)
	AttrPos  int
	Op       Operator
	OpPos    int
	Value    Literal
	ValuePos int
}

// NotExpr is `-not X` or `!X`.
type NotExpr struct {
	NotPos int
	X      Expr
}

// LogicalOp is -and or -or.
type LogicalOp int

// The logical operators. PowerShell gives them equal precedence and
// evaluates them left to right: `A -or B -and C` means `(A -or B) -and C`.
const (
	And LogicalOp = iota + 1
	Or
)

// String returns "-and" or "-or".
func (o LogicalOp) String() string {
	if o == Or {
		return "-or"
	}
	return "-and"
}

// BinaryExpr is `X -and Y` or `X -or Y`.
type BinaryExpr struct {
	Op    LogicalOp
	OpPos int
	X, Y  Expr
}

// Pos implements Expr.
func (c *Comparison) Pos() int { return c.AttrPos }

// Pos implements Expr.
func (n *NotExpr) Pos() int { return n.NotPos }

// Pos implements Expr.
func (b *BinaryExpr) Pos() int { return b.X.Pos() }

func (*Comparison) expr() {}
func (*NotExpr) expr()    {}
func (*BinaryExpr) expr() {}

// String renders the comparison in filter syntax.
func (c *Comparison) String() string {
	var b strings.Builder
	writeExpr(&b, c)
	return b.String()
}

// String renders the negation in filter syntax, always parenthesized so it
// reads the same in PowerShell (where -not binds tighter than -eq).
func (n *NotExpr) String() string {
	var b strings.Builder
	writeExpr(&b, n)
	return b.String()
}

// String renders the expression in filter syntax, with the parentheses
// needed to keep its structure under PowerShell's left-to-right evaluation.
func (b *BinaryExpr) String() string {
	var s strings.Builder
	writeExpr(&s, b)
	return s.String()
}

// writeExpr renders e into b (in linear time, however deep the tree).
func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *Comparison:
		b.WriteString(e.Attr)
		b.WriteString(" ")
		b.WriteString(e.Op.String())
		b.WriteString(" ")
		b.WriteString(e.Value.String())
	case *NotExpr:
		if _, ok := e.X.(*NotExpr); ok {
			b.WriteString("-not ")
			writeExpr(b, e.X)
			return
		}
		b.WriteString("-not (")
		writeExpr(b, e.X)
		b.WriteString(")")
	case *BinaryExpr:
		if x, ok := e.X.(*BinaryExpr); ok && x.Op != e.Op {
			b.WriteString("(")
			writeExpr(b, x)
			b.WriteString(")")
		} else {
			writeExpr(b, e.X)
		}
		b.WriteString(" " + e.Op.String() + " ")
		if _, ok := e.Y.(*BinaryExpr); ok {
			b.WriteString("(")
			writeExpr(b, e.Y)
			b.WriteString(")")
		} else {
			writeExpr(b, e.Y)
		}
	}
}
