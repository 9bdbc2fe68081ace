package tokenstore_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// FuzzOpen feeds arbitrary bytes and record keys to Keyring.Open: it must
// never panic, must fail with a typed error, and must open nothing but the
// one genuine blob under its own key.
func FuzzOpen(f *testing.F) {
	k, err := tokenstore.NewKeyring(tokenstore.SealKey{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)})
	require.NoError(f, err)
	// A blob sealed once by k for recKey, fixed so that every fuzzing
	// worker process agrees on the only input that may open.
	pt := []byte("genuine plaintext")
	genuine, err := hex.DecodeString(genuineBlobHex)
	require.NoError(f, err)
	got, err := k.Open(recKey, genuine)
	require.NoError(f, err, "the genuine blob does not open")
	require.Equal(f, string(pt), string(got), "the genuine blob's plaintext")
	f.Add(genuine, recKey.Customer, recKey.Kind, recKey.Name)
	f.Add(genuine[:len(genuine)-1], recKey.Customer, recKey.Kind, recKey.Name)
	f.Add(genuine, "other", recKey.Kind, recKey.Name)
	f.Add([]byte{}, "c", "k", "n")
	f.Add([]byte{1, 2, 'k', '1'}, "c", "k", "n")
	f.Add(append([]byte{1, 2, 'k', '2'}, genuine[4:]...), recKey.Customer, recKey.Kind, recKey.Name)
	f.Add(bytes.Repeat([]byte{1}, 64), "c", "k", "n")

	f.Fuzz(func(t *testing.T, blob []byte, customer, kind, name string) {
		key := tokenstore.Key{Customer: customer, Kind: kind, Name: name}
		got, err := k.Open(key, blob)
		if err == nil {
			require.True(t, bytes.Equal(blob, genuine), "forged blob opened: blob %x key %v -> %q", blob, key, got)
			require.Equal(t, recKey, key, "forged blob opened: blob %x key %v -> %q", blob, key, got)
			require.True(t, bytes.Equal(got, pt), "forged blob opened: blob %x key %v -> %q", blob, key, got)
			return
		}
		require.Nil(t, got, "Open returned data with error %v", err)
		var oe *tokenstore.OpenError
		require.ErrorAs(t, err, &oe, "Open error is not an *OpenError")
		require.True(t, errors.Is(err, tokenstore.ErrMalformedBlob) || errors.Is(err, tokenstore.ErrUnknownKey) || errors.Is(err, tokenstore.ErrTampered),
			"Open error %v matches none of the sentinels", err)
		_ = err.Error() // must not panic either
	})
}

const genuineBlobHex = "01026b319a75ab60beed3e3285b87619c6aaf095e32e3a7aacb0eb26447c1e4ea5f5b2888cb1cdd25a08fdbb2608573727"
