package sqlitestore_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/sqlitestore"
)

// Open a database file, wrap it in a sealing store, and keep a customer's
// refresh token in it. Only the sealed blob reaches the file.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tokenstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	backend, err := sqlitestore.Open(ctx, filepath.Join(dir, "tenantgate.db"), sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// A real service loads its keys from configuration, for example
	// tokenstore.KeyringFromEnv("TENANTGATE_SEALING_KEYS").
	key, err := tokenstore.GenerateKey("k1")
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := tokenstore.NewKeyring(key)
	if err != nil {
		log.Fatal(err)
	}
	store := tokenstore.New(backend, keyring)
	defer store.Close()

	k := tokenstore.Key{Customer: "customer-42", Kind: "m365.token", Name: "refresh"}
	rec, err := store.Put(ctx, tokenstore.Record{Key: k, Data: []byte("0.AXoA-refresh-token"), Sealed: true}, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored version", rec.Version)

	// Only one replica refreshes the token at a time.
	lease, err := store.Lock(ctx, "refresh/customer-42", 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	cur, err := store.Get(ctx, k)
	if err != nil {
		log.Fatal(err)
	}
	next, err := store.Put(ctx, tokenstore.Record{Key: k, Data: []byte("0.AXoA-rotated-token"), Sealed: true}, cur.Version)
	if err != nil {
		log.Fatal(err)
	}
	if err := lease.Release(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("refreshed to version", next.Version)

	// A writer holding a stale version gets a conflict, not a lost update.
	_, err = store.Put(ctx, tokenstore.Record{Key: k, Data: []byte("stale"), Sealed: true}, cur.Version)
	fmt.Println(err)

	raw, err := backend.Get(ctx, k)
	if err != nil {
		log.Fatal(err)
	}
	got, err := store.Get(ctx, k)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("store reads %q; backend holds plaintext: %v\n", got.Data, bytes.Contains(raw.Data, got.Data))
	// Output:
	// stored version 1
	// refreshed to version 2
	// sqlitestore: put: tokenstore: version conflict on customer-42/m365.token/refresh: expected version 1, found 2
	// store reads "0.AXoA-rotated-token"; backend holds plaintext: false
}
