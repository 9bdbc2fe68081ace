package syntax

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokIdent            // an attribute name; val is the name without a $_. prefix
	tokString           // a quoted string or a number; val is the unescaped text
	tokNull             // $null
	tokTrue             // $true
	tokFalse            // $false
	tokCmp              // a comparison operator; op says which
	tokAnd              // -and
	tokOr               // -or
	tokNot              // -not or !
	tokLParen
	tokRParen
	tokLBrace
	tokRBrace
)

type token struct {
	kind tokenKind
	pos  int
	end  int
	val  string
	op   Operator
}

// lexer splits a filter into tokens, PowerShell style.
type lexer struct {
	src string
	pos int
}

// isSingleQuote reports whether PowerShell treats r as a single quote: the
// ASCII apostrophe and the typographic quotes word processors substitute.
func isSingleQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201a' || r == '\u201b'
}

// isDoubleQuote reports whether PowerShell treats r as a double quote.
func isDoubleQuote(r rune) bool {
	return r == '"' || r == '\u201c' || r == '\u201d' || r == '\u201e'
}

// isDash reports whether PowerShell treats r as the dash of an operator
// (it accepts the en and em dashes word processors substitute).
func isDash(r rune) bool {
	return r == '-' || r == '\u2013' || r == '\u2014' || r == '\u2015'
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func (l *lexer) errorf(pos int, expected, found, hint string) *Error {
	line, col := Position(l.src, pos)
	return &Error{Offset: pos, Line: line, Column: col, Expected: expected, Found: found, Hint: hint}
}

func (l *lexer) peekRune(at int) (rune, int) {
	if at >= len(l.src) {
		return utf8.RuneError, 0
	}
	return utf8.DecodeRuneInString(l.src[at:])
}

var comparisonWords = map[string]Operator{
	"eq": OpEq, "ne": OpNe, "like": OpLike, "notlike": OpNotLike,
	"contains": OpContains, "notcontains": OpNotContains,
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	for {
		r, n := l.peekRune(l.pos)
		if n == 0 {
			return token{kind: tokEOF, pos: l.pos, end: l.pos}, nil
		}
		if r == utf8.RuneError && n == 1 {
			return token{}, l.errorf(l.pos, "valid UTF-8 text", "an invalid byte", "")
		}
		if !unicode.IsSpace(r) {
			break
		}
		l.pos += n
	}
	start := l.pos
	r, n := l.peekRune(start)
	switch {
	case r == '(':
		l.pos += n
		return token{kind: tokLParen, pos: start, end: l.pos}, nil
	case r == ')':
		l.pos += n
		return token{kind: tokRParen, pos: start, end: l.pos}, nil
	case r == '{':
		l.pos += n
		return token{kind: tokLBrace, pos: start, end: l.pos}, nil
	case r == '}':
		l.pos += n
		return token{kind: tokRBrace, pos: start, end: l.pos}, nil
	case r == '!':
		l.pos += n
		return token{kind: tokNot, pos: start, end: l.pos}, nil
	case isSingleQuote(r):
		return l.singleQuoted()
	case isDoubleQuote(r):
		return l.doubleQuoted()
	case r == '$':
		return l.variable()
	case isDash(r):
		return l.operator()
	case r >= '0' && r <= '9':
		return l.number()
	case isIdentStart(r):
		l.pos += n
		for {
			r, n := l.peekRune(l.pos)
			if n == 0 || !isIdentPart(r) {
				break
			}
			l.pos += n
		}
		return token{kind: tokIdent, pos: start, end: l.pos, val: l.src[start:l.pos]}, nil
	}
	return token{}, l.errorf(start, "an attribute, an operator, a value or a parenthesis", strconv.QuoteRune(r), "")
}

// singleQuoted lexes '...': everything is literal except a quote, which is
// escaped by doubling it.
func (l *lexer) singleQuoted() (token, error) {
	start := l.pos
	_, n := l.peekRune(l.pos)
	l.pos += n
	var b strings.Builder
	for {
		r, n := l.peekRune(l.pos)
		if n == 0 {
			return token{}, l.errorf(l.pos, "a closing ' for the string that starts at "+strconv.Itoa(start), "end of filter", "")
		}
		if r == utf8.RuneError && n == 1 {
			return token{}, l.errorf(l.pos, "valid UTF-8 text", "an invalid byte", "")
		}
		l.pos += n
		if isSingleQuote(r) {
			if r2, n2 := l.peekRune(l.pos); n2 > 0 && isSingleQuote(r2) {
				l.pos += n2
				b.WriteRune(r)
				continue
			}
			return token{kind: tokString, pos: start, end: l.pos, val: b.String()}, nil
		}
		b.WriteRune(r)
	}
}

// doubleQuoted lexes "...": a quote is escaped by doubling it or by a
// backtick, and backtick escapes (`n, `t, `u{...}, ...) apply. Variables are
// not expanded: a $ is literal.
func (l *lexer) doubleQuoted() (token, error) {
	start := l.pos
	_, n := l.peekRune(l.pos)
	l.pos += n
	var b strings.Builder
	for {
		r, n := l.peekRune(l.pos)
		if n == 0 {
			return token{}, l.errorf(l.pos, `a closing " for the string that starts at `+strconv.Itoa(start), "end of filter", "")
		}
		if r == utf8.RuneError && n == 1 {
			return token{}, l.errorf(l.pos, "valid UTF-8 text", "an invalid byte", "")
		}
		l.pos += n
		switch {
		case isDoubleQuote(r):
			if r2, n2 := l.peekRune(l.pos); n2 > 0 && isDoubleQuote(r2) {
				l.pos += n2
				b.WriteRune(r)
				continue
			}
			return token{kind: tokString, pos: start, end: l.pos, val: b.String()}, nil
		case r == '`':
			if err := l.backtickEscape(&b); err != nil {
				return token{}, err
			}
		default:
			b.WriteRune(r)
		}
	}
}

// backtickEscape decodes the escape after a backtick in a double-quoted
// string (l.pos is just past the backtick).
func (l *lexer) backtickEscape(b *strings.Builder) error {
	escPos := l.pos - 1
	r, n := l.peekRune(l.pos)
	if n == 0 {
		return l.errorf(l.pos, "a character after the backtick escape", "end of filter", "")
	}
	if r == utf8.RuneError && n == 1 {
		return l.errorf(l.pos, "valid UTF-8 text", "an invalid byte", "")
	}
	l.pos += n
	switch r {
	case '0':
		b.WriteByte(0)
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'e':
		b.WriteByte(0x1b)
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'v':
		b.WriteByte('\v')
	case 'u':
		if r, _ := l.peekRune(l.pos); r != '{' {
			b.WriteRune('u')
			return nil
		}
		end := strings.IndexByte(l.src[l.pos:], '}')
		hex := ""
		if end > 0 {
			hex = l.src[l.pos+1 : l.pos+end]
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if end < 0 || len(hex) == 0 || len(hex) > 6 || err != nil || v > unicode.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
			return l.errorf(escPos, "a Unicode escape of the form `u{1F600} (1 to 6 hex digits, at most 10FFFF)", "", "")
		}
		l.pos += end + 1
		b.WriteRune(rune(v))
	default:
		b.WriteRune(r) // `" `' `` `$ and any other character stand for themselves
	}
	return nil
}

// variable lexes $null, $true, $false, and $_.Name / $PSItem.Name (which name
// an attribute, as in a Where-Object script block).
func (l *lexer) variable() (token, error) {
	start := l.pos
	l.pos++ // '$'
	nameStart := l.pos
	if r, n := l.peekRune(l.pos); r == '_' {
		l.pos += n
	} else {
		for {
			r, n := l.peekRune(l.pos)
			if n == 0 || !isIdentPart(r) {
				break
			}
			l.pos += n
		}
	}
	name := l.src[nameStart:l.pos]
	switch strings.ToLower(name) {
	case "null":
		return token{kind: tokNull, pos: start, end: l.pos}, nil
	case "true":
		return token{kind: tokTrue, pos: start, end: l.pos}, nil
	case "false":
		return token{kind: tokFalse, pos: start, end: l.pos}, nil
	case "_", "psitem":
		if r, _ := l.peekRune(l.pos); r != '.' {
			return token{}, l.errorf(l.pos, "'.' and an attribute name after $"+name, describeAt(l.src, l.pos), "")
		}
		l.pos++
		attrStart := l.pos
		r, n := l.peekRune(l.pos)
		if n == 0 || !isIdentStart(r) {
			return token{}, l.errorf(l.pos, "an attribute name after $"+Clip(name)+".", describeAt(l.src, l.pos), "")
		}
		for {
			r, n := l.peekRune(l.pos)
			if n == 0 || !isIdentPart(r) {
				break
			}
			l.pos += n
		}
		return token{kind: tokIdent, pos: start, end: l.pos, val: l.src[attrStart:l.pos]}, nil
	}
	return token{}, l.errorf(start, "$null, $true, $false or $_.Attribute", "$"+Clip(name), "variables are not expanded in a stored filter")
}

// operator lexes -eq, -and, -not, ... (case-insensitive; -i forms accepted).
func (l *lexer) operator() (token, error) {
	start := l.pos
	_, n := l.peekRune(l.pos)
	l.pos += n
	wordStart := l.pos
	for {
		r, n := l.peekRune(l.pos)
		if n == 0 || !(r < utf8.RuneSelf && unicode.IsLetter(r)) {
			break
		}
		l.pos += n
	}
	word := strings.ToLower(l.src[wordStart:l.pos])
	switch word {
	case "and":
		return token{kind: tokAnd, pos: start, end: l.pos}, nil
	case "or":
		return token{kind: tokOr, pos: start, end: l.pos}, nil
	case "not":
		return token{kind: tokNot, pos: start, end: l.pos}, nil
	}
	if op, ok := comparisonWords[word]; ok {
		return token{kind: tokCmp, pos: start, end: l.pos, op: op}, nil
	}
	if len(word) > 1 {
		if op, ok := comparisonWords[word[1:]]; ok {
			switch word[0] {
			case 'i':
				return token{kind: tokCmp, pos: start, end: l.pos, op: op}, nil
			case 'c':
				return token{}, l.errorf(start, "a case-insensitive operator", "-"+Clip(word),
					"Microsoft Graph compares strings case-insensitively; use "+op.String())
			}
		}
	}
	if word == "" {
		return token{}, l.errorf(start, "an operator after '-'", describeAt(l.src, l.pos), "")
	}
	return token{}, l.errorf(start, "one of -eq, -ne, -like, -notlike, -contains, -notcontains, -and, -or, -not",
		"-"+Clip(word), "that operator is not supported in a user sync filter")
}

// number lexes a decimal integer; it stands for its text, as PowerShell
// compares a string attribute with a number by converting the number.
func (l *lexer) number() (token, error) {
	start := l.pos
	for l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '9' {
		l.pos++
	}
	if r, n := l.peekRune(l.pos); n > 0 && isIdentPart(r) {
		return token{}, l.errorf(start, "a value (a quoted string, a number, $null, $true or $false)",
			describeAt(l.src, start), "quote the value: '"+wordAt(l.src, start)+"'")
	}
	v, err := strconv.ParseInt(l.src[start:l.pos], 10, 64)
	if err != nil {
		return token{}, l.errorf(start, "a number of at most 18 digits", wordAt(l.src, start), "quote the value to compare it as text")
	}
	return token{kind: tokString, pos: start, end: l.pos, val: strconv.FormatInt(v, 10)}, nil
}

// describeAt names what is at offset i, for error messages.
func describeAt(s string, i int) string {
	if i >= len(s) {
		return "end of filter"
	}
	if w := wordAt(s, i); w != "" {
		return w
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strconv.QuoteRune(r)
}

// wordAt returns the run of identifier characters starting at i (at most 40
// bytes), or "".
func wordAt(s string, i int) string {
	j := i
	for j < len(s) && j-i < 40 {
		r, n := utf8.DecodeRuneInString(s[j:])
		if !isIdentPart(r) {
			break
		}
		j += n
	}
	return s[i:j]
}
