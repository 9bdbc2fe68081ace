package invite

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxText is the longest name, tenant or customer display name accepted.
const maxText = 256

// maxAddress is the longest mail address accepted (RFC 5321 path limit).
const maxAddress = 254

// fieldErrors collects FieldErrors; err returns nil when there are none.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, problem string) {
	*fe = append(*fe, FieldError{Field: field, Problem: problem})
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}

// checkText refuses control characters (CR and LF above all: they would
// inject mail headers), invalid UTF-8 and overlong values. required says
// whether the empty string is refused too.
func (fe *fieldErrors) checkText(field, v string, required bool) {
	switch {
	case v == "":
		if required {
			fe.add(field, "is required")
		}
	case !utf8.ValidString(v):
		fe.add(field, "is not valid UTF-8")
	case strings.ContainsFunc(v, unicode.IsControl):
		fe.add(field, "must not contain line breaks or other control characters")
	case len(v) > maxText:
		fe.add(field, "is longer than 256 bytes")
	case strings.TrimSpace(v) != v:
		fe.add(field, "must not start or end with spaces")
	}
}

// checkAddress accepts exactly one bare address (local@domain): no display
// name, no angle brackets, no comments, no list, no control characters.
func (fe *fieldErrors) checkAddress(field, v string, required bool) {
	if v == "" {
		if required {
			fe.add(field, "is required")
		}
		return
	}
	if len(v) > maxAddress || strings.ContainsFunc(v, unicode.IsControl) || !utf8.ValidString(v) {
		fe.add(field, "is not a valid email address")
		return
	}
	a, err := mail.ParseAddress(v)
	if err != nil {
		fe.add(field, "is not a single valid email address (write it as name@example.com)")
		return
	}
	if a.Name != "" || a.Address != v {
		fe.add(field, "must be a bare address like name@example.com, without a display name, brackets or comments")
		return
	}
	if at := strings.LastIndexByte(v, '@'); at <= 0 || !strings.Contains(v[at+1:], ".") && v[at+1:] != "localhost" {
		fe.add(field, "needs a domain like example.com")
	}
}
