package m365access

import (
	"fmt"
	"strings"
)

// FieldError is one invalid field of a save or configuration.
type FieldError struct {
	// Field is the field's path, for example "appRegistration.clientSecret".
	Field string `json:"field"`
	// Code is stable: "required", "invalid", "tooShort", "expired",
	// "unparseable", "unknown", "notAllowed".
	Code string `json:"code"`
	// Message explains the problem to a person; it never quotes a secret.
	Message string `json:"message"`
}

// The FieldError codes.
const (
	CodeRequired    = "required"
	CodeInvalid     = "invalid"
	CodeTooShort    = "tooShort"
	CodeExpired     = "expired"
	CodeUnparseable = "unparseable"
	CodeUnknown     = "unknown"
	CodeNotAllowed  = "notAllowed"
)

// ValidationError lists every invalid field at once.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		parts[i] = f.Field + ": " + f.Message
	}
	return fmt.Sprintf("m365access: %d invalid field(s): %s", len(e.Errors), strings.Join(parts, "; "))
}

// Field returns the first error for field, if any.
func (e *ValidationError) Field(field string) (FieldError, bool) {
	for _, f := range e.Errors {
		if f.Field == field {
			return f, true
		}
	}
	return FieldError{}, false
}

// fieldErrors collects FieldErrors.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, code, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Errors: fe}
}
