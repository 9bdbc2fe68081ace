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
	// idPattern matches request and correlation IDs: up to 32 hex digits
	// (the portal's 24, Azure's 32) or a GUID.
	idPattern = regexp.MustCompile(`^(?:[0-9A-Fa-f]{1,32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$`)
)

// ID returns a request or correlation ID fit to leave the process: one
// shaped like an ID (up to 32 hex digits, or a GUID) unchanged, whatever
// Scrub would make of its run of characters; anything else (a token
// pasted where an ID belongs) as Scrub returns it.
func ID(id string) string {
	if idPattern.MatchString(id) {
		return id
	}
	return Scrub(id)
}

// emailPattern matches e-mail addresses and user principal names.
var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}`)

// Name returns the name of a principal (an audit trail's actor) fit to
// leave the process: as Scrub, except that e-mail addresses and user
// principal names, which name people, are kept whole (Scrub would take
// a long domain such as contoso-managed-services.onmicrosoft.com for a
// token). Links are removed first, so a credential in a link's user
// information never survives as an address.
func Name(name string) string {
	name = urlPattern.ReplaceAllString(name, "[link]")
	var b strings.Builder
	last := 0
	for _, m := range emailPattern.FindAllStringIndex(name, -1) {
		b.WriteString(scrubPart(name[last:m[0]]))
		b.WriteString(name[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(scrubPart(name[last:]))
	return finish(b.String())
}

// Scrub returns msg fit to leave the process: URLs become "[link]", anything
// shaped like a token or secret "[redacted]", control characters spaces,
// and the result is cut to MaxLen bytes.
func Scrub(msg string) string {
	return finish(scrubPart(urlPattern.ReplaceAllString(msg, "[link]")))
}

// scrubPart replaces secrets and token-shaped runs.
func scrubPart(msg string) string {
	msg = secretPrefix.ReplaceAllString(msg, "[redacted]")
	msg = tokenPattern.ReplaceAllStringFunc(msg, func(s string) string {
		// Keep long words of plain letters (no digits, no symbols).
		if strings.IndexFunc(s, func(r rune) bool { return r < 'A' || (r > 'Z' && r < 'a') || r > 'z' }) < 0 {
			return s
		}
		return "[redacted]"
	})
	return msg
}

// finish replaces control characters and cuts msg to MaxLen bytes.
func finish(msg string) string {
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
