package tokenstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

func TestGetSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k, err := tokenstore.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := tokenstore.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	b := memstore.New()
	s := tokenstore.New(b, kr)
	sealed := tokenstore.Key{Customer: "c1", Kind: "secret", Name: "a"}
	if _, err := s.Put(ctx, tokenstore.Record{Key: sealed, Data: []byte("s3cret"), Sealed: true}, 0); err != nil {
		t.Fatal(err)
	}
	rec, err := tokenstore.GetSealed(ctx, s, sealed)
	if err != nil || string(rec.Data) != "s3cret" {
		t.Fatalf("GetSealed of a sealed record = %q, %v", rec.Data, err)
	}
	// A row written past the keyring (sealed flag off, plaintext).
	planted := tokenstore.Key{Customer: "c1", Kind: "secret", Name: "b"}
	if _, err := b.Put(ctx, tokenstore.Record{Key: planted, Data: []byte("planted-value")}, 0); err != nil {
		t.Fatal(err)
	}
	rec, err = tokenstore.GetSealed(ctx, s, planted)
	var nse *tokenstore.NotSealedError
	if !errors.Is(err, tokenstore.ErrNotSealed) || !errors.As(err, &nse) || nse.Key != planted || rec.Data != nil {
		t.Fatalf("GetSealed of an unsealed row = %q, %v", rec.Data, err)
	}
	if strings.Contains(err.Error(), "planted-value") {
		t.Error("the error holds the payload")
	}
	if _, err := tokenstore.GetSealed(ctx, s, tokenstore.Key{Customer: "c1", Kind: "secret", Name: "x"}); !errors.Is(err, tokenstore.ErrNotFound) {
		t.Errorf("missing record: %v", err)
	}
	if err := tokenstore.CheckSealed(tokenstore.Record{Key: planted}); !errors.Is(err, tokenstore.ErrNotSealed) {
		t.Errorf("CheckSealed: %v", err)
	}
}
