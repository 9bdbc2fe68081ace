package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// newKeyring returns a keyring of fresh keys with IDs unique to this test,
// so that tests sharing a backend never open or rotate each other's blobs.
func newKeyring(t *testing.T, keys ...tokenstore.SealKey) *tokenstore.Keyring {
	t.Helper()
	kr, err := tokenstore.NewKeyring(keys...)
	require.NoError(t, err)
	return kr
}

func newKey(t *testing.T) tokenstore.SealKey {
	t.Helper()
	id := uniq(t, "")
	id = "k" + id[len(id)-16:] // the random part: IDs allow [A-Za-z0-9._-]
	k, err := tokenstore.GenerateKey(id)
	require.NoError(t, err)
	return k
}

// secret returns a recognizable secret unique to the test.
func secret(t *testing.T, what string) []byte {
	id := uniq(t, what)
	return []byte("SECRET-refresh-token-" + id[len(id)-16:] + "-" + what)
}

func testSealedRoundTrip(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	s := tokenstore.New(b, newKeyring(t, newKey(t)))
	cust := uniq(t, "c")
	sealedKey := tokenstore.Key{Customer: cust, Kind: "secret", Name: "rt"}
	plainKey := tokenstore.Key{Customer: cust, Kind: "secret", Name: "settings"}
	emptyKey := tokenstore.Key{Customer: cust, Kind: "secret", Name: "empty"}
	pt := secret(t, "rt")

	put, err := s.Put(ctx, tokenstore.Record{Key: sealedKey, Data: pt, Sealed: true}, 0)
	require.NoError(t, err, "Put sealed")
	assert.Equal(t, string(pt), string(put.Data), "Put returned data: want the plaintext")
	assert.True(t, put.Sealed, "Put returned sealed=false")
	assert.Equal(t, int64(1), put.Version, "Put returned version")
	_, err = s.Put(ctx, tokenstore.Record{Key: plainKey, Data: []byte("plain")}, 0)
	require.NoError(t, err)
	_, err = s.Put(ctx, tokenstore.Record{Key: emptyKey, Sealed: true}, 0)
	require.NoError(t, err, "Put sealed empty payload")

	got, err := s.Get(ctx, sealedKey)
	require.NoError(t, err, "Get sealed")
	assert.Equal(t, string(pt), string(got.Data), "Get sealed: want the plaintext")
	assert.True(t, got.Sealed, "Get sealed: sealed=false")
	gotEmpty, err := s.Get(ctx, emptyKey)
	assert.NoError(t, err, "Get sealed empty payload")
	assert.Empty(t, gotEmpty.Data, "Get sealed empty payload")
	page, err := s.List(ctx, cust, "secret", tokenstore.ListOptions{})
	require.NoError(t, err, "List")
	if assert.Len(t, page.Records, 3, "List did not return the opened payloads: %q", names(page.Records)) {
		assert.Equal(t, "rt", page.Records[1].Name, "List did not return the opened payloads: %q", names(page.Records))
		assert.Equal(t, string(pt), string(page.Records[1].Data), "List did not return the opened payload of rt")
		assert.Equal(t, "plain", string(page.Records[2].Data), "List did not return the payload of settings")
	}

	// The backend holds a blob, not the plaintext.
	raw := mustGet(t, b, sealedKey)
	assert.True(t, raw.Sealed, "backend record sealed=false")
	assert.False(t, bytes.Contains(raw.Data, pt), "backend record contains the plaintext")
	assert.False(t, bytes.Contains(raw.Data, pt[len(pt)/2:]), "backend record contains the plaintext's second half")
	id, err := tokenstore.BlobKeyID(raw.Data)
	assert.NoError(t, err, "blob key ID")
	assert.Equal(t, s.Keyring().PrimaryKeyID(), id, "blob key ID: want the primary")
	rawPlain := mustGet(t, b, plainKey)
	assert.False(t, rawPlain.Sealed, "unsealed record stored as sealed")
	assert.Equal(t, "plain", string(rawPlain.Data), "unsealed record's data")

	// Replacing a sealed record seals the new payload with a fresh nonce.
	pt2 := secret(t, "rt2")
	_, err = s.Put(ctx, tokenstore.Record{Key: sealedKey, Data: pt2, Sealed: true}, 1)
	require.NoError(t, err)
	raw2 := mustGet(t, b, sealedKey)
	assert.False(t, bytes.Contains(raw2.Data, pt2), "replacement blob contains the plaintext")
	assert.False(t, bytes.Equal(raw2.Data, raw.Data), "replacement blob equals the previous blob")
	got, err = s.Get(ctx, sealedKey)
	assert.NoError(t, err, "Get after replace")
	assert.Equal(t, string(pt2), string(got.Data), "Get after replace")

	// Scan (used by maintenance) sees only blobs as well.
	recs, err := b.Scan(ctx, tokenstore.Key{Customer: cust}, 10)
	require.NoError(t, err)
	for _, r := range recs {
		if r.Customer == cust {
			assert.False(t, bytes.Contains(r.Data, []byte("SECRET-")), "Scan returned plaintext for %s", r.Key)
		}
	}
}

func wantOpenError(t *testing.T, err error, op string, sentinel error, leaked []byte) {
	t.Helper()
	var oe *tokenstore.OpenError
	require.ErrorAs(t, err, &oe, "%s: want *tokenstore.OpenError", op)
	assert.ErrorIs(t, err, sentinel, op)
	if leaked != nil {
		assert.NotContains(t, err.Error(), string(leaked), "%s: error message contains the plaintext", op)
	}
}

func testSealedBlobSwap(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	s := tokenstore.New(b, newKeyring(t, newKey(t)))
	base := uniq(t, "c")
	src := tokenstore.Key{Customer: base + "/victim", Kind: "msal.cache", Name: "account"}
	pt := secret(t, "victim")
	_, err := s.Put(ctx, tokenstore.Record{Key: src, Data: pt, Sealed: true}, 0)
	require.NoError(t, err)
	blob := mustGet(t, b, src).Data

	for _, dst := range []tokenstore.Key{
		{Customer: base + "/attacker", Kind: src.Kind, Name: src.Name}, // another customer
		{Customer: src.Customer, Kind: "other.kind", Name: src.Name},   // another kind
		{Customer: src.Customer, Kind: src.Kind, Name: "other-name"},   // another name
		// Shifting bytes between key parts must not produce the same
		// additional data.
		{Customer: src.Customer + "/msal.cache", Kind: "account", Name: src.Name},
		{Customer: src.Customer, Kind: "msal.cacheaccount", Name: "x"},
	} {
		// An attacker with write access to the database copies the blob.
		_, err := b.Put(ctx, tokenstore.Record{Key: dst, Data: blob, Sealed: true}, 0)
		require.NoError(t, err)
		got, err := s.Get(ctx, dst)
		wantOpenError(t, err, "Get of a blob copied to "+dst.String(), tokenstore.ErrTampered, pt)
		assert.Nil(t, got.Data, "Get of a copied blob returned data alongside the error")
		_, err = s.List(ctx, dst.Customer, dst.Kind, tokenstore.ListOptions{})
		wantOpenError(t, err, "List over a copied blob at "+dst.String(), tokenstore.ErrTampered, pt)
	}
	// The original still opens.
	got, err := s.Get(ctx, src)
	assert.NoError(t, err, "original after the copies")
	assert.Equal(t, string(pt), string(got.Data), "original after the copies")
}

func testSealedTampered(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	s := tokenstore.New(b, newKeyring(t, newKey(t)))
	cust := uniq(t, "c")
	key := tokenstore.Key{Customer: cust, Kind: "secret", Name: "rt"}
	pt := secret(t, "rt")
	_, err := s.Put(ctx, tokenstore.Record{Key: key, Data: pt, Sealed: true}, 0)
	require.NoError(t, err)
	raw := mustGet(t, b, key)

	flip := func(i int) []byte {
		d := bytes.Clone(raw.Data)
		d[i] ^= 0x01
		return d
	}
	last := len(raw.Data) - 1
	for _, tc := range []struct {
		name string
		blob []byte
		want error
	}{
		{"flipped last tag byte", flip(last), tokenstore.ErrTampered},
		{"flipped ciphertext byte", flip(last - 16), tokenstore.ErrTampered},
		{"flipped nonce byte", flip(2 + len(s.Keyring().PrimaryKeyID())), tokenstore.ErrTampered},
		{"truncated tag", raw.Data[:last], tokenstore.ErrTampered},
		{"truncated to header", raw.Data[:5], tokenstore.ErrMalformedBlob},
		{"empty", []byte{}, tokenstore.ErrMalformedBlob},
		{"plaintext written directly", pt, tokenstore.ErrMalformedBlob},
		{"unknown format version", append([]byte{9}, raw.Data[1:]...), tokenstore.ErrMalformedBlob},
	} {
		cur := mustGet(t, b, key)
		_, err := b.Put(ctx, tokenstore.Record{Key: key, Data: tc.blob, Sealed: true}, cur.Version)
		require.NoError(t, err)
		got, err := s.Get(ctx, key)
		wantOpenError(t, err, tc.name, tc.want, pt)
		assert.Nil(t, got.Data, "%s: data returned alongside the error", tc.name)
	}

	// A store whose keyring lacks the key says which key is missing.
	cur := mustGet(t, b, key)
	_, err = b.Put(ctx, tokenstore.Record{Key: key, Data: raw.Data, Sealed: true}, cur.Version)
	require.NoError(t, err)
	other := tokenstore.New(b, newKeyring(t, newKey(t)))
	_, err = other.Get(ctx, key)
	wantOpenError(t, err, "Get with a keyring lacking the key", tokenstore.ErrUnknownKey, pt)
	assert.Contains(t, err.Error(), s.Keyring().PrimaryKeyID(), "unknown-key error does not name the key ID")
	// Same key ID, different secret: authentication fails.
	impostor, err := tokenstore.GenerateKey(s.Keyring().PrimaryKeyID())
	require.NoError(t, err)
	_, err = tokenstore.New(b, newKeyring(t, impostor)).Get(ctx, key)
	wantOpenError(t, err, "Get with another secret under the same key ID", tokenstore.ErrTampered, pt)
	// Without a keyring, sealed records are refused both ways.
	_, err = tokenstore.New(b, nil).Get(ctx, key)
	assert.ErrorIs(t, err, tokenstore.ErrNoKeyring, "Get without keyring")
}

func testRotation(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	base := uniq(t, "c")
	old, next := newKey(t), newKey(t)
	s1 := tokenstore.New(b, newKeyring(t, old))

	type item struct {
		key    tokenstore.Key
		data   []byte
		sealed bool
	}
	var items []item
	for _, c := range []string{"/a", "/b"} {
		for i := range 12 {
			k := tokenstore.Key{Customer: base + c, Kind: "secret", Name: fmt.Sprintf("r%02d", i)}
			it := item{key: k, data: secret(t, k.Name), sealed: i%4 != 3}
			_, err := s1.Put(ctx, tokenstore.Record{Key: k, Data: it.data, Sealed: it.sealed}, 0)
			require.NoError(t, err)
			items = append(items, it)
		}
	}
	plainVersions := map[tokenstore.Key]int64{}
	for _, it := range items {
		if !it.sealed {
			plainVersions[it.key] = 1
		}
	}

	// Every replica now has both keys; the new one is primary. Old blobs
	// keep opening: no downtime.
	s2 := tokenstore.New(b, newKeyring(t, old, next))
	for _, it := range items[:3] {
		got, err := s2.Get(ctx, it.key)
		require.NoError(t, err, "before rotation, new keyring: Get(%s)", it.key)
		require.Equal(t, string(it.data), string(got.Data), "before rotation, new keyring: Get(%s)", it.key)
	}

	// A writer keeps updating one record while the rotation runs: its
	// updates must survive (the rotation must not overwrite them). Like
	// every replica at this point, it seals with the new key.
	hot := items[0].key
	var (
		wg      sync.WaitGroup
		lastHot []byte
		stop    = make(chan struct{})
		hotErr  error
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cur, err := s2.Get(ctx, hot)
			if err != nil {
				hotErr = err
				return
			}
			data := fmt.Appendf(nil, "hot update %d", i)
			if _, err := s2.Put(ctx, tokenstore.Record{Key: hot, Data: data, Sealed: true}, cur.Version); err == nil {
				lastHot = data
			} else if !errors.Is(err, tokenstore.ErrConflict) {
				hotErr = err
				return
			}
		}
	})

	var progress []tokenstore.RotateResult
	inTest := func(k tokenstore.Key) bool { return strings.HasPrefix(k.Customer, base+"/") }
	res, err := s2.Rotate(ctx, tokenstore.RotateOptions{
		After:     tokenstore.Key{Customer: base},
		Filter:    inTest,
		BatchSize: 5,
		Progress:  func(r tokenstore.RotateResult) { progress = append(progress, r) },
	})
	close(stop)
	wg.Wait()
	require.NoError(t, hotErr, "the writer updating a record during the rotation")
	require.NoError(t, err, "Rotate (result %+v)", res)
	sealedCount := len(items) - len(plainVersions)
	assert.Equal(t, len(items), res.Scanned, "Rotate result %+v: scanned", res)
	assert.Zero(t, res.Failed, "Rotate result %+v: failed", res)
	assert.Equal(t, sealedCount, res.Resealed+res.Current+res.Vanished, "Rotate result %+v: want %d sealed (Resealed+Current+Vanished)", res, sealedCount)
	assert.GreaterOrEqual(t, res.Resealed, sealedCount-1, "Rotate result %+v: want at most one (the hot record) of %d sealed not re-sealed by Rotate", res, sealedCount)
	if assert.NotEmpty(t, progress, "Progress never called") {
		assert.Equal(t, res.Scanned, progress[len(progress)-1].Scanned, "Progress called %d times, last %+v", len(progress), progress)
	}

	// The hot record's last successful update survived; every other record
	// is intact and opens without the old key.
	if lastHot != nil {
		items[0].data = lastHot
	}
	s3 := tokenstore.New(b, newKeyring(t, next)) // the old key retired
	for _, it := range items {
		got, err := s3.Get(ctx, it.key)
		if !assert.NoError(t, err, "after rotation, without the old key: Get(%s)", it.key) {
			continue
		}
		assert.Equal(t, string(it.data), string(got.Data), "after rotation: %s", it.key)
		raw := mustGet(t, b, it.key)
		if it.sealed {
			id, err := tokenstore.BlobKeyID(raw.Data)
			assert.NoError(t, err, "%s: blob key ID", it.key)
			assert.Equal(t, next.ID, id, "%s sealed under the wrong key", it.key)
		} else {
			assert.Equal(t, plainVersions[it.key], raw.Version, "plain record %s was rewritten (version)", it.key)
			assert.False(t, raw.Sealed, "plain record %s was rewritten (sealed)", it.key)
		}
	}

	// A record sealed under a key the keyring lacks is reported, not lost.
	lost := tokenstore.Key{Customer: base + "/c", Kind: "secret", Name: "foreign"}
	_, err = tokenstore.New(b, newKeyring(t, newKey(t))).Put(ctx, tokenstore.Record{Key: lost, Data: []byte("x"), Sealed: true}, 0)
	require.NoError(t, err)
	before := mustGet(t, b, lost)
	res, err = s2.Rotate(ctx, tokenstore.RotateOptions{After: tokenstore.Key{Customer: base}, Filter: inTest})
	assert.ErrorIs(t, err, tokenstore.ErrRotationIncomplete, "Rotate over a foreign blob (result %+v)", res)
	assert.Equal(t, 1, res.Failed, "Rotate over a foreign blob: %+v; want one ErrUnknownKey failure", res)
	if assert.Len(t, res.Failures, 1, "Rotate over a foreign blob: %+v; want one ErrUnknownKey failure", res) {
		assert.Equal(t, lost, res.Failures[0].Key, "Rotate over a foreign blob: failure's key")
		assert.ErrorIs(t, res.Failures[0].Err, tokenstore.ErrUnknownKey, "Rotate over a foreign blob: failure's error")
	}
	after := mustGet(t, b, lost)
	assert.Equal(t, before.Version, after.Version, "Rotate changed a record it could not open (version)")
	assert.Equal(t, string(before.Data), string(after.Data), "Rotate changed a record it could not open (data)")

	// A canceled rotation stops with the context's error.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s2.Rotate(canceled, tokenstore.RotateOptions{})
	assert.ErrorIs(t, err, context.Canceled, "Rotate with a canceled context")
}
