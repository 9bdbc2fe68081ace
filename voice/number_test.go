package voice

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseNumber(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want, err string
	}{
		{in: "+39020000004", want: "+39020000004"},
		{in: " tel:+39 02 000-0004 ", want: "+39020000004"},
		{in: "+1 (206) 000.0003", want: "+12060000003"},
		{in: "39020000004", err: "must start with +"},
		{in: "+39a", err: "only digits"},
		{in: "+0123", err: "never starts with 0"},
		{in: "+1", err: "2 to 15"},
		{in: "+1234567890123456", err: "2 to 15"},
		{in: "", err: "must start with +"},
	} {
		got, err := ParseNumber(c.in)
		if c.err != "" {
			require.Error(t, err, c.in)
			assert.Contains(t, err.Error(), c.err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got, c.in)
	}
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"+39020000004", "tel:+1 206", "+", "++1", "+1-2", "+٣٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNumber(s)
		if err != nil {
			return
		}
		// A canonical number is + and 2 to 15 digits, and parses to itself.
		require.True(t, strings.HasPrefix(n, "+"))
		require.Empty(t, strings.Trim(n[1:], "0123456789"))
		require.True(t, len(n) >= 3 && len(n) <= 16)
		again, err := ParseNumber(n)
		require.NoError(t, err)
		require.Equal(t, n, again)
	})
}

func TestCheckRanges(t *testing.T) {
	t.Parallel()
	ok, err := checkRanges([]Range{
		{Name: "Rome", From: "+39 06 000 0000", To: "+39060000999", Type: DirectRouting, QuarantineDays: 30},
		{Name: "Milan", From: "+39020000000", To: "+39020049999", Type: DirectRouting, QuarantineDays: 30},
		{Name: "Short", From: "+3902000", To: "+3902999", Type: CallingPlan}, // another length never overlaps
	})
	require.NoError(t, err)
	require.Len(t, ok, 3)
	assert.Equal(t, "Short", ok[0].Name, "sorted by first number")
	assert.Equal(t, "+39060000000", ok[2].From, "canonical numbers")
	assert.Equal(t, int64(50000), ok[1].Size())
	assert.True(t, ok[1].Contains("+39020000004"))
	assert.False(t, ok[1].Contains("+390200000040"))

	for _, c := range []struct {
		name  string
		in    []Range
		field string
	}{
		{"overlap", []Range{
			{Name: "A", From: "+39020000000", To: "+39020000999", Type: DirectRouting},
			{Name: "B", From: "+39020000500", To: "+39020001999", Type: DirectRouting}}, "/ranges/1/from"},
		{"inside the one ending last", []Range{
			{Name: "A", From: "+39020000000", To: "+39020009999", Type: DirectRouting},
			{Name: "B", From: "+39020000100", To: "+39020000199", Type: DirectRouting},
			{Name: "C", From: "+39020005000", To: "+39020005001", Type: DirectRouting}}, "/ranges/2/from"},
		{"reversed", []Range{{Name: "A", From: "+39020000999", To: "+39020000000", Type: DirectRouting}}, "/ranges/0/to"},
		{"lengths", []Range{{Name: "A", From: "+3902000", To: "+39020000000", Type: DirectRouting}}, "/ranges/0/to"},
		{"type", []Range{{Name: "A", From: "+3902000", To: "+3902001", Type: "pots"}}, "/ranges/0/type"},
		{"duplicate name", []Range{
			{Name: "A", From: "+3902000", To: "+3902001", Type: DirectRouting},
			{Name: "a", From: "+3903000", To: "+3903001", Type: DirectRouting}}, "/ranges/1/name"},
		{"quarantine", []Range{{Name: "A", From: "+3902000", To: "+3902001", Type: DirectRouting, QuarantineDays: -1}}, "/ranges/0/quarantineDays"},
	} {
		_, err := checkRanges(c.in)
		require.Error(t, err, c.name)
		var fe *FieldError
		require.ErrorAs(t, err, &fe, c.name)
		assert.Contains(t, err.Error(), c.field, c.name)
	}
}

// TestClipInput: a quoted input is cut between characters, so an error's
// detail stays UTF-8 (the CSV fuzz test checks the parser's errors; a
// plan item's detail quotes the row's user the same way).
func TestClipInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 39) + "é" + "rest"
	for _, tc := range []struct{ in, want string }{
		{"short", "short"},
		{strings.Repeat("b", 40), strings.Repeat("b", 40)},
		{strings.Repeat("b", 41), strings.Repeat("b", 40) + "..."},
		{long, strings.Repeat("a", 39) + "..."},
		{"é" + strings.Repeat("x", 40), "é" + strings.Repeat("x", 38) + "..."},
	} {
		got := clipInput(tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.True(t, utf8.ValidString(got), tc.in)
	}
}
