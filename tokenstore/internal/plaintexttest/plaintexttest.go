// Package plaintexttest checks that secrets written through a sealing
// tokenstore.Store never reach a backend's storage in clear. A test writes
// known secrets with WriteSecrets, reads back whatever the backend stored
// (file bytes, table rows as text) and passes it to Check.
//
// A canary written unsealed proves each scan can see payloads at all: a
// scan that finds no canary fails rather than passing vacuously.
package plaintexttest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// Written is what WriteSecrets stored.
type Written struct {
	Secrets [][]byte // sealed payloads, each unique to the call
	Canary  []byte   // an unsealed payload, unique to the call
}

// WriteSecrets stores several sealed secrets (created, then replaced, so
// older versions pass through the backend too) and one unsealed canary
// through backend b, sealing with a fresh keyring. It checks that the
// secrets read back in clear through the sealing store.
func WriteSecrets(t *testing.T, b tokenstore.Backend) Written {
	t.Helper()
	ctx := t.Context()
	k, err := tokenstore.GenerateKey("plaintext-check")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(k)
	require.NoError(t, err)
	s := tokenstore.New(b, kr)
	var w Written
	secret := func(what string) []byte {
		return []byte("SECRET-" + what + "-" + rand.Text())
	}
	for i, name := range []string{"refresh-token", "client-secret", "password"} {
		key := tokenstore.Key{Customer: "cust-plaintext", Kind: "m365.secret", Name: name}
		first, replaced := secret(name+"-v1"), secret(name+"-v2")
		w.Secrets = append(w.Secrets, first, replaced)
		rec, err := s.Put(ctx, tokenstore.Record{Key: key, Data: first, Sealed: true}, 0)
		require.NoError(t, err, "Put sealed %s", name)
		_, err = s.Put(ctx, tokenstore.Record{Key: key, Data: replaced, Sealed: true}, rec.Version)
		require.NoError(t, err, "replace sealed %s", name)
		got, err := s.Get(ctx, key)
		require.NoError(t, err, "Get sealed %s", name)
		require.Equal(t, replaced, got.Data, "Get sealed %s: want the secret back", name)
		if i == 0 {
			// An MSAL-cache-sized blob: big payloads go to overflow pages.
			inBig := secret("big-cache")
			w.Secrets = append(w.Secrets, inBig)
			big := append(bytes.Clone(inBig), bytes.Repeat([]byte("x"), 16<<10)...)
			bigKey := tokenstore.Key{Customer: "cust-plaintext", Kind: "msal.cache", Name: "partition"}
			_, err := s.Put(ctx, tokenstore.Record{Key: bigKey, Data: big, Sealed: true}, 0)
			require.NoError(t, err, "Put sealed cache blob")
		}
	}
	w.Canary = []byte("CANARY-unsealed-" + rand.Text())
	canaryKey := tokenstore.Key{Customer: "cust-plaintext", Kind: "m365.settings", Name: "canary"}
	_, err = s.Put(ctx, tokenstore.Record{Key: canaryKey, Data: w.Canary}, 0)
	require.NoError(t, err, "Put canary")
	// The backend itself holds only blobs for the sealed records.
	raw, err := b.Get(ctx, tokenstore.Key{Customer: "cust-plaintext", Kind: "m365.secret", Name: "refresh-token"})
	require.NoError(t, err, "backend Get")
	require.True(t, raw.Sealed, "backend Get: sealed")
	return w
}

// encodings are the forms a payload may take in a dump: raw bytes, hex
// (PostgreSQL renders bytea as \x...), base64.
func encodings(p []byte) map[string][]byte {
	return map[string][]byte{
		"raw":    p,
		"hex":    []byte(hex.EncodeToString(p)),
		"base64": []byte(base64.StdEncoding.EncodeToString(p)),
	}
}

// Check fails the test if any secret appears in dump (in any encoding), or
// if the canary does not (the scan saw no payloads). where names the dump.
func Check(t *testing.T, where string, dump []byte, w Written) {
	t.Helper()
	found := false
	for _, enc := range encodings(w.Canary) {
		if bytes.Contains(dump, enc) {
			found = true
		}
	}
	assert.True(t, found, "%s (%d bytes): the unsealed canary is missing, so this scan cannot see payloads", where, len(dump))
	CheckSecrets(t, where, dump, w)
}

// CheckSecrets is Check without the canary, for a part of the storage
// that need not hold payloads (one of several files).
func CheckSecrets(t *testing.T, where string, dump []byte, w Written) {
	t.Helper()
	for _, s := range w.Secrets {
		for name, enc := range encodings(s) {
			assert.Zero(t, bytes.Count(dump, enc), "%s: times a sealed secret appears in clear (%s)", where, name)
		}
		// The random tail alone (rand.Text) catches partial leaks too.
		assert.False(t, bytes.Contains(dump, s[len(s)-26:]), "%s: the random part of a sealed secret appears in clear", where)
	}
}
