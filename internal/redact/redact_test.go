package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestID: request IDs (the portal's 24 hex digits, Azure's 32, GUIDs)
// leave unchanged; a token where an ID belongs is still scrubbed.
func TestID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"0123456789abcdef01234567", "0123456789abcdef01234567"},
		{"0123456789ABCDEF0123456789abcdef", "0123456789ABCDEF0123456789abcdef"},
		{"6f9619ff-8b86-d011-b42d-00cf4fc964ff", "6f9619ff-8b86-d011-b42d-00cf4fc964ff"},
		{"req-42", "req-42"},
		{"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2ln", "[redacted]"},
		{"0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1w", "[redacted]"},
		{"0123456789abcdef0123456789abcdef0123456789abcdef", "[redacted]"}, // longer than an ID: a key
	} {
		assert.Equal(t, tc.want, ID(tc.in), tc.in)
	}
}
