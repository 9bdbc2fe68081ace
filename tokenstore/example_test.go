package tokenstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// exampleKeys is a keyring configuration as it would sit in a key file or
// environment variable. Never use these keys: they are public.
const exampleKeys = `
# tenantgate sealing keys: the last one seals, all open
2025-01:8Q3pWZ6S2n1o0aN5m9Yx3dJv7kQe2Lr4Tt6Uu8Ww0Xy=
`

func ExampleNew() {
	ctx := context.Background()
	kr, err := tokenstore.ParseKeyring(exampleKeys)
	if err != nil {
		log.Fatal(err) // a bad key stops the process at startup
	}
	backend := memstore.New()
	store := tokenstore.New(backend, kr)
	defer store.Close()

	key := tokenstore.Key{Customer: "customer-42", Kind: "m365.token", Name: "refresh"}
	rec, err := store.Put(ctx, tokenstore.Record{Key: key, Data: []byte("0.AAAA-refresh-token"), Sealed: true}, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored version", rec.Version)

	got, _ := store.Get(ctx, key)
	fmt.Printf("store gives back %q\n", got.Data)

	raw, _ := backend.Get(ctx, key)
	fmt.Println("backend holds plaintext:", strings.Contains(string(raw.Data), "refresh-token"))

	// A second create of the same record conflicts instead of overwriting.
	_, err = store.Put(ctx, tokenstore.Record{Key: key, Data: []byte("other"), Sealed: true}, 0)
	var conflict *tokenstore.ConflictError
	if errors.As(err, &conflict) {
		fmt.Println("conflict: version", conflict.Actual, "exists")
	}
	// Output:
	// stored version 1
	// store gives back "0.AAAA-refresh-token"
	// backend holds plaintext: false
	// conflict: version 1 exists
}

func ExampleKeyring() {
	kr, err := tokenstore.ParseKeyring(exampleKeys)
	if err != nil {
		log.Fatal(err)
	}
	alice := tokenstore.Key{Customer: "alice", Kind: "secret", Name: "password"}
	mallory := tokenstore.Key{Customer: "mallory", Kind: "secret", Name: "password"}

	blob, _ := kr.Seal(alice, []byte("hunter2"))
	id, _ := tokenstore.BlobKeyID(blob)
	fmt.Println("sealed with key", id)

	pt, _ := kr.Open(alice, blob)
	fmt.Printf("opened for alice: %s\n", pt)

	// The blob is bound to alice's record: copied to mallory's it fails.
	_, err = kr.Open(mallory, blob)
	fmt.Println("opened for mallory:", errors.Is(err, tokenstore.ErrTampered))
	// Output:
	// sealed with key 2025-01
	// opened for alice: hunter2
	// opened for mallory: true
}

func ExampleGenerateKey() {
	k, err := tokenstore.GenerateKey("2026-06")
	if err != nil {
		log.Fatal(err)
	}
	// k.Encode() is the secret configuration line to append to the key
	// file; printing k itself shows only the ID.
	line := k.Encode()
	fmt.Println(k, len(line) == len("2026-06:")+44)
	// Output: SealKey(2026-06, secret redacted) true
}

func ExampleSealedStore_Rotate() {
	ctx := context.Background()
	oldKey, _ := tokenstore.GenerateKey("k1")
	newKey, _ := tokenstore.GenerateKey("k2")
	backend := memstore.New()

	// Records written while k1 was the only key.
	before := tokenstore.New(backend, must(tokenstore.NewKeyring(oldKey)))
	for _, name := range []string{"a", "b", "c"} {
		before.Put(ctx, tokenstore.Record{Key: tokenstore.Key{Customer: "c1", Kind: "secret", Name: name}, Data: []byte(name), Sealed: true}, 0)
	}

	// Every replica now runs with k2 appended; one of them re-seals.
	store := tokenstore.New(backend, must(tokenstore.NewKeyring(oldKey, newKey)))
	res, err := store.Rotate(ctx, tokenstore.RotateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("scanned %d, re-sealed %d\n", res.Scanned, res.Resealed)

	// k1 can now be removed from the configuration.
	after := tokenstore.New(backend, must(tokenstore.NewKeyring(newKey)))
	rec, err := after.Get(ctx, tokenstore.Key{Customer: "c1", Kind: "secret", Name: "b"})
	fmt.Printf("%s %v\n", rec.Data, err)
	// Output:
	// scanned 3, re-sealed 3
	// b <nil>
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
