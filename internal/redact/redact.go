// Package redact removes links and token-shaped runs from messages that
// leave the process in events, audit entries and logs.
package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxLen bounds a scrubbed message, in bytes.
const MaxLen = 300

var (
	// urlPattern matches absolute URLs: anything around "://".
	urlPattern = regexp.MustCompile(`[A-Za-z0-9+.-]*://[^\s"'<>]*`)
	// tokenPattern matches runs shaped like tokens, keys or secrets: 24
	// or more characters of base64, base64url, hex or JWT dots without a
	// space.
	tokenPattern = regexp.MustCompile(`[A-Za-z0-9+/_\-.~=]{24,}`)
	// secretPrefix matches Standard Webhooks and other prefixed secrets
	// whatever their length.
	secretPrefix = regexp.MustCompile(`(?i)\b(whsec|sk|xox[a-z]?|ghp|eyJ)[A-Za-z0-9+/_\-.=]{6,}`)
)

// Scrub returns msg fit to leave the process: URLs become "[link]", anything
// shaped like a token or secret "[redacted]", control characters spaces,
// and the result is cut to MaxLen bytes.
func Scrub(msg string) string {
	msg = urlPattern.ReplaceAllString(msg, "[link]")
	msg = secretPrefix.ReplaceAllString(msg, "[redacted]")
	msg = tokenPattern.ReplaceAllStringFunc(msg, func(s string) string {
		// Keep long words of plain letters (no digits, no symbols).
		if strings.IndexFunc(s, func(r rune) bool { return r < 'A' || (r > 'Z' && r < 'a') || r > 'z' }) < 0 {
			return s
		}
		return "[redacted]"
	})
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > MaxLen {
		cut := MaxLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return strings.TrimSpace(msg)
}
