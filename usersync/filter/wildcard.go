package filter

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// patternShape classifies a -like pattern by what Graph can do with it.
type patternShape uint8

const (
	shapeExact    patternShape = iota // no wildcards: 'x'
	shapePrefix                       // 'x*'
	shapeSuffix                       // '*x'
	shapeContains                     // '*x*'
	shapeAny                          // '*'
	shapeGeneral                      // anything else (?, [...], inner *)
)

type elemKind uint8

const (
	elemLit elemKind = iota
	elemOne
	elemStar
	elemClass
)

type patElem struct {
	kind   elemKind
	r      rune
	ranges []runeRange // for elemClass
}

type runeRange struct{ lo, hi rune }

// pattern is a compiled PowerShell wildcard pattern (-like): * any run,
// ? one character, [abc] and [a-z] one character of a set, ` escapes the
// next character. Matching is case-insensitive.
type pattern struct {
	shape patternShape
	lit   string // the literal part for the exact, prefix, suffix and contains shapes
	elems []patElem
}

var errUnclosedClass = errors.New("a '[' in the pattern has no closing ']'")
var errEmptyClass = errors.New("the pattern has an empty '[]'")

func compilePattern(p string) (*pattern, error) {
	var elems []patElem
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		switch r {
		case '`':
			if i < len(p) {
				r, n = utf8.DecodeRuneInString(p[i:])
				i += n
			}
			elems = append(elems, patElem{kind: elemLit, r: r})
		case '*':
			if len(elems) == 0 || elems[len(elems)-1].kind != elemStar {
				elems = append(elems, patElem{kind: elemStar})
			}
		case '?':
			elems = append(elems, patElem{kind: elemOne})
		case '[':
			var ranges []runeRange
			closed := false
			for i < len(p) {
				r, n := utf8.DecodeRuneInString(p[i:])
				i += n
				if r == ']' {
					closed = true
					break
				}
				if r == '`' && i < len(p) {
					r, n = utf8.DecodeRuneInString(p[i:])
					i += n
				}
				lo := r
				hi := r
				if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
					i++
					hi, n = utf8.DecodeRuneInString(p[i:])
					i += n
					if hi == '`' && i < len(p) {
						hi, n = utf8.DecodeRuneInString(p[i:])
						i += n
					}
				}
				if hi < lo {
					lo, hi = hi, lo
				}
				ranges = append(ranges, runeRange{lo, hi})
			}
			if !closed {
				return nil, errUnclosedClass
			}
			if len(ranges) == 0 {
				return nil, errEmptyClass
			}
			elems = append(elems, patElem{kind: elemClass, ranges: ranges})
		default:
			elems = append(elems, patElem{kind: elemLit, r: r})
		}
	}
	pt := &pattern{elems: elems, shape: shapeGeneral}
	lead := len(elems) > 0 && elems[0].kind == elemStar
	trail := len(elems) > 0 && elems[len(elems)-1].kind == elemStar
	inner := elems
	if lead {
		inner = inner[1:]
	}
	if trail && len(inner) > 0 {
		inner = inner[:len(inner)-1]
	}
	var b strings.Builder
	for _, e := range inner {
		if e.kind != elemLit {
			return pt, nil
		}
		b.WriteRune(e.r)
	}
	pt.lit = b.String()
	switch {
	case lead && len(elems) == 1:
		pt.shape = shapeAny
	case lead && trail:
		pt.shape = shapeContains
	case lead:
		pt.shape = shapeSuffix
	case trail:
		pt.shape = shapePrefix
	default:
		pt.shape = shapeExact
	}
	return pt, nil
}

// match reports whether s matches the pattern, ignoring case.
func (pt *pattern) match(s string) bool {
	switch pt.shape {
	case shapeExact:
		return strings.EqualFold(s, pt.lit)
	case shapePrefix:
		return hasPrefixFold(s, pt.lit)
	case shapeSuffix:
		return hasSuffixFold(s, pt.lit)
	case shapeContains:
		return containsFold(s, pt.lit)
	case shapeAny:
		return true
	}
	return pt.matchGeneral(s)
}

// matchGeneral is the classic glob matcher that backtracks only to the last
// star, which is linear for a single star and O(len(s)*len(p)) at worst.
func (pt *pattern) matchGeneral(s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(pt.elems) || sx < len(s) {
		if px < len(pt.elems) {
			e := &pt.elems[px]
			if e.kind == elemStar {
				starPx, starSx = px, sx
				px++
				continue
			}
			if sx < len(s) {
				r, n := utf8.DecodeRuneInString(s[sx:])
				if e.kind == elemOne || (e.kind == elemLit && foldEq(r, e.r)) || (e.kind == elemClass && classMatch(e.ranges, r)) {
					px++
					sx += n
					continue
				}
			}
		}
		if starPx >= 0 && starSx < len(s) {
			_, n := utf8.DecodeRuneInString(s[starSx:])
			starSx += n
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

func classMatch(ranges []runeRange, r rune) bool {
	f := r
	for {
		for _, rg := range ranges {
			if f >= rg.lo && f <= rg.hi {
				return true
			}
		}
		f = unicode.SimpleFold(f)
		if f == r {
			return false
		}
	}
}

// foldEq reports whether two runes are equal under simple Unicode case
// folding, as strings.EqualFold compares them.
func foldEq(x, y rune) bool {
	if x == y {
		return true
	}
	if x < utf8.RuneSelf && y < utf8.RuneSelf {
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		return x == y
	}
	for f := unicode.SimpleFold(x); f != x; f = unicode.SimpleFold(f) {
		if f == y {
			return true
		}
	}
	return false
}

// lowerASCII lowers an ASCII letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		if c1, c2 := s[0], prefix[0]; c1 < utf8.RuneSelf && c2 < utf8.RuneSelf {
			if lowerASCII(c1) != lowerASCII(c2) {
				return false
			}
			s, prefix = s[1:], prefix[1:]
			continue
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		if !foldEq(r1, r2) {
			return false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return true
}

func hasSuffixFold(s, suffix string) bool {
	for suffix != "" {
		if s == "" {
			return false
		}
		if c1, c2 := s[len(s)-1], suffix[len(suffix)-1]; c1 < utf8.RuneSelf && c2 < utf8.RuneSelf {
			if lowerASCII(c1) != lowerASCII(c2) {
				return false
			}
			s, suffix = s[:len(s)-1], suffix[:len(suffix)-1]
			continue
		}
		r1, n1 := utf8.DecodeLastRuneInString(s)
		r2, n2 := utf8.DecodeLastRuneInString(suffix)
		if !foldEq(r1, r2) {
			return false
		}
		s, suffix = s[:len(s)-n1], suffix[:len(suffix)-n2]
	}
	return true
}

func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	first := sub[0]
	for {
		// Two ASCII bytes fold together only if their lower cases are equal.
		if first < utf8.RuneSelf && s != "" && s[0] < utf8.RuneSelf && lowerASCII(s[0]) != lowerASCII(first) {
			s = s[1:]
			continue
		}
		if hasPrefixFold(s, sub) {
			return true
		}
		if s == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(s)
		s = s[n:]
	}
}
