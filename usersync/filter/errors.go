package filter

import (
	"errors"
	"fmt"

	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

// SyntaxError reports a filter that does not parse. Offset is the byte offset
// of the offending token in the filter; Line and Column (both 1-based, Column
// counted in characters) locate it for a person reading the filter.
type SyntaxError struct {
	Offset   int    // byte offset in the filter
	Line     int    // 1-based line
	Column   int    // 1-based column, in characters
	Expected string // what the parser expected, e.g. "a value after -eq"
	Found    string // what it found instead, e.g. "end of filter" or "Milan"
	Hint     string // optional advice, e.g. "quote the value: 'Milan'"
}

// Error says what was expected where, e.g. "filter: expected a value after
// -eq at 17 (line 1, column 18), found end of filter".
func (e *SyntaxError) Error() string { return (*syntax.Error)(e).Error() }

// syntaxError converts the parser's error into a *SyntaxError; other
// errors pass through.
func syntaxError(err error) error {
	var se *syntax.Error
	if errors.As(err, &se) {
		return (*SyntaxError)(se)
	}
	return err
}

// AttributeErrorKind says why an attribute cannot be used.
type AttributeErrorKind int

const (
	// UnknownAttribute: the name is not a Get-CsOnlineUser attribute this
	// package knows.
	UnknownAttribute AttributeErrorKind = iota + 1
	// TeamsOnlyAttribute: the attribute exists in Teams (Get-CsOnlineUser) but
	// has no Microsoft Graph user property, so a Graph user sync cannot see it.
	TeamsOnlyAttribute
	// InvalidComparison: the attribute is known but the operator or value does
	// not fit its type (for example AccountEnabled -like 'x*').
	InvalidComparison
)

// AttributeError reports an attribute that cannot be used in a user sync
// filter, or a comparison that does not fit the attribute. The person editing
// the filter must change it; Detail says how.
type AttributeError struct {
	Attribute string // the attribute as written in the filter
	Kind      AttributeErrorKind
	Offset    int    // byte offset of the attribute in the filter
	Line      int    // 1-based line
	Column    int    // 1-based column, in characters
	Detail    string // the explanation and what to do
}

// Error names the attribute, where it is, and what to do about it.
func (e *AttributeError) Error() string {
	name := syntax.Clip(e.Attribute)
	var what string
	switch e.Kind {
	case TeamsOnlyAttribute:
		what = fmt.Sprintf("attribute %q is Teams-only", name)
	case UnknownAttribute:
		what = fmt.Sprintf("unknown attribute %q", name)
	default:
		what = fmt.Sprintf("invalid comparison on %s", name)
	}
	return fmt.Sprintf("filter: %s at %d (line %d, column %d): %s", what, e.Offset, e.Line, e.Column, e.Detail)
}
