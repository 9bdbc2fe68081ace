package syntax

import (
	"fmt"
	"unicode/utf8"
)

// Error reports a filter that does not parse. Offset is the byte offset
// of the offending token in the filter; Line and Column (both 1-based, Column
// counted in characters) locate it for a person reading the filter.
type Error struct {
	Offset   int    // byte offset in the filter
	Line     int    // 1-based line
	Column   int    // 1-based column, in characters
	Expected string // what the parser expected, e.g. "a value after -eq"
	Found    string // what it found instead, e.g. "end of filter" or "Milan"
	Hint     string // optional advice, e.g. "quote the value: 'Milan'"
}

// Error says what was expected where, e.g. "filter: expected a value after
// -eq at 17 (line 1, column 18), found end of filter".
func (e *Error) Error() string {
	msg := fmt.Sprintf("filter: expected %s at %d (line %d, column %d)", e.Expected, e.Offset, e.Line, e.Column)
	if e.Found != "" {
		msg += ", found " + e.Found
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// Clip shortens s to at most 40 characters for an error message.
func Clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:37]) + "..."
}

// Position converts a byte offset in s into a 1-based line and column
// (columns count characters, not bytes).
func Position(s string, offset int) (line, col int) {
	if offset > len(s) {
		offset = len(s)
	}
	line, col = 1, 1
	for i := 0; i < offset; {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
