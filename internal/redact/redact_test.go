package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestName: an actor keeps its e-mail addresses whole, however long the
// domain; tokens and links around them are still removed.
func TestName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Ada Admin (ada.admin@tenantgate-msp.onmicrosoft.com)", "Ada Admin (ada.admin@tenantgate-msp.onmicrosoft.com)"},
		{"christopher.montgomery-smith@contoso-managed-services.onmicrosoft.com", "christopher.montgomery-smith@contoso-managed-services.onmicrosoft.com"},
		{"API token nightly-sync", "API token nightly-sync"},
		{"Eve (eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2ln)", "Eve ([redacted])"},
		{"https://user:s3cret-pass@example.com/x ada@example.com", "[link] ada@example.com"},
		{"bob 0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1w", "bob [redacted]"},
		{"line\nbreak", "line break"},
	} {
		assert.Equal(t, tc.want, Name(tc.in), tc.in)
	}
}

// FuzzName: Name never keeps a token-shaped run outside an address.
func FuzzName(f *testing.F) {
	f.Add("Ada Admin (ada@contoso.com)")
	f.Add("x eyJhbGciOiJSUzI1NiJ9.e30.sig@y.com")
	f.Fuzz(func(t *testing.T, s string) {
		out := Name(s)
		rest := emailPattern.ReplaceAllString(out, "")
		for _, m := range tokenPattern.FindAllString(rest, -1) {
			if strings.IndexFunc(m, func(r rune) bool { return r < 'A' || (r > 'Z' && r < 'a') || r > 'z' }) >= 0 {
				require.Contains(t, m, "[redacted]", "Name(%q) = %q keeps a token-shaped run", s, out)
			}
		}
	})
}
