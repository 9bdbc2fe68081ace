package events

import "github.com/tenantgate/tenantgate/internal/redact"

// MaxErrorLen bounds Data.Error, in bytes.
const MaxErrorLen = redact.MaxLen

// Scrub returns msg fit for an event: URLs become "[link]", anything
// shaped like a token or secret "[redacted]", control characters spaces,
// and the result is cut to MaxErrorLen bytes.
func Scrub(msg string) string { return redact.Scrub(msg) }
