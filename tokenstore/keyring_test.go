package tokenstore_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

func mustKey(t testing.TB, id string) tokenstore.SealKey {
	t.Helper()
	k, err := tokenstore.GenerateKey(id)
	require.NoError(t, err)
	return k
}

func mustKeyring(t testing.TB, keys ...tokenstore.SealKey) *tokenstore.Keyring {
	t.Helper()
	kr, err := tokenstore.NewKeyring(keys...)
	require.NoError(t, err)
	return kr
}

var recKey = tokenstore.Key{Customer: "cust", Kind: "msal.cache", Name: "acct"}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	kr := mustKeyring(t, mustKey(t, "k1"))
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte{0, 1, 2, 255}, 4096)} {
		blob, err := kr.Seal(recKey, pt)
		require.NoError(t, err)
		if len(pt) >= 8 {
			assert.False(t, bytes.Contains(blob, pt), "blob contains the plaintext")
		}
		got, err := kr.Open(recKey, blob)
		require.NoError(t, err, "Open")
		assert.True(t, bytes.Equal(got, pt), "Open = %v, want %v", got, pt)
		assert.NotNil(t, got, "Open returned nil, want non-nil")
		id, err := tokenstore.BlobKeyID(blob)
		assert.NoError(t, err, "BlobKeyID")
		assert.Equal(t, "k1", id, "BlobKeyID")
	}
	// Same plaintext, fresh nonce each time.
	b1, _ := kr.Seal(recKey, []byte("same"))
	b2, _ := kr.Seal(recKey, []byte("same"))
	assert.False(t, bytes.Equal(b1, b2), "two seals of the same plaintext are identical")
}

func TestKeyringNewestSealsAllOpen(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := mustKey(t, "k1"), mustKey(t, "k2"), mustKey(t, "2026-01.b")
	old := mustKeyring(t, k1)
	blob1, _ := old.Seal(recKey, []byte("one"))
	kr := mustKeyring(t, k1, k2, k3)
	assert.Equal(t, "2026-01.b", kr.PrimaryKeyID(), "primary: want the last key")
	assert.Equal(t, "k1,k2,2026-01.b", strings.Join(kr.KeyIDs(), ","), "KeyIDs")
	assert.True(t, kr.HasKey("k2"), "HasKey(k2)")
	assert.False(t, kr.HasKey("k4"), "HasKey(k4)")
	got, err := kr.Open(recKey, blob1)
	assert.NoError(t, err, "old blob with the new keyring")
	assert.Equal(t, "one", string(got), "old blob with the new keyring")
	blob3, _ := kr.Seal(recKey, []byte("three"))
	id, _ := tokenstore.BlobKeyID(blob3)
	assert.Equal(t, "2026-01.b", id, "new blob sealed with")
	_, err = old.Open(recKey, blob3)
	var oe *tokenstore.OpenError
	if assert.ErrorAs(t, err, &oe, "old keyring opening a new blob") {
		assert.ErrorIs(t, err, tokenstore.ErrUnknownKey, "old keyring opening a new blob")
		assert.Equal(t, "2026-01.b", oe.KeyID, "old keyring opening a new blob: %#v", err)
		assert.Equal(t, recKey, oe.Key, "old keyring opening a new blob: %#v", err)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	kr := mustKeyring(t, mustKey(t, "k1"))
	pt := []byte("refresh-token-value")
	blob, _ := kr.Seal(recKey, pt)
	mut := func(f func([]byte) []byte) []byte { return f(bytes.Clone(blob)) }
	tests := []struct {
		name string
		key  tokenstore.Key
		blob []byte
		want error
	}{
		{"other customer", tokenstore.Key{Customer: "cust2", Kind: recKey.Kind, Name: recKey.Name}, blob, tokenstore.ErrTampered},
		{"other kind", tokenstore.Key{Customer: recKey.Customer, Kind: "x", Name: recKey.Name}, blob, tokenstore.ErrTampered},
		{"other name", tokenstore.Key{Customer: recKey.Customer, Kind: recKey.Kind, Name: "y"}, blob, tokenstore.ErrTampered},
		{"parts shifted", tokenstore.Key{Customer: "custmsal.cache", Kind: "acct", Name: recKey.Name}, blob, tokenstore.ErrTampered},
		{"nil", recKey, nil, tokenstore.ErrMalformedBlob},
		{"one byte", recKey, []byte{1}, tokenstore.ErrMalformedBlob},
		{"version 0", recKey, mut(func(b []byte) []byte { b[0] = 0; return b }), tokenstore.ErrMalformedBlob},
		{"version 2", recKey, mut(func(b []byte) []byte { b[0] = 2; return b }), tokenstore.ErrMalformedBlob},
		{"key ID length 0", recKey, mut(func(b []byte) []byte { b[1] = 0; return b }), tokenstore.ErrMalformedBlob},
		{"key ID length past end", recKey, mut(func(b []byte) []byte { b[1] = 255; return b }), tokenstore.ErrMalformedBlob},
		{"key ID renamed", recKey, mut(func(b []byte) []byte { b[3] = '2'; return b }), tokenstore.ErrUnknownKey},
		{"key ID bad chars", recKey, mut(func(b []byte) []byte { b[2] = '/'; return b }), tokenstore.ErrMalformedBlob},
		{"nonce flipped", recKey, mut(func(b []byte) []byte { b[5] ^= 0x80; return b }), tokenstore.ErrTampered},
		{"ciphertext flipped", recKey, mut(func(b []byte) []byte { b[len(b)-20] ^= 1; return b }), tokenstore.ErrTampered},
		{"tag flipped", recKey, mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), tokenstore.ErrTampered},
		{"truncated by one", recKey, blob[:len(blob)-1], tokenstore.ErrTampered},
		{"truncated to minimum", recKey, blob[:4+12+16], tokenstore.ErrTampered},
		{"extended", recKey, append(bytes.Clone(blob), 0), tokenstore.ErrTampered},
		{"plaintext", recKey, []byte("this is not a sealed blob at all, just text"), tokenstore.ErrMalformedBlob},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := kr.Open(tc.key, tc.blob)
			assert.Nil(t, got, "Open returned data alongside error %v", err)
			var oe *tokenstore.OpenError
			require.ErrorAs(t, err, &oe, "Open: want *OpenError")
			require.ErrorIs(t, err, tc.want, "Open")
			assert.NotContains(t, err.Error(), string(pt), "error contains the plaintext")
		})
	}
}

func TestNewKeyringErrors(t *testing.T) {
	t.Parallel()
	good := mustKey(t, "k1")
	for _, tc := range []struct {
		name string
		keys []tokenstore.SealKey
		want string
	}{
		{"none", nil, "no keys"},
		{"short", []tokenstore.SealKey{{ID: "k1", Secret: make([]byte, 16)}}, "16 bytes"},
		{"long", []tokenstore.SealKey{{ID: "k1", Secret: make([]byte, 33)}}, "33 bytes"},
		{"empty ID", []tokenstore.SealKey{{ID: "", Secret: good.Secret}}, "key ID"},
		{"bad ID", []tokenstore.SealKey{{ID: "a b", Secret: good.Secret}}, "only A-Z"},
		{"long ID", []tokenstore.SealKey{{ID: strings.Repeat("a", 65), Secret: good.Secret}}, "1 to 64"},
		{"duplicate", []tokenstore.SealKey{good, good}, "appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tokenstore.NewKeyring(tc.keys...)
			if assert.ErrorIs(t, err, tokenstore.ErrKeyConfig, "NewKeyring") {
				assert.Contains(t, err.Error(), tc.want, "NewKeyring")
			}
		})
	}
}

func TestSealKeyRedacted(t *testing.T) {
	t.Parallel()
	k := mustKey(t, "k1")
	enc := k.Encode()
	secretB64 := enc[len("k1:"):]
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "key", k)
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k), fmt.Sprint([]tokenstore.SealKey{k}), logs.String(),
	} {
		assert.NotContains(t, s, secretB64, "formatted key leaks the secret")
		assert.NotContains(t, s, fmt.Sprint(k.Secret), "formatted key leaks the secret")
		assert.NotContains(t, s, fmt.Sprintf("%x", k.Secret), "formatted key leaks the secret")
		assert.Contains(t, s, "k1", "formatted key lacks its ID")
	}
}
