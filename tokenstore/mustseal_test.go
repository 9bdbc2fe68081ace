package tokenstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

func TestGetSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k, err := tokenstore.GenerateKey("k1")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(k)
	require.NoError(t, err)
	b := memstore.New()
	s := tokenstore.New(b, kr)
	sealed := tokenstore.Key{Customer: "c1", Kind: "secret", Name: "a"}
	_, err = s.Put(ctx, tokenstore.Record{Key: sealed, Data: []byte("s3cret"), Sealed: true}, 0)
	require.NoError(t, err)
	rec, err := tokenstore.GetSealed(ctx, s, sealed)
	require.NoError(t, err, "GetSealed of a sealed record")
	require.Equal(t, "s3cret", string(rec.Data), "GetSealed of a sealed record")
	// A row written past the keyring (sealed flag off, plaintext).
	planted := tokenstore.Key{Customer: "c1", Kind: "secret", Name: "b"}
	_, err = b.Put(ctx, tokenstore.Record{Key: planted, Data: []byte("planted-value")}, 0)
	require.NoError(t, err)
	rec, err = tokenstore.GetSealed(ctx, s, planted)
	var nse *tokenstore.NotSealedError
	require.ErrorIs(t, err, tokenstore.ErrNotSealed, "GetSealed of an unsealed row")
	require.ErrorAs(t, err, &nse, "GetSealed of an unsealed row")
	require.Equal(t, planted, nse.Key, "GetSealed of an unsealed row: NotSealedError.Key")
	require.Nil(t, rec.Data, "GetSealed of an unsealed row returned data")
	assert.NotContains(t, err.Error(), "planted-value", "the error holds the payload")
	_, err = tokenstore.GetSealed(ctx, s, tokenstore.Key{Customer: "c1", Kind: "secret", Name: "x"})
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "missing record")
	assert.ErrorIs(t, tokenstore.CheckSealed(tokenstore.Record{Key: planted}), tokenstore.ErrNotSealed, "CheckSealed")
}
