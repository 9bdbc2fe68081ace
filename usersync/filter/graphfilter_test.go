package filter_test

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is a small, independent evaluator of the Microsoft Graph $filter
// subset for users, with Graph's documented capability rules (what needs the
// advanced query parameters, endsWith only on mail-like properties, at most
// 15 values per in, at most 3 nested levels). The property test checks the
// compiler's GraphFilter against it. It knows nothing of package filter's
// internals.

// graphEvaluator evaluates a $filter on one user (a decoded Graph JSON
// object); advanced says whether the request carries the advanced query
// parameters. It returns an error where Graph would answer 400.
type graphEvaluator func(filter string, advanced bool, user map[string]any) (bool, error)

// graphProps is Graph's capability table for the user properties used here
// (from "Advanced query capabilities on Microsoft Entra ID objects").
var graphProps = map[string]struct {
	eqAdv, startsWith, endsWith, not, null, nullAdv bool
}{
	"userPrincipalName": {startsWith: true, endsWith: true},
	"displayName":       {startsWith: true, not: true, null: true, nullAdv: true},
	"givenName":         {startsWith: true, null: true, nullAdv: true},
	"surname":           {startsWith: true, null: true, nullAdv: true},
	"jobTitle":          {startsWith: true, null: true, nullAdv: true},
	"department":        {startsWith: true, not: true, null: true, nullAdv: true},
	"companyName":       {eqAdv: true, startsWith: true, not: true, null: true, nullAdv: true},
	"city":              {startsWith: true, not: true, null: true, nullAdv: true},
	"state":             {startsWith: true, null: true, nullAdv: true},
	"country":           {startsWith: true, not: true, null: true, nullAdv: true},
	"usageLocation":     {startsWith: true},
	"accountEnabled":    {not: true},
	"streetAddress":     {eqAdv: true, startsWith: true, null: true, nullAdv: true},
	"officeLocation":    {eqAdv: true, startsWith: true, null: true, nullAdv: true},
	"postalCode":        {eqAdv: true, startsWith: true, null: true, nullAdv: true},
	"mobilePhone":       {eqAdv: true, startsWith: true, null: true, nullAdv: true},
	"preferredLanguage": {eqAdv: true, startsWith: true, null: true, nullAdv: true},
	"mailNickname":      {startsWith: true, null: true, nullAdv: true},
	"mail":              {startsWith: true, endsWith: true},
	"proxyAddresses":    {startsWith: true, endsWith: true, not: true},
}

// odataEval is the graphEvaluator implemented in this file.
func odataEval(filter string, advanced bool, user map[string]any) (bool, error) {
	e, err := parseOData(filter)
	if err != nil {
		return false, err
	}
	if e.needsAdvanced && !advanced {
		return false, fmt.Errorf("Request_UnsupportedQuery: %q needs ConsistencyLevel: eventual and $count=true (%s)", filter, e.why)
	}
	v, null := e.root.eval(user)
	return v && !null, nil
}

type oexpr interface {
	// eval returns the value and whether it is null (OData three-valued logic).
	eval(user map[string]any) (val, null bool)
}

type oparsed struct {
	root          oexpr
	needsAdvanced bool
	why           string
}

type otok struct {
	kind byte // 'i' ident, 's' string, '(' ')' ',' ':' '/', 0 EOF
	text string
	pos  int
}

type oparser struct {
	toks  []otok
	i     int
	depth int
	out   *oparsed
	// lambda variable in scope, and the cell holding its current value
	lambdaVar string
	cell      *string
}

func lexOData(s string) ([]otok, error) {
	var toks []otok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case strings.IndexByte("(),:/", c) >= 0:
			toks = append(toks, otok{kind: c, pos: i})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string at %d", i)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, otok{kind: 's', text: b.String(), pos: i})
			i = j
		case c == '$' || c == '_' || c < utf8.RuneSelf && unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] < utf8.RuneSelf && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])))) {
				j++
			}
			toks = append(toks, otok{kind: 'i', text: s[i:j], pos: i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	return append(toks, otok{pos: len(s)}), nil
}

func parseOData(s string) (*oparsed, error) {
	toks, err := lexOData(s)
	if err != nil {
		return nil, err
	}
	p := &oparser{toks: toks, out: &oparsed{}, cell: new(string)}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != 0 {
		return nil, fmt.Errorf("unexpected token at %d", p.peek().pos)
	}
	p.out.root = e
	return p.out, nil
}

func (p *oparser) peek() otok { return p.toks[p.i] }
func (p *oparser) next() otok { t := p.toks[p.i]; p.i++; return t }
func (p *oparser) kw(word string) bool {
	t := p.peek()
	if t.kind == 'i' && strings.EqualFold(t.text, word) {
		p.i++
		return true
	}
	return false
}
func (p *oparser) expect(kind byte) error {
	if t := p.next(); t.kind != kind {
		return fmt.Errorf("expected %q at %d", kind, t.pos)
	}
	return nil
}
func (p *oparser) advanced(why string) {
	if !p.out.needsAdvanced {
		p.out.needsAdvanced, p.out.why = true, why
	}
}
func (p *oparser) nest() error {
	p.depth++
	if p.depth > 3 {
		return fmt.Errorf("Request_UnsupportedQuery: nesting deeper than 3 levels")
	}
	return nil
}

type oand []oexpr
type oor []oexpr
type onot struct{ x oexpr }

func (e oand) eval(u map[string]any) (bool, bool) {
	null := false
	for _, x := range e {
		v, n := x.eval(u)
		if !n && !v {
			return false, false
		}
		null = null || n
	}
	return !null, null
}

func (e oor) eval(u map[string]any) (bool, bool) {
	null := false
	for _, x := range e {
		v, n := x.eval(u)
		if !n && v {
			return true, false
		}
		null = null || n
	}
	return false, null
}

func (e onot) eval(u map[string]any) (bool, bool) {
	v, n := e.x.eval(u)
	return !v && !n, n
}

func (p *oparser) or() (oexpr, error) {
	x, err := p.and()
	if err != nil {
		return nil, err
	}
	list := oor{x}
	for p.kw("or") {
		y, err := p.and()
		if err != nil {
			return nil, err
		}
		list = append(list, y)
	}
	if len(list) == 1 {
		return x, nil
	}
	return list, nil
}

func (p *oparser) and() (oexpr, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	list := oand{x}
	for p.kw("and") {
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		list = append(list, y)
	}
	if len(list) == 1 {
		return x, nil
	}
	return list, nil
}

func (p *oparser) unary() (oexpr, error) {
	if p.kw("not") {
		p.advanced("not")
		if err := p.expect('('); err != nil {
			return nil, err
		}
		if err := p.nest(); err != nil {
			return nil, err
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		p.depth--
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		return onot{x}, nil
	}
	if p.peek().kind == '(' {
		p.next()
		if err := p.nest(); err != nil {
			return nil, err
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		p.depth--
		return x, p.expect(')')
	}
	return p.primary()
}

// operand is a property of the user, or the lambda variable.
type operand struct {
	prop   string
	lambda bool
}

func (o operand) get(u map[string]any, lambdaVal *string) (string, bool, any) {
	if o.lambda {
		return *lambdaVal, false, nil
	}
	v := u[o.prop]
	s, ok := v.(string)
	return s, !ok, v
}

type ocmp struct {
	x      operand
	ne     bool
	lit    any // string, bool or nil
	lambda *string
}

func (e ocmp) eval(u map[string]any) (bool, bool) {
	var v any
	if e.x.lambda {
		v = *e.lambda
	} else {
		v = u[e.x.prop]
	}
	eq := false
	switch l := e.lit.(type) {
	case nil:
		eq = v == nil
	case bool:
		b, ok := v.(bool)
		eq = ok && b == l
	case string:
		s, ok := v.(string)
		eq = ok && strings.EqualFold(s, l)
	}
	return eq != e.ne, false
}

type ofunc struct {
	name   string
	x      operand
	arg    string
	lambda *string
}

func (e ofunc) eval(u map[string]any) (bool, bool) {
	s, null, _ := e.x.get(u, e.lambda)
	if null {
		return false, true
	}
	n := utf8.RuneCountInString(e.arg)
	rs := []rune(s)
	if len(rs) < n {
		return false, false
	}
	if e.name == "startswith" {
		return strings.EqualFold(string(rs[:n]), e.arg), false
	}
	return strings.EqualFold(string(rs[len(rs)-n:]), e.arg), false
}

type oin struct {
	prop string
	vals []string
}

func (e oin) eval(u map[string]any) (bool, bool) {
	s, ok := u[e.prop].(string)
	if !ok {
		return false, false
	}
	for _, v := range e.vals {
		if strings.EqualFold(s, v) {
			return true, false
		}
	}
	return false, false
}

type oany struct {
	prop string
	body oexpr
	cur  *string
}

func (e oany) eval(u map[string]any) (bool, bool) {
	list, _ := u[e.prop].([]any)
	for _, x := range list {
		s, _ := x.(string)
		*e.cur = s
		if v, n := e.body.eval(u); v && !n {
			return true, false
		}
	}
	return false, false
}

func (p *oparser) literal() (any, error) {
	t := p.next()
	switch {
	case t.kind == 's':
		return t.text, nil
	case t.kind == 'i' && t.text == "null":
		return nil, nil
	case t.kind == 'i' && t.text == "true":
		return true, nil
	case t.kind == 'i' && t.text == "false":
		return false, nil
	}
	return nil, fmt.Errorf("expected a literal at %d", t.pos)
}

func (p *oparser) property(name string, pos int) (operand, error) {
	if p.lambdaVar != "" && name == p.lambdaVar {
		return operand{lambda: true}, nil
	}
	if _, ok := graphProps[name]; !ok {
		return operand{}, fmt.Errorf("Request_BadRequest: property %q at %d is not filterable", name, pos)
	}
	if name == "proxyAddresses" {
		return operand{}, fmt.Errorf("Request_BadRequest: proxyAddresses needs a lambda at %d", pos)
	}
	if graphProps[name].eqAdv {
		p.advanced(name)
	}
	return operand{prop: name}, nil
}

func (p *oparser) primary() (oexpr, error) {
	t := p.next()
	if t.kind != 'i' {
		return nil, fmt.Errorf("expected a property or function at %d", t.pos)
	}
	fn := strings.ToLower(t.text)
	if (fn == "startswith" || fn == "endswith") && p.peek().kind == '(' {
		p.next()
		a := p.next()
		if a.kind != 'i' {
			return nil, fmt.Errorf("expected a property at %d", a.pos)
		}
		x, err := p.property(a.text, a.pos)
		if err != nil {
			return nil, err
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
		s := p.next()
		if s.kind != 's' {
			return nil, fmt.Errorf("expected a string at %d", s.pos)
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		prop := a.text
		if x.lambda {
			prop = "proxyAddresses"
		}
		caps := graphProps[prop]
		if fn == "startswith" && !caps.startsWith {
			return nil, fmt.Errorf("Request_UnsupportedQuery: startsWith on %s", prop)
		}
		if fn == "endswith" {
			if !caps.endsWith {
				return nil, fmt.Errorf("Request_UnsupportedQuery: endsWith on %s", prop)
			}
			p.advanced("endsWith")
		}
		return ofunc{name: fn, x: x, arg: s.text, lambda: p.cell}, nil
	}
	if t.text == "proxyAddresses" && p.peek().kind == '/' {
		p.next()
		if !p.kw("any") {
			return nil, fmt.Errorf("expected any at %d", p.peek().pos)
		}
		if err := p.expect('('); err != nil {
			return nil, err
		}
		v := p.next()
		if v.kind != 'i' || p.lambdaVar != "" {
			return nil, fmt.Errorf("bad lambda at %d", v.pos)
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		if err := p.nest(); err != nil {
			return nil, err
		}
		p.lambdaVar = v.text
		body, err := p.or()
		p.lambdaVar = ""
		if err != nil {
			return nil, err
		}
		p.depth--
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		return oany{prop: "proxyAddresses", body: body, cur: p.cell}, nil
	}
	x, err := p.property(t.text, t.pos)
	if err != nil {
		return nil, err
	}
	switch {
	case p.kw("eq"), p.kw("ne"):
		ne := strings.EqualFold(p.toks[p.i-1].text, "ne")
		lit, err := p.literal()
		if err != nil {
			return nil, err
		}
		if ne {
			p.advanced("ne")
		}
		if !x.lambda {
			caps := graphProps[x.prop]
			if _, isBool := lit.(bool); isBool != (x.prop == "accountEnabled") {
				return nil, fmt.Errorf("Request_BadRequest: type mismatch on %s", x.prop)
			}
			if lit == nil {
				if !caps.null {
					return nil, fmt.Errorf("Request_UnsupportedQuery: %s cannot be filtered on null", x.prop)
				}
				if caps.nullAdv {
					p.advanced("null")
				}
			}
		}
		return ocmp{x: x, ne: ne, lit: lit, lambda: p.cell}, nil
	case p.kw("in"):
		if x.lambda || x.prop == "accountEnabled" {
			return nil, fmt.Errorf("Request_BadRequest: in on %s", x.prop)
		}
		if err := p.expect('('); err != nil {
			return nil, err
		}
		var vals []string
		for {
			s := p.next()
			if s.kind != 's' {
				return nil, fmt.Errorf("expected a string at %d", s.pos)
			}
			vals = append(vals, s.text)
			if p.peek().kind == ',' {
				p.next()
				continue
			}
			break
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		if len(vals) > 15 {
			return nil, fmt.Errorf("Request_UnsupportedQuery: in with %d values (at most 15)", len(vals))
		}
		return oin{prop: x.prop, vals: vals}, nil
	}
	return nil, fmt.Errorf("expected eq, ne or in at %d", p.peek().pos)
}
