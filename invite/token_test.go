package invite

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewTokenRoundTrip(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		tok, h := newToken()
		require.Len(t, tok, TokenLen)
		require.False(t, seen[tok], "token %q repeated", tok)
		seen[tok] = true
		got, err := parseToken(tok)
		require.NoError(t, err)
		require.Equal(t, h, got, "parseToken(newToken())")
	}
}

func FuzzParseToken(f *testing.F) {
	tok, _ := newToken()
	for _, s := range []string{tok, "", strings.Repeat("A", 43), strings.Repeat("_", 43), strings.Repeat("A", 42) + "B",
		tok + "=", tok[:42], "../../etc/passwd", strings.Repeat("é", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseToken(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidToken, "parseToken(%q)", s)
			require.Equal(t, tokenHash{}, h, "parseToken(%q) returned a hash with its error", s)
			return
		}
		// Accepted: exactly one canonical spelling of 32 bytes.
		raw, derr := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, derr, "parseToken accepted non-canonical %q", s)
		require.Len(t, raw, 32, "parseToken accepted non-canonical %q", s)
		require.Equal(t, s, base64.RawURLEncoding.EncodeToString(raw), "parseToken accepted non-canonical %q", s)
		require.Equal(t, tokenHash(sha256.Sum256(raw)), h, "hash of %q is not SHA-256 of its bytes", s)
	})
}

func TestIDsSortByCreation(t *testing.T) {
	t.Parallel()
	var g idGen
	prev := g.next(time.UnixMilli(5000))
	for i := range 1000 {
		// Mostly the same millisecond, and once the clock steps back.
		at := time.UnixMilli(5000 + int64(i/100))
		if i == 500 {
			at = time.UnixMilli(1000)
		}
		id := g.next(at)
		require.Len(t, id, 26, "ID %d", i)
		require.Greater(t, id, prev, "ID %d: %s after %s: out of order", i, id, prev)
		prev = id
	}
}
