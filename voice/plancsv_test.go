package voice

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCSV(t *testing.T) {
	t.Parallel()
	rows, err := parseCSV(strings.NewReader("\ufeffUser, Number ,range,OnlineVoiceRoutingPolicy,TeamsCallingPolicy\r\n" +
		"a@x.test,next,Milan,VRP-IT,\r\n\r\n\"b@x.test\",\"+39 02 000 0001\",,,AllowCalling\r\n"))
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, csvRow{Line: 2, User: "a@x.test", Number: "next", Range: "Milan", Policies: map[string]string{"OnlineVoiceRoutingPolicy": "VRP-IT"}}, rows[0])
	assert.Equal(t, csvRow{Line: 4, User: "b@x.test", Number: "+39 02 000 0001", Policies: map[string]string{"TeamsCallingPolicy": "AllowCalling"}}, rows[1])

	for _, tc := range []struct{ name, in, field, detail string }{
		{"empty", "", "csv", "empty"},
		{"no user", "number\n+1\n", "csv line 1", "no user column"},
		{"twice", "user,User\na,b\n", "csv line 1", "twice"},
		{"unknown", "user,colour\na,b\n", "csv line 1", `unknown column "colour"`},
		{"fields", "user,number\na\n", "csv line 2", "number of fields"},
		{"quote", "user\n\"a\n", "csv line 2", "quote"},
		{"no rows", "user\n", "csv", "no rows"},
		{"long", "user\n" + strings.Repeat("x", 600) + "\n", "csv line 2", "longer than 512"},
		{"utf8", "user\n\xff\n", "csv line 2", "UTF-8"},
	} {
		_, err := parseCSV(strings.NewReader(tc.in))
		e, ok := AsError(err)
		require.True(t, ok, "%s: %v", tc.name, err)
		assert.Equal(t, CodeMalformedCSV, e.Code, tc.name)
		assert.Equal(t, tc.field, e.Field, tc.name)
		assert.Contains(t, e.Detail, tc.detail, tc.name)
	}
}

// FuzzParseCSV: any input is rows or a CodeMalformedCSV error naming
// where, never a panic; every row names its line and has the user cell.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"user,number,range\na@x,next,Milan\n", "user\n\"a\"\"b\"\n", "user,TenantDialPlan\na,DP\n", "", "\"", "user\n\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := parseCSV(strings.NewReader(in))
		if err != nil {
			e, ok := AsError(err)
			require.True(t, ok, "%q: not an *Error: %v", in, err)
			require.Equal(t, CodeMalformedCSV, e.Code, "%q: %v", in, err)
			require.NotEmpty(t, e.Detail, "%q: %v", in, err)
			// The detail quotes the input (clipped): it goes out in JSON.
			require.True(t, utf8.ValidString(e.Detail), "%q: the detail is not UTF-8: %q", in, e.Detail)
			require.True(t, utf8.ValidString(e.Field), "%q: the field is not UTF-8: %q", in, e.Field)
			return
		}
		require.NotEmpty(t, rows, "%q: no rows and no error", in)
		require.LessOrEqual(t, len(rows), MaxPlanCSVRows, "%q: rows", in)
		for _, r := range rows {
			require.GreaterOrEqual(t, r.Line, 2, "%q: row line", in)
			r.request() // never panics
		}
	})
}
