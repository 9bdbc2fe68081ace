package syntax

import (
	"strconv"
)

// MaxLength is the longest filter, in bytes, that Parse accepts.
const MaxLength = 64 << 10

// maxNesting bounds parentheses and -not nesting, so a hostile filter cannot
// exhaust the stack.
const maxNesting = 100

// Parse parses a Get-CsOnlineUser style filter such as
//
//	UsageLocation -eq 'IT' -and Department -like 'Sales*'
//
// into an expression tree. It checks syntax only; Compile checks the
// attributes. A filter that does not parse returns a *Error. A blank
// filter (or "{ }") is a syntax error here; ParseOrBlank, which Compile
// uses, reads it as "all users".
func Parse(filter string) (Expr, error) {
	e, err := ParseOrBlank(filter)
	if err != nil {
		return nil, err
	}
	if e == nil {
		line, col := Position(filter, len(filter))
		return nil, &Error{Offset: len(filter), Line: line, Column: col, Expected: "a filter expression", Found: "end of filter"}
	}
	return e, nil
}

// ParseOrBlank parses filter as Parse does, except that a blank filter (or
// "{ }") returns (nil, nil).
func ParseOrBlank(filter string) (Expr, error) {
	p := &parser{lex: lexer{src: filter}}
	if len(filter) > MaxLength {
		return nil, p.lex.errorf(MaxLength, "a filter of at most "+strconv.Itoa(MaxLength)+" bytes", "a longer filter", "")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	braced := false
	var open token
	if p.tok.kind == tokLBrace {
		braced = true
		open = p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind == tokEOF && !braced {
		return nil, nil
	}
	if braced && p.tok.kind == tokRBrace {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokEOF {
			return nil, p.unexpected("end of filter after '}'")
		}
		return nil, nil
	}
	e, err := p.expr("the start of the filter")
	if err != nil {
		return nil, err
	}
	if braced {
		if p.tok.kind != tokRBrace {
			return nil, p.unexpected("-and, -or or a '}' to close the '{' at " + strconv.Itoa(open.pos))
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind != tokEOF {
		if p.tok.kind == tokRParen {
			return nil, p.unexpected("-and, -or or end of filter (this ')' has no matching '(')")
		}
		return nil, p.unexpected("-and, -or or end of filter")
	}
	return e, nil
}

type parser struct {
	lex   lexer
	tok   token
	depth int
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// describe names the current token for error messages.
func (p *parser) describe() string {
	t := p.tok
	if t.kind == tokEOF {
		return "end of filter"
	}
	return Clip(p.lex.src[t.pos:t.end])
}

func (p *parser) unexpected(expected string) *Error {
	return p.lex.errorf(p.tok.pos, expected, p.describe(), "")
}

// expr := unary { (-and | -or) unary }, left to right with equal precedence,
// as in PowerShell.
func (p *parser) expr(after string) (Expr, error) {
	x, err := p.unary(after)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokAnd || p.tok.kind == tokOr {
		op, opPos := And, p.tok.pos
		if p.tok.kind == tokOr {
			op = Or
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.unary(op.String())
		if err != nil {
			return nil, err
		}
		x = &BinaryExpr{Op: op, OpPos: opPos, X: x, Y: y}
	}
	return x, nil
}

// unary := (-not | !) unary | '(' expr ')' | comparison
func (p *parser) unary(after string) (Expr, error) {
	switch p.tok.kind {
	case tokNot:
		if p.depth >= maxNesting {
			return nil, p.lex.errorf(p.tok.pos, "at most "+strconv.Itoa(maxNesting)+" nested -not or parentheses", "deeper nesting", "")
		}
		p.depth++
		defer func() { p.depth-- }()
		pos := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary("-not")
		if err != nil {
			return nil, err
		}
		return &NotExpr{NotPos: pos, X: x}, nil
	case tokLParen:
		if p.depth >= maxNesting {
			return nil, p.lex.errorf(p.tok.pos, "at most "+strconv.Itoa(maxNesting)+" nested -not or parentheses", "deeper nesting", "")
		}
		p.depth++
		defer func() { p.depth-- }()
		open := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.expr("'('")
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.unexpected("-and, -or or a ')' to close the '(' at " + strconv.Itoa(open))
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return x, nil
	case tokIdent:
		return p.comparison()
	}
	hint := ""
	if p.tok.kind == tokString || p.tok.kind == tokNull || p.tok.kind == tokTrue || p.tok.kind == tokFalse {
		hint = "write the attribute first, e.g. UsageLocation -eq 'IT'"
	}
	e := p.unexpected("an attribute name, -not or '(' after " + after)
	e.Hint = hint
	return nil, e
}

// comparison := attribute operator value
func (p *parser) comparison() (Expr, error) {
	c := &Comparison{Attr: p.tok.val, AttrPos: p.tok.pos}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokCmp {
		return nil, p.unexpected("an operator (-eq, -ne, -like, -notlike, -contains, -notcontains) after " + Clip(c.Attr))
	}
	c.Op, c.OpPos = p.tok.op, p.tok.pos
	if err := p.advance(); err != nil {
		return nil, err
	}
	c.ValuePos = p.tok.pos
	switch p.tok.kind {
	case tokString:
		c.Value = Literal{Kind: LitString, Str: p.tok.val}
	case tokNull:
		c.Value = Literal{Kind: LitNull}
	case tokTrue:
		c.Value = Literal{Kind: LitTrue}
	case tokFalse:
		c.Value = Literal{Kind: LitFalse}
	default:
		e := p.unexpected("a value after " + c.Op.String())
		if p.tok.kind == tokIdent {
			e.Expected = "a value (a quoted string, a number, $null, $true or $false) after " + c.Op.String()
			e.Hint = "quote the value: '" + Clip(p.tok.val) + "'"
		}
		return nil, e
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return c, nil
}
