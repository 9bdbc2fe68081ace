package cursor

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRoundTrip: a cursor gives its parts back to the listing and
// filters it was made for, and nothing to any other.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	scope := Scope("contoso", "sync.failed", "")
	c := Encode("events", scope, "1712000000000000", "msg_abc")
	parts, err := Decode(c, "events", scope, 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"1712000000000000", "msg_abc"}, parts)

	raw, err := base64.RawURLEncoding.DecodeString(c)
	require.NoError(t, err)
	edited := append([]byte(nil), raw...)
	edited[len(edited)-20] ^= 1 // a digit of the position
	for name, tc := range map[string]struct {
		c, kind, scope string
		n              int
	}{
		"other listing":    {c, "deliveries", scope, 2},
		"other filters":    {c, "events", Scope("fabrikam", "sync.failed", ""), 2},
		"other arity":      {c, "events", scope, 1},
		"edited":           {base64.RawURLEncoding.EncodeToString(edited), "events", scope, 2},
		"truncated":        {c[:len(c)-3], "events", scope, 2},
		"not base64":       {"%%%", "events", scope, 2},
		"empty":            {"", "events", scope, 2},
		"someone's base64": {base64.RawURLEncoding.EncodeToString([]byte("a42")), "events", scope, 2},
	} {
		_, err := Decode(tc.c, tc.kind, tc.scope, tc.n)
		assert.ErrorIs(t, err, ErrInvalid, name)
	}
}

// FuzzDecode: no input panics, and whatever decodes encodes back to
// the same cursor.
func FuzzDecode(f *testing.F) {
	scope := Scope("x")
	f.Add(Encode("audit", scope, "42"))
	f.Add("")
	f.Add("YTQy")
	f.Fuzz(func(t *testing.T, c string) {
		parts, err := Decode(c, "audit", scope, 1)
		if err != nil {
			return
		}
		assert.Equal(t, c, Encode("audit", scope, parts...))
	})
}
