package filter_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync/filter"
	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

var fuzzSeeds = []string{
	"UsageLocation -eq 'IT'",
	"{ UsageLocation -eq 'IT' -and City -like '*ila*' }",
	"Department -eq 'Sales' -or Department -eq 'Support' -or Department -eq \"Fin`\"ance\"",
	"-not (City -like 'M*') -and Title -notlike 'Eng*'",
	"AccountEnabled -ne $true -and UserPrincipalName -like '*@contoso.com'",
	"ProxyAddresses -contains 'smtp:a@b' -and -not (ProxyAddresses -like '*x')",
	"City -eq 'O''Brien' -or City -eq ‘it’’s’",
	"$_.City -like 'M?l[a-z]n' -and !($PSItem.Country -eq $null)",
	"PostalCode -eq 20121 -or MobilePhone -like '+39*'",
	"City -eq \"`u{1F600}`n`t``\"",
	"((A -eq 'a'",
	"City –eq 'x'",
	"LineUri -eq 'x'",
}

// sameTree compares two parsed filters, ignoring positions.
func sameTree(x, y syntax.Expr) bool {
	switch x := x.(type) {
	case *syntax.Comparison:
		y, ok := y.(*syntax.Comparison)
		return ok && x.Attr == y.Attr && x.Op == y.Op && x.Value == y.Value
	case *syntax.NotExpr:
		y, ok := y.(*syntax.NotExpr)
		return ok && sameTree(x.X, y.X)
	case *syntax.BinaryExpr:
		y, ok := y.(*syntax.BinaryExpr)
		return ok && x.Op == y.Op && sameTree(x.X, y.X) && sameTree(x.Y, y.Y)
	}
	return false
}

// FuzzParse checks that Parse never panics, that its errors are
// *syntax.Error with a position inside the input, and that rendering a
// parsed filter and parsing it again gives the same tree.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := syntax.Parse(s)
		if err != nil {
			var se *syntax.Error
			require.ErrorAs(t, err, &se, "Parse(%q) error %T, want *syntax.Error", s, err)
			require.GreaterOrEqual(t, se.Offset, 0, "Parse(%q): offset", s)
			require.LessOrEqual(t, se.Offset, len(s), "Parse(%q): offset", s)
			require.GreaterOrEqual(t, se.Line, 1, "Parse(%q): line", s)
			require.GreaterOrEqual(t, se.Column, 1, "Parse(%q): column", s)
			msg := err.Error()
			require.True(t, utf8.ValidString(msg), "Parse(%q): error message is not valid UTF-8: %q", s, msg)
			require.LessOrEqual(t, len(msg), 600, "Parse(%q): error message is not short: %q", s, msg)
			return
		}
		text := e.String()
		e2, err := syntax.Parse(text)
		require.NoError(t, err, "Parse(%q) = %s, which does not parse", s, text)
		require.True(t, sameTree(e, e2), "Parse(%q) = %s, reparsed as %s", s, text, e2)
		require.Equal(t, text, e2.String(), "String not stable")
	})
}

// unescapeWildcards removes PowerShell wildcard escapes (backticks).
func unescapeWildcards(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		i += n
		if r == '`' && i < len(p) {
			r, n = utf8.DecodeRuneInString(p[i:])
			i += n
		}
		b.WriteRune(r)
	}
	return b.String()
}

func walk(e syntax.Expr, fn func(*syntax.Comparison)) {
	switch e := e.(type) {
	case *syntax.Comparison:
		fn(e)
	case *syntax.NotExpr:
		walk(e.X, fn)
	case *syntax.BinaryExpr:
		walk(e.X, fn)
		walk(e.Y, fn)
	}
}

// FuzzCompile checks that a compiled Graph filter is well-formed, that every
// string literal in it comes from a value of the filter (no value ends its
// quotes), and that Graph's evaluation plus the client side agrees with the
// filter's meaning on a few users.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	g := newGenerator(7)
	users := []map[string]any{demoUser(4), demoUser(19), {"userPrincipalName": "x@y", "displayName": "O'Brien", "accountEnabled": true}}
	for range 5 {
		users = append(users, g.user())
	}
	f.Fuzz(func(t *testing.T, s string) {
		plan, err := filter.Compile(s)
		if err != nil {
			require.True(t, errors.As(err, new(*filter.SyntaxError)) || errors.As(err, new(*filter.AttributeError)),
				"Compile(%q) error %T %v, want *SyntaxError or *AttributeError", s, err, err)
			msg := err.Error()
			require.True(t, utf8.ValidString(msg), "Compile(%q): error message is not valid UTF-8: %q", s, msg)
			require.LessOrEqual(t, len(msg), 1000, "Compile(%q): error message is not short: %q", s, msg)
			return
		}
		var values []string
		hasClass := false
		expr, err := syntax.ParseOrBlank(s)
		require.NoError(t, err, "Compile(%q) compiled, but it does not parse", s)
		if expr != nil {
			walk(expr, func(c *syntax.Comparison) {
				values = append(values, c.Value.Str, unescapeWildcards(c.Value.Str))
				hasClass = hasClass || strings.Contains(c.Value.Str, "[")
			})
		}
		if plan.GraphFilter != "" {
			toks, err := lexOData(plan.GraphFilter)
			require.NoError(t, err, "Compile(%q) = %q, which does not lex", s, plan.GraphFilter)
			for _, tok := range toks {
				if tok.kind != 's' {
					continue
				}
				found := false
				for _, v := range values {
					if strings.Contains(v, tok.text) {
						found = true
						break
					}
				}
				require.True(t, found, "Compile(%q) = %q: literal %q is no value of the filter", s, plan.GraphFilter, tok.text)
			}
		}
		o := &oracle{re: map[string]*regexp.Regexp{}}
		for _, u := range users {
			graphSays := true
			if plan.GraphFilter != "" {
				graphSays, err = odataEval(plan.GraphFilter, plan.Advanced, u)
				require.NoError(t, err, "Compile(%q) = %q (advanced %v): Graph would reject it", s, plan.GraphFilter, plan.Advanced)
			}
			m := plan.Match(filter.MapUser(u))
			got := graphSays && plan.MatchClientSide(filter.MapUser(u))
			require.Equal(t, m, got, "Compile(%q): Graph+client (actual) against Match (expected) on %v\n%s", s, u, plan)
			if expr != nil && !hasClass {
				require.Equal(t, o.eval(expr, u), m, "Compile(%q): Match against the reference on %v", s, u)
			}
		}
	})
}
