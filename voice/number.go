package voice

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseNumber checks that s is an E.164 telephone number ("+" and 2 to
// 15 digits, the first not 0; spaces, dashes, dots and parentheses
// between digits are dropped, and a "tel:" prefix is accepted) and
// returns it in its canonical form, "+" followed by the digits.
func ParseNumber(s string) (string, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 4 && strings.EqualFold(t[:4], "tel:") {
		t = t[4:]
	}
	if !strings.HasPrefix(t, "+") {
		return "", fmt.Errorf("%q is not an E.164 number: it must start with +", clipInput(s))
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range t[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%q is not an E.164 number: only digits may follow the +", clipInput(s))
		}
	}
	n := b.String()
	switch {
	case len(n) < 3 || len(n) > 16:
		return "", fmt.Errorf("%q is not an E.164 number: it has %d digits (2 to 15)", clipInput(s), len(n)-1)
	case n[1] == '0':
		return "", fmt.Errorf("%q is not an E.164 number: a country code never starts with 0", clipInput(s))
	}
	return n, nil
}

// clipInput bounds how much of a caller's input an error quotes, cutting
// between characters (a detail goes out as JSON text).
func clipInput(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// NumberType is a telephone number's type, as Graph names it.
type NumberType string

// The number types.
const (
	DirectRouting   NumberType = "directRouting"
	CallingPlan     NumberType = "callingPlan"
	OperatorConnect NumberType = "operatorConnect"
)

// Valid reports whether t is one of the three number types.
func (t NumberType) Valid() bool {
	return t == DirectRouting || t == CallingPlan || t == OperatorConnect
}
