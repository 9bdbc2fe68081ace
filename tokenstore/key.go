package tokenstore

import (
	"cmp"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxKeyPartLen is the longest Customer, Kind or Name a Store accepts, in
// bytes.
const MaxKeyPartLen = 512

// Validate reports whether k can name a record: Customer, Kind and Name
// must each be non-empty valid UTF-8 of at most MaxKeyPartLen bytes without
// NUL characters. The error matches ErrInvalid.
func (k Key) Validate() error {
	for _, p := range [...]struct{ field, v string }{
		{"customer", k.Customer}, {"kind", k.Kind}, {"name", k.Name},
	} {
		switch {
		case p.v == "":
			return fmt.Errorf("%w: empty %s in record key", ErrInvalid, p.field)
		case len(p.v) > MaxKeyPartLen:
			return fmt.Errorf("%w: %s in record key is %d bytes, longer than %d", ErrInvalid, p.field, len(p.v), MaxKeyPartLen)
		case !utf8.ValidString(p.v):
			return fmt.Errorf("%w: %s in record key is not valid UTF-8", ErrInvalid, p.field)
		case strings.IndexByte(p.v, 0) >= 0:
			return fmt.Errorf("%w: %s in record key contains a NUL byte", ErrInvalid, p.field)
		}
	}
	return nil
}

// Compare orders keys by Customer, then Kind, then Name, each compared
// byte-wise (not by locale collation). It returns -1, 0 or +1. List and
// Scan return records in this order; SQL backends need a binary ("C")
// collation to match it.
func (k Key) Compare(o Key) int {
	if c := cmp.Compare(k.Customer, o.Customer); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Kind, o.Kind); c != 0 {
		return c
	}
	return cmp.Compare(k.Name, o.Name)
}

// String returns "customer/kind/name" for messages. Key parts are
// identifiers, never secrets.
func (k Key) String() string {
	return k.Customer + "/" + k.Kind + "/" + k.Name
}
