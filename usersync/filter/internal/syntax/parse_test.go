package syntax_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"UsageLocation -eq 'IT'", "UsageLocation -eq 'IT'"},
		{"{ UsageLocation -eq 'IT' }", "UsageLocation -eq 'IT'"},
		{"{UsageLocation -eq 'IT'}", "UsageLocation -eq 'IT'"},
		{"usagelocation -EQ 'IT'", "usagelocation -eq 'IT'"},
		{"UsageLocation -ieq 'IT'", "UsageLocation -eq 'IT'"},
		{"$_.UsageLocation -eq 'IT'", "UsageLocation -eq 'IT'"},
		{"$PSItem.City -like 'Mil*'", "City -like 'Mil*'"},
		{"City -eq \"Milan\"", "City -eq 'Milan'"},
		{"City -eq 'O''Brien'", "City -eq 'O''Brien'"},
		{`City -eq "say ""hi"""`, `City -eq 'say "hi"'`},
		{"City -eq \"say `\"hi`\"\"", `City -eq 'say "hi"'`},
		{"City -eq \"tab`there\"", "City -eq 'tab\there'"},
		{"City -eq \"a`u{1F600}b\"", "City -eq 'a\U0001F600b'"},
		{"City -eq \"cost $5\"", "City -eq 'cost $5'"},
		{"City -eq \"it's\"", "City -eq 'it''s'"},
		{"City -eq ‘Milan’", "City -eq 'Milan'"},
		{"City -eq “Milan”", "City -eq 'Milan'"},
		{"City –eq 'Milan'", "City -eq 'Milan'"},
		{"PostalCode -eq 20121", "PostalCode -eq '20121'"},
		{"PostalCode -eq 007", "PostalCode -eq '7'"},
		{"City -eq $null", "City -eq $null"},
		{"AccountEnabled -eq $TRUE", "AccountEnabled -eq $true"},
		{"AccountEnabled -ne $False", "AccountEnabled -ne $false"},
		{"-not (City -eq 'x')", "-not (City -eq 'x')"},
		{"-not City -eq 'x'", "-not (City -eq 'x')"},
		{"!(City -eq 'x')", "-not (City -eq 'x')"},
		{"-not -not City -eq 'x'", "-not -not (City -eq 'x')"},
		{"A -eq 'a' -and B -eq 'b' -and C -eq 'c'", "A -eq 'a' -and B -eq 'b' -and C -eq 'c'"},
		// PowerShell: -and and -or have equal precedence, left to right.
		{"A -eq 'a' -or B -eq 'b' -and C -eq 'c'", "(A -eq 'a' -or B -eq 'b') -and C -eq 'c'"},
		{"A -eq 'a' -or (B -eq 'b' -and C -eq 'c')", "A -eq 'a' -or (B -eq 'b' -and C -eq 'c')"},
		{"((A -eq 'a'))", "A -eq 'a'"},
		{"A -contains 'x' -or A -notcontains 'y'", "A -contains 'x' -or A -notcontains 'y'"},
		{"City-eq'Milan'", "City -eq 'Milan'"},
		{"City\n\t-eq\u00a0'Milan'", "City -eq 'Milan'"},
	}
	for _, tt := range tests {
		e, err := syntax.Parse(tt.in)
		if !assert.NoError(t, err, "Parse(%q)", tt.in) {
			continue
		}
		assert.Equal(t, tt.want, e.String(), "Parse(%q)", tt.in)
	}
}

func TestParsePositions(t *testing.T) {
	t.Parallel()
	e, err := syntax.Parse("City -eq 'x' -and -not (Title -like 'M*')")
	require.NoError(t, err)
	b := e.(*syntax.BinaryExpr)
	c := b.X.(*syntax.Comparison)
	n := b.Y.(*syntax.NotExpr)
	c2 := n.X.(*syntax.Comparison)
	got := []int{c.AttrPos, c.OpPos, c.ValuePos, b.OpPos, n.NotPos, c2.AttrPos, c2.OpPos, c2.ValuePos, b.Pos()}
	want := []int{0, 5, 9, 13, 18, 24, 30, 36, 0}
	require.Equal(t, want, got, "positions")
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		offset   int
		line     int
		column   int
		expected string // substring of SyntaxError.Expected
		msg      string // exact Error(), if set
	}{
		{in: "UsageLocation -eq", offset: 17, line: 1, column: 18, expected: "a value after -eq",
			msg: "filter: expected a value after -eq at 17 (line 1, column 18), found end of filter"},
		{in: "UsageLocation -eq IT", offset: 18, line: 1, column: 19, expected: "a value",
			msg: "filter: expected a value (a quoted string, a number, $null, $true or $false) after -eq at 18 (line 1, column 19), found IT: quote the value: 'IT'"},
		{in: "UsageLocation 'IT'", offset: 14, line: 1, column: 15, expected: "an operator"},
		{in: "UsageLocation -gt 'IT'", offset: 14, line: 1, column: 15, expected: "one of -eq"},
		{in: "UsageLocation -ceq 'IT'", offset: 14, line: 1, column: 15, expected: "a case-insensitive operator"},
		{in: "City -eq 'Milan", offset: 15, line: 1, column: 16, expected: "a closing ' for the string that starts at 9"},
		{in: `City -eq "Milan`, offset: 15, line: 1, column: 16, expected: `a closing " for the string that starts at 9`},
		{in: "(City -eq 'x'", offset: 13, line: 1, column: 14, expected: "a ')' to close the '(' at 0"},
		{in: "City -eq 'x')", offset: 12, line: 1, column: 13, expected: "has no matching '('"},
		{in: "{ City -eq 'x'", offset: 14, line: 1, column: 15, expected: "a '}' to close the '{' at 0"},
		{in: "City -eq 'x' -and", offset: 17, line: 1, column: 18, expected: "an attribute name, -not or '(' after -and"},
		{in: "City -eq 'x' City -eq 'y'", offset: 13, line: 1, column: 14, expected: "-and, -or or end of filter"},
		{in: "'IT' -eq UsageLocation", offset: 0, line: 1, column: 1, expected: "an attribute name"},
		{in: "City -eq $city", offset: 9, line: 1, column: 10, expected: "$null, $true, $false"},
		{in: "", offset: 0, line: 1, column: 1, expected: "a filter expression"},
		{in: "   ", offset: 3, line: 1, column: 4, expected: "a filter expression"},
		{in: "City -eq 'x' -and\n  Title -eq", offset: 29, line: 2, column: 12, expected: "a value after -eq"},
		{in: "Città -eq 'x' -and Title -eq", offset: 29, line: 1, column: 29, expected: "a value after -eq"},
		{in: "City -eq 'a\xffb'", offset: 11, line: 1, column: 12, expected: "valid UTF-8"},
		{in: "City -eq \"`u{110000}\"", offset: 10, line: 1, column: 11, expected: "a Unicode escape"},
		{in: "City -eq 99999999999999999999", offset: 9, line: 1, column: 10, expected: "a number of at most 18 digits"},
		{in: "City -eq 12ab", offset: 9, line: 1, column: 10, expected: "a value"},
		{in: "City # 'x'", offset: 5, line: 1, column: 6, expected: "an attribute, an operator"},
		{in: "$_ -eq 'x'", offset: 2, line: 1, column: 3, expected: "'.' and an attribute name"},
		{in: strings.Repeat("(", 200) + "City -eq 'x'" + strings.Repeat(")", 200), offset: 100, line: 1, column: 101, expected: "at most 100 nested"},
	}
	for _, tt := range tests {
		_, err := syntax.Parse(tt.in)
		var se *syntax.Error
		if !assert.ErrorAs(t, err, &se, "Parse(%q)", tt.in) {
			continue
		}
		assert.Equal(t, tt.offset, se.Offset, "Parse(%q) offset", tt.in)
		assert.Equal(t, tt.line, se.Line, "Parse(%q) line", tt.in)
		assert.Equal(t, tt.column, se.Column, "Parse(%q) column", tt.in)
		assert.Contains(t, se.Expected, tt.expected, "Parse(%q) expected", tt.in)
		if tt.msg != "" {
			assert.EqualError(t, err, tt.msg, "Parse(%q)", tt.in)
		}
	}
}

func TestParseTooLong(t *testing.T) {
	t.Parallel()
	long := "City -eq '" + strings.Repeat("x", syntax.MaxLength) + "'"
	_, err := syntax.Parse(long)
	var se *syntax.Error
	require.ErrorAs(t, err, &se, "Parse(long)")
	require.Contains(t, se.Expected, "at most", "Parse(long): want a *SyntaxError about the length")
}
