package invite

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// tokenBytes is the entropy of an invitation token: 256 bits.
const tokenBytes = 32

// TokenLen is the length of an invitation token as it appears in a link:
// 32 random bytes in unpadded base64url.
const TokenLen = 43

// tokenHash is the SHA-256 of a token's raw bytes: the only form of the
// token that is stored.
type tokenHash [sha256.Size]byte

// String returns the hash in lowercase hex, the name of its index record.
func (h tokenHash) String() string { return hex.EncodeToString(h[:]) }

// newToken returns a fresh token as it goes into the link, and its hash.
func newToken() (string, tokenHash) {
	var raw [tokenBytes]byte
	rand.Read(raw[:]) // never returns an error; crashes the program if the OS fails
	return base64.RawURLEncoding.EncodeToString(raw[:]), sha256.Sum256(raw[:])
}

// parseToken checks that s has the form of an invitation token (43
// characters of unpadded base64url encoding exactly 32 bytes, in canonical
// form) and returns the SHA-256 of its bytes, the form under which the
// token is stored. It says nothing about whether such an invitation exists.
func parseToken(s string) (tokenHash, error) {
	if len(s) != TokenLen {
		return tokenHash{}, ErrInvalidToken
	}
	var raw [tokenBytes]byte
	n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(s))
	if err != nil || n != tokenBytes {
		return tokenHash{}, ErrInvalidToken
	}
	return sha256.Sum256(raw[:]), nil
}
