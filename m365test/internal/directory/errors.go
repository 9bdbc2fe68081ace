package directory

import (
	"fmt"
)

// Graph error codes the directory answers with. Callers (and Graph clients)
// branch on the code, never on the message.
const (
	// CodeBadRequest is OData's code for a request it cannot parse: a
	// malformed $filter, an unknown property, mismatched operand types.
	CodeBadRequest = "BadRequest"
	// CodeRequestBadRequest is the directory's code for a well-formed but
	// invalid request: $top out of range, a bad skip token.
	CodeRequestBadRequest = "Request_BadRequest"
	// CodeUnsupportedQuery is the directory's code for a query it does not
	// support, or supports only as an advanced query (ConsistencyLevel:
	// eventual and $count=true).
	CodeUnsupportedQuery = "Request_UnsupportedQuery"
	// CodeNotImplemented answers (501) a $select, on a list, of a
	// property Graph returns for a single user only. Graph documents the
	// status, not the code: this one is assumed.
	CodeNotImplemented = "NotImplemented"
)

// QueryError is a request Graph would refuse. Status is the HTTP status
// (400 for everything the directory refuses), Code and Message go into
// Graph's error body {"error":{"code":...,"message":...}}.
type QueryError struct {
	Status  int
	Code    string
	Message string
	// Err is the underlying cause, a *SyntaxError for a malformed $filter.
	Err error
}

// Error implements error.
func (e *QueryError) Error() string {
	return fmt.Sprintf("graph %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *QueryError) Unwrap() error { return e.Err }

func badRequest(code, format string, args ...any) *QueryError {
	return &QueryError{Status: 400, Code: code, Message: fmt.Sprintf(format, args...)}
}

// SyntaxError is a malformed $filter. Pos is the 0-based byte offset in the
// filter where parsing failed.
type SyntaxError struct {
	Filter string
	Pos    int
	Msg    string
}

// Error implements error in the shape of Graph's (OData's) message.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("Syntax error: %s at position %d in '%s'.", e.Msg, e.Pos, e.Filter)
}

// unsupportedOperator is Graph's answer to an advanced-only operator in a
// request without the advanced query parameters.
func unsupportedOperator(op string) *QueryError {
	return badRequest(CodeUnsupportedQuery, "Operator '%s' is not supported because the required parameters might be missing. "+
		"Try adding $count=true query parameter and ConsistencyLevel:eventual header. "+
		"Refer to https://aka.ms/graph-docs/advanced-queries for more information", op)
}

// unsupportedClause is Graph's answer to a filter on a property that does not
// support it (or supports it only in advanced queries).
func unsupportedClause(p prop) *QueryError {
	return badRequest(CodeUnsupportedQuery, "Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", props[p].name)
}

// unknownProperty is OData's answer to a property the user type lacks.
func unknownProperty(name string) string {
	return fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.user'.", name)
}
