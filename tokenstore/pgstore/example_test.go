package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/pgstore"
)

// Each replica opens its own Store on the shared database; together they
// see one set of records and take turns refreshing a customer's token.
// (This example needs a PostgreSQL server, so it is compiled but not run.)
func Example() {
	ctx := context.Background()
	backend, err := pgstore.Open(ctx, os.Getenv("DATABASE_URL"), pgstore.Options{Schema: "tenantgate"})
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := tokenstore.KeyringFromEnv("TENANTGATE_SEALING_KEYS")
	if err != nil {
		log.Fatal(err) // says how to configure the keys
	}
	store := tokenstore.New(backend, keyring)
	defer store.Close()

	k := tokenstore.Key{Customer: "customer-42", Kind: "m365.token", Name: "refresh"}
	lease, err := store.Lock(ctx, "refresh/customer-42", 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	cur, err := store.Get(ctx, k)
	if err != nil {
		log.Fatal(err)
	}
	// ... redeem cur.Data for new tokens ...
	next, err := store.Put(ctx, tokenstore.Record{Key: k, Data: []byte("new refresh token"), Sealed: true}, cur.Version)
	if err != nil {
		log.Fatal(err) // *tokenstore.ConflictError if another replica wrote first
	}
	if err := lease.Release(ctx); err != nil {
		log.Printf("refresh took longer than the lease: %v", err)
	}
	fmt.Println("stored version", next.Version)
}

// OpenPool shares a pool the host already has.
func ExampleOpenPool() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL")) // the host's own pool
	if err != nil {
		log.Fatal(err)
	}
	backend, err := pgstore.OpenPool(ctx, pool, pgstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Close() // leaves the host's pool open
	page, err := backend.List(ctx, "customer-42", "m365.token", tokenstore.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(page.Records), "records")
}
