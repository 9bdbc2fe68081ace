package directory

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// Skip token layout, before base64url (no padding):
//
//	version (1 byte, 2) | position (uvarint) | count+1 (uvarint) |
//	issued, Unix seconds (uvarint) |
//	query binding (8 bytes) | HMAC-SHA256 over all of the above (first 16 bytes)
//
// position is the listing position where the next page starts; count is the
// @odata.count of the first page (or -1), so later pages need not count
// again; the binding is a hash of the filter (canonical form), the sort
// order and whether counting was requested, so a token cannot be replayed
// against another query.
const (
	tokenVersion = 2
	macLen       = 16
	bindingLen   = 8
)

type skipToken struct {
	pos     int
	count   int
	issued  int64 // Unix seconds
	binding [bindingLen]byte
}

func (d *Directory) encodeToken(t skipToken) string {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64+bindingLen+macLen)
	b = append(b, tokenVersion)
	b = binary.AppendUvarint(b, uint64(t.pos))
	b = binary.AppendUvarint(b, uint64(t.count+1))
	b = binary.AppendUvarint(b, uint64(max(t.issued, 0)))
	b = append(b, t.binding[:]...)
	m := hmac.New(sha256.New, d.tokenKey[:])
	m.Write(b)
	b = append(b, m.Sum(nil)[:macLen]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken verifies and decodes a skip token. It never panics; any
// malformed, tampered or foreign token is an error.
func (d *Directory) decodeToken(s string) (skipToken, bool) {
	var t skipToken
	if len(s) > 128 {
		return t, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1+2+bindingLen+macLen {
		return t, false
	}
	body, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	m := hmac.New(sha256.New, d.tokenKey[:])
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)[:macLen]) {
		return t, false
	}
	if body[0] != tokenVersion {
		return t, false
	}
	rest := body[1:]
	pos, n := binary.Uvarint(rest)
	if n <= 0 {
		return t, false
	}
	rest = rest[n:]
	count, n := binary.Uvarint(rest)
	if n <= 0 {
		return t, false
	}
	rest = rest[n:]
	issued, n := binary.Uvarint(rest)
	if n <= 0 {
		return t, false
	}
	rest = rest[n:]
	t.issued = int64(issued)
	if len(rest) != bindingLen || pos > uint64(d.positions()) || count > uint64(d.Len())+1 {
		return t, false
	}
	t.pos = int(pos)
	t.count = int(count) - 1
	copy(t.binding[:], rest)
	return t, true
}

// binding hashes what a skip token is bound to.
func binding(filter string, desc bool, sortKey string, counting bool) [bindingLen]byte {
	h := sha256.New()
	h.Write([]byte(filter))
	h.Write([]byte{0})
	h.Write([]byte(sortKey))
	flags := byte(0)
	if desc {
		flags |= 1
	}
	if counting {
		flags |= 2
	}
	h.Write([]byte{0, flags})
	var b [bindingLen]byte
	copy(b[:], h.Sum(nil))
	return b
}
