package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// newKeyring returns a keyring of fresh keys with IDs unique to this test,
// so that tests sharing a backend never open or rotate each other's blobs.
func newKeyring(t *testing.T, keys ...tokenstore.SealKey) *tokenstore.Keyring {
	t.Helper()
	kr, err := tokenstore.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newKey(t *testing.T) tokenstore.SealKey {
	t.Helper()
	id := uniq(t, "")
	id = "k" + id[len(id)-16:] // the random part: IDs allow [A-Za-z0-9._-]
	k, err := tokenstore.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatalf("Put sealed: %v", err)
	}
	if !bytes.Equal(put.Data, pt) || !put.Sealed || put.Version != 1 {
		t.Errorf("Put returned v%d sealed=%v %q, want v1 sealed plaintext", put.Version, put.Sealed, put.Data)
	}
	if _, err := s.Put(ctx, tokenstore.Record{Key: plainKey, Data: []byte("plain")}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, tokenstore.Record{Key: emptyKey, Sealed: true}, 0); err != nil {
		t.Fatalf("Put sealed empty payload: %v", err)
	}

	got, err := s.Get(ctx, sealedKey)
	if err != nil {
		t.Fatalf("Get sealed: %v", err)
	}
	if !bytes.Equal(got.Data, pt) || !got.Sealed {
		t.Errorf("Get sealed = %q sealed=%v, want the plaintext", got.Data, got.Sealed)
	}
	if got, err := s.Get(ctx, emptyKey); err != nil || len(got.Data) != 0 {
		t.Errorf("Get sealed empty payload = %q, %v", got.Data, err)
	}
	page, err := s.List(ctx, cust, "secret", tokenstore.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(page.Records) != 3 || page.Records[1].Name != "rt" || !bytes.Equal(page.Records[1].Data, pt) || string(page.Records[2].Data) != "plain" {
		t.Errorf("List did not return the opened payloads: %q", names(page.Records))
	}

	// The backend holds a blob, not the plaintext.
	raw := mustGet(t, b, sealedKey)
	if !raw.Sealed || bytes.Contains(raw.Data, pt) || bytes.Contains(raw.Data, pt[len(pt)/2:]) {
		t.Errorf("backend record sealed=%v contains the plaintext", raw.Sealed)
	}
	if id, err := tokenstore.BlobKeyID(raw.Data); err != nil || id != s.Keyring().PrimaryKeyID() {
		t.Errorf("blob key ID = %q, %v; want the primary %q", id, err, s.Keyring().PrimaryKeyID())
	}
	if rawPlain := mustGet(t, b, plainKey); rawPlain.Sealed || string(rawPlain.Data) != "plain" {
		t.Errorf("unsealed record stored as sealed=%v %q", rawPlain.Sealed, rawPlain.Data)
	}

	// Replacing a sealed record seals the new payload with a fresh nonce.
	pt2 := secret(t, "rt2")
	if _, err := s.Put(ctx, tokenstore.Record{Key: sealedKey, Data: pt2, Sealed: true}, 1); err != nil {
		t.Fatal(err)
	}
	raw2 := mustGet(t, b, sealedKey)
	if bytes.Contains(raw2.Data, pt2) || bytes.Equal(raw2.Data, raw.Data) {
		t.Error("replacement blob contains the plaintext or equals the previous blob")
	}
	if got, err := s.Get(ctx, sealedKey); err != nil || !bytes.Equal(got.Data, pt2) {
		t.Errorf("Get after replace = %q, %v", got.Data, err)
	}

	// Scan (used by maintenance) sees only blobs as well.
	recs, err := b.Scan(ctx, tokenstore.Key{Customer: cust}, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Customer == cust && bytes.Contains(r.Data, []byte("SECRET-")) {
			t.Errorf("Scan returned plaintext for %s", r.Key)
		}
	}
}

func wantOpenError(t *testing.T, err error, op string, sentinel error, leaked []byte) {
	t.Helper()
	var oe *tokenstore.OpenError
	if !errors.As(err, &oe) {
		t.Fatalf("%s: got %v, want *tokenstore.OpenError", op, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: got %v, want it to match %v", op, err, sentinel)
	}
	if leaked != nil && strings.Contains(err.Error(), string(leaked)) {
		t.Errorf("%s: error message contains the plaintext", op)
	}
}

func testSealedBlobSwap(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	s := tokenstore.New(b, newKeyring(t, newKey(t)))
	base := uniq(t, "c")
	src := tokenstore.Key{Customer: base + "/victim", Kind: "msal.cache", Name: "account"}
	pt := secret(t, "victim")
	if _, err := s.Put(ctx, tokenstore.Record{Key: src, Data: pt, Sealed: true}, 0); err != nil {
		t.Fatal(err)
	}
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
		if _, err := b.Put(ctx, tokenstore.Record{Key: dst, Data: blob, Sealed: true}, 0); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, dst)
		wantOpenError(t, err, "Get of a blob copied to "+dst.String(), tokenstore.ErrTampered, pt)
		if got.Data != nil {
			t.Errorf("Get of a copied blob returned data alongside the error")
		}
		_, err = s.List(ctx, dst.Customer, dst.Kind, tokenstore.ListOptions{})
		wantOpenError(t, err, "List over a copied blob at "+dst.String(), tokenstore.ErrTampered, pt)
	}
	// The original still opens.
	if got, err := s.Get(ctx, src); err != nil || !bytes.Equal(got.Data, pt) {
		t.Errorf("original after the copies: %q, %v", got.Data, err)
	}
}

func testSealedTampered(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	s := tokenstore.New(b, newKeyring(t, newKey(t)))
	cust := uniq(t, "c")
	key := tokenstore.Key{Customer: cust, Kind: "secret", Name: "rt"}
	pt := secret(t, "rt")
	if _, err := s.Put(ctx, tokenstore.Record{Key: key, Data: pt, Sealed: true}, 0); err != nil {
		t.Fatal(err)
	}
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
		if _, err := b.Put(ctx, tokenstore.Record{Key: key, Data: tc.blob, Sealed: true}, cur.Version); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, key)
		wantOpenError(t, err, tc.name, tc.want, pt)
		if got.Data != nil {
			t.Errorf("%s: data returned alongside the error", tc.name)
		}
	}

	// A store whose keyring lacks the key says which key is missing.
	cur := mustGet(t, b, key)
	if _, err := b.Put(ctx, tokenstore.Record{Key: key, Data: raw.Data, Sealed: true}, cur.Version); err != nil {
		t.Fatal(err)
	}
	other := tokenstore.New(b, newKeyring(t, newKey(t)))
	_, err := other.Get(ctx, key)
	wantOpenError(t, err, "Get with a keyring lacking the key", tokenstore.ErrUnknownKey, pt)
	if !strings.Contains(err.Error(), s.Keyring().PrimaryKeyID()) {
		t.Errorf("unknown-key error does not name the key ID: %v", err)
	}
	// Same key ID, different secret: authentication fails.
	impostor, err := tokenstore.GenerateKey(s.Keyring().PrimaryKeyID())
	if err != nil {
		t.Fatal(err)
	}
	_, err = tokenstore.New(b, newKeyring(t, impostor)).Get(ctx, key)
	wantOpenError(t, err, "Get with another secret under the same key ID", tokenstore.ErrTampered, pt)
	// Without a keyring, sealed records are refused both ways.
	_, err = tokenstore.New(b, nil).Get(ctx, key)
	if !errors.Is(err, tokenstore.ErrNoKeyring) {
		t.Errorf("Get without keyring: %v, want ErrNoKeyring", err)
	}
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
			if _, err := s1.Put(ctx, tokenstore.Record{Key: k, Data: it.data, Sealed: it.sealed}, 0); err != nil {
				t.Fatal(err)
			}
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
		if err != nil || !bytes.Equal(got.Data, it.data) {
			t.Fatalf("before rotation, new keyring: Get(%s) = %q, %v", it.key, got.Data, err)
		}
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
	if hotErr != nil {
		t.Fatal(hotErr)
	}
	if err != nil {
		t.Fatalf("Rotate: %v (result %+v)", err, res)
	}
	sealedCount := len(items) - len(plainVersions)
	if res.Scanned != len(items) || res.Failed != 0 || res.Resealed+res.Current+res.Vanished != sealedCount || res.Resealed < sealedCount-1 {
		t.Errorf("Rotate result %+v; want %d scanned, %d sealed of which at most one (the hot record) not re-sealed by Rotate", res, len(items), sealedCount)
	}
	if len(progress) == 0 || progress[len(progress)-1].Scanned != res.Scanned {
		t.Errorf("Progress called %d times, last %+v", len(progress), progress)
	}

	// The hot record's last successful update survived; every other record
	// is intact and opens without the old key.
	if lastHot != nil {
		items[0].data = lastHot
	}
	s3 := tokenstore.New(b, newKeyring(t, next)) // the old key retired
	for _, it := range items {
		got, err := s3.Get(ctx, it.key)
		if err != nil {
			t.Errorf("after rotation, without the old key: Get(%s): %v", it.key, err)
			continue
		}
		if !bytes.Equal(got.Data, it.data) {
			t.Errorf("after rotation: %s = %q, want %q", it.key, got.Data, it.data)
		}
		raw := mustGet(t, b, it.key)
		if it.sealed {
			if id, err := tokenstore.BlobKeyID(raw.Data); err != nil || id != next.ID {
				t.Errorf("%s sealed under %q (%v), want %q", it.key, id, err, next.ID)
			}
		} else if raw.Version != plainVersions[it.key] || raw.Sealed {
			t.Errorf("plain record %s was rewritten (v%d sealed=%v)", it.key, raw.Version, raw.Sealed)
		}
	}

	// A record sealed under a key the keyring lacks is reported, not lost.
	lost := tokenstore.Key{Customer: base + "/c", Kind: "secret", Name: "foreign"}
	if _, err := tokenstore.New(b, newKeyring(t, newKey(t))).Put(ctx, tokenstore.Record{Key: lost, Data: []byte("x"), Sealed: true}, 0); err != nil {
		t.Fatal(err)
	}
	before := mustGet(t, b, lost)
	res, err = s2.Rotate(ctx, tokenstore.RotateOptions{After: tokenstore.Key{Customer: base}, Filter: inTest})
	if !errors.Is(err, tokenstore.ErrRotationIncomplete) || res.Failed != 1 || len(res.Failures) != 1 || res.Failures[0].Key != lost ||
		!errors.Is(res.Failures[0].Err, tokenstore.ErrUnknownKey) {
		t.Errorf("Rotate over a foreign blob: %+v, %v; want one ErrUnknownKey failure and ErrRotationIncomplete", res, err)
	}
	if after := mustGet(t, b, lost); after.Version != before.Version || !bytes.Equal(after.Data, before.Data) {
		t.Error("Rotate changed a record it could not open")
	}

	// A canceled rotation stops with the context's error.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s2.Rotate(canceled, tokenstore.RotateOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Rotate with a canceled context: %v", err)
	}
}
