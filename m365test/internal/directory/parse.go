package directory

import (
	"fmt"
	"strings"
)

// maxDepth bounds the nesting of parentheses, not and lambdas, so that no
// filter can exhaust the stack.
const maxDepth = 64

// ParseFilter parses a Graph $filter over users (already URL-decoded).
//
// The grammar is the subset of OData v4 Graph supports on users: eq, ne,
// `in (...)`, ge, le, startsWith(p,'x'), endsWith(p,'x'), and, or, not,
// parentheses, `collection/$count eq N` (and ne),
// the literals 'string' (” escapes a quote), true, false and null, and
// `collection/any(x: ...)` on businessPhones, otherMails and proxyAddresses.
// Keywords, function and property names are case-insensitive. Blanks
// (space, tab, CR, LF) separate tokens.
//
// Every error is a *[QueryError] with Status 400: Code [CodeBadRequest] for
// malformed filters (wrapping a *[SyntaxError] with the position), unknown
// properties and mismatched types, and [CodeUnsupportedQuery] for OData
// constructs Graph does not support on users (gt, contains, all, ...).
// Whether Graph accepts the filter without the advanced query parameters is
// a separate question: [Expr.Validate].
func ParseFilter(filter string) (Expr, error) {
	p := &parser{src: filter}
	if err := p.next(); err != nil {
		return Expr{}, err
	}
	if p.tok.kind == tokEOF {
		return Expr{}, p.syntax(p.tok.pos, "the filter is empty")
	}
	root, err := p.parseOr()
	if err != nil {
		return Expr{}, err
	}
	if p.tok.kind != tokEOF {
		return Expr{}, p.syntax(p.tok.pos, fmt.Sprintf("unexpected %s", p.tok.describe()))
	}
	return Expr{root: root}, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokLParen
	tokRParen
	tokComma
	tokColon
	tokSlash
)

type token struct {
	kind tokKind
	pos  int
	text string // identifier or number as written; string literal unescaped
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of filter"
	case tokString:
		return "string literal"
	case tokIdent, tokNumber:
		return fmt.Sprintf("'%s'", t.text)
	}
	return fmt.Sprintf("character '%s'", t.text)
}

// is reports whether t is the keyword kw (case-insensitive).
func (t token) is(kw string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, kw) }

type parser struct {
	src       string
	off       int
	tok       token
	depth     int
	lambdaVar string // range variable in scope, "" outside a lambda
}

func (p *parser) syntax(pos int, msg string) error {
	se := &SyntaxError{Filter: p.src, Pos: pos, Msg: msg}
	return &QueryError{Status: 400, Code: CodeBadRequest, Message: "Invalid filter clause: " + se.Error(), Err: se}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// next scans the next token into p.tok.
func (p *parser) next() error {
	s := p.src
	for p.off < len(s) && isBlank(s[p.off]) {
		p.off++
	}
	start := p.off
	if start == len(s) {
		p.tok = token{kind: tokEOF, pos: start}
		return nil
	}
	c := s[start]
	switch {
	case c == '(' || c == ')' || c == ',' || c == ':' || c == '/':
		p.off++
		kind := tokSlash
		switch c {
		case '(':
			kind = tokLParen
		case ')':
			kind = tokRParen
		case ',':
			kind = tokComma
		case ':':
			kind = tokColon
		}
		p.tok = token{kind: kind, pos: start, text: s[start:p.off]}
	case c == '\'':
		var b strings.Builder
		i := start + 1
		for {
			if i >= len(s) {
				return p.syntax(start, "unterminated string literal")
			}
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				break
			}
			b.WriteByte(s[i])
			i++
		}
		p.off = i + 1
		p.tok = token{kind: tokString, pos: start, text: b.String()}
	case isIdentStart(c) || c == '$' && start+1 < len(s) && isIdentStart(s[start+1]):
		// $ starts only a system segment such as $count.
		i := start + 1
		for i < len(s) && isIdentPart(s[i]) {
			i++
		}
		p.off = i
		p.tok = token{kind: tokIdent, pos: start, text: s[start:i]}
	case c >= '0' && c <= '9' || c == '-':
		i := start + 1
		for i < len(s) && (isIdentPart(s[i]) || s[i] == '.' || s[i] == '-') {
			i++
		}
		p.off = i
		p.tok = token{kind: tokNumber, pos: start, text: s[start:i]}
	default:
		r := []rune(s[start:])[0]
		return p.syntax(start, fmt.Sprintf("character '%c' is not valid", r))
	}
	return nil
}

func (p *parser) expect(kind tokKind, what string) error {
	if p.tok.kind != kind {
		return p.syntax(p.tok.pos, fmt.Sprintf("expected %s, found %s", what, p.tok.describe()))
	}
	return p.next()
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return &QueryError{Status: 400, Code: CodeBadRequest, Message: "Invalid filter clause: The recursion limit has been exceeded.",
			Err: &SyntaxError{Filter: p.src, Pos: p.tok.pos, Msg: "the recursion limit has been exceeded"}}
	}
	return nil
}

func (p *parser) parseOr() (node, error)  { return p.parseLogic(true) }
func (p *parser) parseAnd() (node, error) { return p.parseLogic(false) }

// parseLogic parses a chain of terms joined by "or" (or by "and").
func (p *parser) parseLogic(or bool) (node, error) {
	kw, sub := "and", p.parseUnary
	if or {
		kw, sub = "or", p.parseAnd
	}
	first, err := sub()
	if err != nil {
		return nil, err
	}
	if !p.tok.is(kw) {
		return first, nil
	}
	n := &logicNode{or: or}
	n.add(first)
	for p.tok.is(kw) {
		if err := p.next(); err != nil {
			return nil, err
		}
		t, err := sub()
		if err != nil {
			return nil, err
		}
		n.add(t)
	}
	return n, nil
}

// add appends t to the chain, flattening a parenthesized chain of the same
// operator: a and (b and c) is a and b and c.
func (n *logicNode) add(t node) {
	if l, ok := t.(*logicNode); ok && l.or == n.or {
		n.terms = append(n.terms, l.terms...)
		return
	}
	n.terms = append(n.terms, t)
}

func (p *parser) parseUnary() (node, error) {
	if !p.tok.is("not") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.next(); err != nil {
		return nil, err
	}
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &notNode{x: x}, nil
}

// odataFunctions are OData functions Graph does not support on users.
var odataFunctions = []string{"contains", "substringof", "tolower", "toupper", "length", "indexof",
	"substring", "trim", "concat", "year", "month", "day", "hour", "minute", "second", "now",
	"round", "floor", "ceiling", "cast", "isof", "matchesPattern"}

func (p *parser) parsePrimary() (node, error) {
	switch p.tok.kind {
	case tokLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.next(); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		return x, p.expect(tokRParen, "')'")
	case tokIdent:
	default:
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected a property or function, found %s", p.tok.describe()))
	}
	name := p.tok
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokLParen {
		switch {
		case strings.EqualFold(name.text, "startswith"):
			return p.parseFunc(false)
		case strings.EqualFold(name.text, "endswith"):
			return p.parseFunc(true)
		}
		for _, f := range odataFunctions {
			if strings.EqualFold(name.text, f) {
				return nil, badRequest(CodeUnsupportedQuery, "The function '%s' is not supported on resource 'User'.", name.text)
			}
		}
		return nil, &QueryError{Status: 400, Code: CodeBadRequest, Message: fmt.Sprintf("An unknown function with name '%s' was found.", name.text)}
	}
	for _, kw := range []string{"true", "false", "null"} {
		if name.is(kw) {
			return nil, p.syntax(name.pos, "the left operand of a comparison must be a property")
		}
	}
	if isKeyword(name.text) {
		return nil, p.syntax(name.pos, fmt.Sprintf("expected a property or function, found '%s'", name.text))
	}
	if strings.EqualFold(name.text, "assignedLicenses") && p.tok.kind == tokSlash {
		if p.peekCount() {
			return p.parseCount(pAssignedLicenses, name)
		}
		return p.parseLicenseLambda()
	}
	if strings.EqualFold(name.text, "identities") && p.lambdaVar == "" {
		if p.tok.kind != tokSlash {
			return nil, mismatch("Collection(microsoft.graph.objectIdentity)", "Edm.String", "Equal")
		}
		return p.parseIdentityLambda()
	}
	if strings.EqualFold(name.text, "createdDateTime") && p.lambdaVar == "" {
		return p.parseCreated()
	}
	o, err := p.resolve(name)
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokSlash {
		if p.peekCount() {
			return p.parseCount(o.p, name)
		}
		return p.parseLambda(o, name)
	}
	if o.p != pVar && props[o.p].kind == kindCollection {
		return nil, mismatch("Collection(Edm.String)", "Edm.String", "Equal")
	}
	op := p.tok
	switch {
	case op.is("eq"), op.is("ne"):
		if err := p.next(); err != nil {
			return nil, err
		}
		l, err := p.parseLiteral(o, op)
		if err != nil {
			return nil, err
		}
		return &cmpNode{o: o, ne: op.is("ne"), lit: l}, nil
	case op.is("in"):
		if err := p.next(); err != nil {
			return nil, err
		}
		if err := p.expect(tokLParen, "'(' after 'in'"); err != nil {
			return nil, err
		}
		n := &inNode{o: o}
		for {
			l, err := p.parseLiteral(o, op)
			if err != nil {
				return nil, err
			}
			n.lits = append(n.lits, l)
			if p.tok.kind != tokComma {
				break
			}
			if err := p.next(); err != nil {
				return nil, err
			}
		}
		return n, p.expect(tokRParen, "',' or ')' in the 'in' list")
	case op.is("ge"), op.is("le"):
		return p.parseCompare(o, op)
	case op.is("gt"), op.is("lt"), op.is("has"):
		return nil, badRequest(CodeUnsupportedQuery, "Operator '%s' is not supported on resource 'User'; directory objects support eq, ne, in, ge, le, startsWith and endsWith.", strings.ToLower(op.text))
	}
	return nil, p.syntax(op.pos, fmt.Sprintf("expected an operator (eq, ne, in, ge, le) after '%s', found %s", name.text, op.describe()))
}

// resolve turns an identifier into the lambda variable or a property.
func (p *parser) resolve(name token) (operand, error) {
	if p.lambdaVar != "" && name.text == p.lambdaVar {
		return operand{p: pVar, varName: name.text}, nil
	}
	pr, ok := lookupProp(name.text)
	if !ok {
		return operand{}, &QueryError{Status: 400, Code: CodeBadRequest, Message: unknownProperty(name.text)}
	}
	return operand{p: pr}, nil
}

func mismatch(left, right, op string) error {
	return badRequest(CodeBadRequest, "A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.", left, right, op)
}

// parseLiteral parses the right operand of eq, ne, in, ge or le and checks its type
// against o.
func (p *parser) parseLiteral(o operand, op token) (literal, error) {
	opKind := "Equal"
	switch {
	case op.is("ne"):
		opKind = "NotEqual"
	case op.is("ge"):
		opKind = "GreaterThanOrEqual"
	case op.is("le"):
		opKind = "LessThanOrEqual"
	}
	left := "Edm.String"
	if o.p != pVar && props[o.p].kind == kindBool {
		left = "Edm.Boolean"
	}
	t := p.tok
	var l literal
	switch {
	case t.kind == tokString:
		l = stringLiteral(t.text)
	case t.is("true"), t.is("false"):
		l = literal{kind: litBool, b: t.is("true")}
	case t.is("null"):
		l = literal{kind: litNull}
	case t.kind == tokNumber:
		return l, mismatch(left, "Edm.Int32", opKind)
	default:
		return l, p.syntax(t.pos, fmt.Sprintf("expected a literal, found %s", t.describe()))
	}
	switch {
	case l.kind == litString && left == "Edm.Boolean":
		return l, mismatch(left, "Edm.String", opKind)
	case l.kind == litBool && left == "Edm.String":
		return l, mismatch(left, "Edm.Boolean", opKind)
	}
	return l, p.next()
}

// parseFunc parses the arguments of startsWith or endsWith; the current
// token is the '('.
func (p *parser) parseFunc(ends bool) (node, error) {
	fn := "startswith"
	if ends {
		fn = "endswith"
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokIdent {
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected a property as the first argument of %s, found %s", fn, p.tok.describe()))
	}
	o, err := p.resolve(p.tok)
	if err != nil {
		return nil, err
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	if o.p != pVar && props[o.p].kind != kindString {
		return nil, badRequest(CodeBadRequest, "No function signature for the function with name '%s' matches the specified arguments.", fn)
	}
	if err := p.expect(tokComma, "','"); err != nil {
		return nil, err
	}
	if p.tok.kind != tokString {
		if p.tok.kind == tokNumber || p.tok.is("true") || p.tok.is("false") || p.tok.is("null") {
			return nil, badRequest(CodeBadRequest, "No function signature for the function with name '%s' matches the specified arguments.", fn)
		}
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected a string literal as the second argument of %s, found %s", fn, p.tok.describe()))
	}
	arg := p.tok.text
	if err := p.next(); err != nil {
		return nil, err
	}
	return &funcNode{ends: ends, o: o, arg: arg}, p.expect(tokRParen, "')'")
}

// parseLambda parses `/any(v: body)` after a collection property.
func (p *parser) parseLambda(o operand, name token) (node, error) {
	if err := p.next(); err != nil { // the '/'
		return nil, err
	}
	if o.p == pVar || props[o.p].kind != kindCollection {
		return nil, badRequest(CodeUnsupportedQuery, "Navigation or lambda on '%s' is not supported on resource 'User'.", name.text)
	}
	switch {
	case p.tok.is("any"):
	case p.tok.is("all"):
		return nil, badRequest(CodeUnsupportedQuery, "The lambda operator 'all' is not supported on resource 'User'.")
	default:
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected 'any' after '%s/', found %s", name.text, p.tok.describe()))
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	if err := p.expect(tokLParen, "'(' after 'any'"); err != nil {
		return nil, err
	}
	if p.lambdaVar != "" {
		return nil, badRequest(CodeUnsupportedQuery, "Nested lambda operators are not supported on resource 'User'.")
	}
	if p.tok.kind != tokIdent {
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected a range variable, found %s", p.tok.describe()))
	}
	v := p.tok.text
	if _, isProp := lookupProp(v); isProp || isKeyword(v) {
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("'%s' cannot be a range variable", v))
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	if err := p.expect(tokColon, "':' after the range variable"); err != nil {
		return nil, err
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.lambdaVar = v
	body, err := p.parseOr()
	p.lambdaVar = ""
	p.depth--
	if err != nil {
		return nil, err
	}
	return &anyNode{p: o.p, varName: v, body: body}, p.expect(tokRParen, "')'")
}

// keywords are the words the grammar reserves.
var keywords = []string{"and", "or", "not", "eq", "ne", "in", "gt", "ge", "lt", "le", "has",
	"any", "all", "true", "false", "null", "startswith", "endswith"}

func isKeyword(s string) bool {
	for _, kw := range keywords {
		if strings.EqualFold(s, kw) {
			return true
		}
	}
	return false
}
