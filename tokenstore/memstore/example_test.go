package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()

	key := tokenstore.Key{Customer: "customer-42", Kind: "m365.settings", Name: "current"}
	v1, _ := s.Put(ctx, tokenstore.Record{Key: key, Data: []byte(`{"mode":"token"}`)}, 0)
	v2, _ := s.Put(ctx, tokenstore.Record{Key: key, Data: []byte(`{"mode":"appRegistration"}`)}, v1.Version)
	_, err := s.Put(ctx, tokenstore.Record{Key: key, Data: []byte(`{"mode":"password"}`)}, v1.Version)
	fmt.Println(v2.Version, err)

	// Only one holder of a lease at a time; it lapses after its ttl.
	lease, _ := s.Lock(ctx, "refresh/customer-42", 30*time.Second)
	fmt.Println(lease.Release(ctx))
	// Output:
	// 2 tokenstore: version conflict on customer-42/m365.settings/current: expected version 1, found 2
	// <nil>
}
