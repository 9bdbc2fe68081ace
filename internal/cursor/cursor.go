package cursor

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// ErrInvalid is returned by Decode for a cursor Encode did not make for
// that kind and scope.
var ErrInvalid = errors.New("cursor: not a cursor of this listing")

// checksumKey keys the checksum (see the package documentation: it
// detects damage and mix-ups, it is no secret).
var checksumKey = []byte("tenantgate page cursor v1")

const (
	sep     = "\x00"
	tagLen  = 12 // bytes of HMAC-SHA-256 kept
	version = "1"
)

// Scope digests a query's filters (each value in order) so that a cursor
// is refused by the same listing with other filters.
func Scope(filters ...string) string {
	h := sha256.New()
	for _, f := range filters {
		h.Write([]byte(f))
		h.Write([]byte(sep))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

// Encode returns the cursor of position parts (none may hold a NUL) in
// the listing kind with filters scope (see Scope).
func Encode(kind, scope string, parts ...string) string {
	payload := strings.Join(append([]string{version, kind, scope}, parts...), sep)
	return base64.RawURLEncoding.EncodeToString(append([]byte(payload), tag([]byte(payload))...))
}

// Decode checks c and returns its n position parts; ErrInvalid when c was
// not made by Encode for kind and scope with n parts.
func Decode(c, kind, scope string, n int) ([]string, error) {
	if c == "" || len(c) > 4096 {
		return nil, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) <= tagLen {
		return nil, ErrInvalid
	}
	payload, sum := raw[:len(raw)-tagLen], raw[len(raw)-tagLen:]
	if !hmac.Equal(sum, tag(payload)) {
		return nil, ErrInvalid
	}
	fields := bytes.Split(payload, []byte(sep))
	if len(fields) != 3+n || string(fields[0]) != version || string(fields[1]) != kind || string(fields[2]) != scope {
		return nil, ErrInvalid
	}
	out := make([]string, n)
	for i := range n {
		out[i] = string(fields[3+i])
	}
	return out, nil
}

func tag(payload []byte) []byte {
	m := hmac.New(sha256.New, checksumKey)
	m.Write(payload)
	return m.Sum(nil)[:tagLen]
}
