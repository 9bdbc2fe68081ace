package directory

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFilterCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"City EQ 'Milan'", "city eq 'Milan'"},
		{"city eq'Milan'", "city eq 'Milan'"},
		{" \t\r\ncity\teq\n'Milan' ", "city eq 'Milan'"},
		{"startswith(displayName,'O''Brien')", "startsWith(displayName,'O''Brien')"},
		{"STARTSWITH( displayName , 'x' )", "startsWith(displayName,'x')"},
		{"endsWith(mail,'@contoso.com')", "endsWith(mail,'@contoso.com')"},
		{"city eq ''''", "city eq ''''"},
		{"city eq ''", "city eq ''"},
		{"city eq 'a' or city eq 'b' and city eq 'c'", "city eq 'a' or city eq 'b' and city eq 'c'"},
		{"(city eq 'a' or city eq 'b') and city eq 'c'", "(city eq 'a' or city eq 'b') and city eq 'c'"},
		{"((city eq 'a'))", "city eq 'a'"},
		{"city eq 'a' and (city eq 'b' and city eq 'c')", "city eq 'a' and city eq 'b' and city eq 'c'"},
		{"NOT startsWith(displayName, 'Conf')", "not(startsWith(displayName,'Conf'))"},
		{"not not city eq 'a'", "not(not(city eq 'a'))"},
		{"not (city eq 'a' or city eq 'b')", "not(city eq 'a' or city eq 'b')"},
		{"usageLocation in ('IT' , 'ES')", "usageLocation in ('IT','ES')"},
		{"usageLocation IN ('IT')", "usageLocation in ('IT')"},
		{"accountEnabled eq TRUE", "accountEnabled eq true"},
		{"accountEnabled ne false", "accountEnabled ne false"},
		{"state eq NULL", "state eq null"},
		{"proxyAddresses/any (p:endsWith(p, 'OnMicrosoft.com'))", "proxyAddresses/any(p:endsWith(p,'OnMicrosoft.com'))"},
		{"otherMails/ANY(x: x eq 'a' or startsWith(x,'b'))", "otherMails/any(x:x eq 'a' or startsWith(x,'b'))"},
		{"displayName eq 'Zoë ünïcode'", "displayName eq 'Zoë ünïcode'"},
	} {
		e, err := ParseFilter(tc.in)
		if !assert.NoError(t, err, "ParseFilter(%q)", tc.in) {
			continue
		}
		assert.Equal(t, tc.want, e.String(), "ParseFilter(%q).String()", tc.in)
		again, err := ParseFilter(e.String())
		assert.NoError(t, err, "reparse of %q", tc.want)
		assert.Equal(t, tc.want, again.String(), "reparse of %q", tc.want)
	}
}

func TestParseFilterSyntaxErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("(", maxDepth+1) + "city eq 'a'" + strings.Repeat(")", maxDepth+1)
	for _, tc := range []struct {
		in   string
		pos  int
		frag string // part of the message
	}{
		{"", 0, "empty"},
		{"   ", 3, "empty"},
		{"city eq", 7, "expected a literal"},
		{"city eq 'x", 8, "unterminated string"},
		{"city eq 'x''", 8, "unterminated string"},
		{"city eq 'x')", 11, "unexpected character ')'"},
		{"(city eq 'x'", 12, "expected ')'"},
		{"city 'x'", 5, "expected an operator"},
		{"city", 4, "expected an operator"},
		{"city eq 'x' and", 15, "expected a property"},
		{"city eq 'x' or or", 15, "expected a property"},
		{"city eq \"x\"", 8, "character '\"' is not valid"},
		{"city eq 'x' & city eq 'y'", 12, "character '&' is not valid"},
		{"city in ()", 9, "expected a literal"},
		{"city in ('a',)", 13, "expected a literal"},
		{"city in ('a' 'b')", 13, "expected ',' or ')'"},
		{"city in 'a'", 8, "expected '('"},
		{"startsWith(city 'x')", 16, "expected ','"},
		{"startsWith(city,)", 16, "expected a string literal"},
		{"startsWith('x',city)", 11, "expected a property"},
		{"startsWith(city,'x'", 19, "expected ')'"},
		{"'x' eq city", 0, "expected a property"},
		{"true eq accountEnabled", 0, "must be a property"},
		{"city eq 'a' city eq 'b'", 12, "unexpected 'city'"},
		{"proxyAddresses/any(proxyAddresses:1)", 19, "cannot be a range variable"},
		{"proxyAddresses/any(eq:eq eq 'a')", 19, "cannot be a range variable"},
		{"proxyAddresses/any(p p eq 'a')", 21, "expected ':'"},
		{"proxyAddresses/any", 18, "expected '('"},
		{"proxyAddresses/some(p:p eq 'a')", 15, "expected 'any'"},
		{"city eq 'é" + "\x00", 8, "unterminated"},
		{"city eq 'a' \x00", 12, "is not valid"},
		{deep, maxDepth, "recursion limit"},
		{strings.Repeat("not ", maxDepth+1) + "city eq 'a'", 4 * maxDepth, "recursion limit"},
	} {
		_, err := ParseFilter(tc.in)
		if !assert.Error(t, err, "ParseFilter(%q) succeeded", tc.in) {
			continue
		}
		var qe *QueryError
		var se *SyntaxError
		if !assert.ErrorAs(t, err, &qe, "ParseFilter(%q)", tc.in) || !assert.ErrorAs(t, err, &se, "ParseFilter(%q)", tc.in) {
			continue
		}
		assert.Equal(t, CodeBadRequest, qe.Code, "ParseFilter(%q) code", tc.in)
		assert.Equal(t, 400, qe.Status, "ParseFilter(%q) status", tc.in)
		assert.Equal(t, tc.pos, se.Pos, "ParseFilter(%q) position of %q", tc.in, se.Msg)
		assert.Contains(t, se.Msg, tc.frag, "ParseFilter(%q) message", tc.in)
		assert.True(t, strings.HasPrefix(qe.Message, "Invalid filter clause: "), "message %q", qe.Message)
	}
}

func TestMatchCaseInsensitive(t *testing.T) {
	t.Parallel()
	u := User{DisplayName: "Straße Ǆemal", City: "İstanbul", Mail: "A@K.example"}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{"displayName eq 'STRASSE ǆEMAL'", false}, // simple folding: ß does not expand
		{"displayName eq 'STRAßE ǅEMAL'", true},
		{"startsWith(displayName,'straße ǆ')", true},
		{"endsWith(mail,'@\u212a.EXAMPLE')", true}, // Kelvin sign folds to k
		{"startsWith(mail,'a@\u212a')", true},
		{"startsWith(mail,'a@\u212a.example.org')", false},
		{"endsWith(mail,'xa@k.example')", false},
		{"city eq null", false},
		{"state eq null", true},
		{"startsWith(state,'')", false},
		{"startsWith(city,'')", true},
		{"state in ('a', null)", true},
		{"accountEnabled eq false", true},
	} {
		e, err := ParseFilter(tc.filter)
		require.NoError(t, err, "%q", tc.filter)
		assert.Equal(t, tc.want, e.Match(u), "%q.Match", tc.filter)
	}
	assert.True(t, (Expr{}).Match(u), "the zero Expr must match everything")
	assert.Empty(t, (Expr{}).String(), "the zero Expr must print as empty")
	assert.True(t, (Expr{}).IsZero(), "the zero Expr IsZero")
}
