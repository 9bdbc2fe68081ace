package tokenstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

func TestSealedStoreRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := tokenstore.New(memstore.New(), mustKeyring(t, mustKey(t, "k1")))
	defer s.Close()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"put empty customer", func() error {
			_, err := s.Put(ctx, tokenstore.Record{Key: tokenstore.Key{Kind: "k", Name: "n"}}, 0)
			return err
		}()},
		{"put NUL in name", func() error {
			_, err := s.Put(ctx, tokenstore.Record{Key: tokenstore.Key{Customer: "c", Kind: "k", Name: "a\x00b"}}, 0)
			return err
		}()},
		{"put invalid UTF-8", func() error {
			_, err := s.Put(ctx, tokenstore.Record{Key: tokenstore.Key{Customer: "c\xff", Kind: "k", Name: "n"}}, 0)
			return err
		}()},
		{"put negative version", func() error {
			_, err := s.Put(ctx, tokenstore.Record{Key: recKey}, -1)
			return err
		}()},
		{"get empty kind", func() error {
			_, err := s.Get(ctx, tokenstore.Key{Customer: "c", Name: "n"})
			return err
		}()},
		{"delete version 0", s.Delete(ctx, recKey, 0)},
		{"list empty customer", func() error {
			_, err := s.List(ctx, "", "k", tokenstore.ListOptions{})
			return err
		}()},
	} {
		assert.ErrorIs(t, tc.err, tokenstore.ErrInvalid, tc.name)
	}
}

func TestSealedStoreWithoutKeyring(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := tokenstore.New(memstore.New(), nil)
	_, err := s.Put(ctx, tokenstore.Record{Key: recKey, Data: []byte("x"), Sealed: true}, 0)
	assert.ErrorIs(t, err, tokenstore.ErrNoKeyring, "sealed Put without keyring")
	_, err = s.Put(ctx, tokenstore.Record{Key: recKey, Data: []byte("plain")}, 0)
	assert.NoError(t, err, "plain Put without keyring")
	_, err = s.Rotate(ctx, tokenstore.RotateOptions{})
	assert.ErrorIs(t, err, tokenstore.ErrNoKeyring, "Rotate without keyring")
}

// interferingBackend writes to a record through another store just before
// the rotation's first versioned Put of it, forcing the conflict path.
type interferingBackend struct {
	tokenstore.Backend
	target    tokenstore.Key
	interfere func() error
	done      atomic.Bool
}

func (b *interferingBackend) Put(ctx context.Context, rec tokenstore.Record, expect int64) (tokenstore.Record, error) {
	if rec.Key == b.target && expect > 0 && b.done.CompareAndSwap(false, true) {
		if err := b.interfere(); err != nil {
			return tokenstore.Record{}, err
		}
	}
	return b.Backend.Put(ctx, rec, expect)
}

func TestRotateConflictLosesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// what the other writer does to the target meanwhile
		write        func(ctx context.Context, s *tokenstore.SealedStore, k tokenstore.Key) error
		wantData     string
		wantVanished int
	}{
		{"rewritten under the new key", func(ctx context.Context, s *tokenstore.SealedStore, k tokenstore.Key) error {
			cur, err := s.Get(ctx, k)
			if err != nil {
				return err
			}
			_, err = s.Put(ctx, tokenstore.Record{Key: k, Data: []byte("concurrent"), Sealed: true}, cur.Version)
			return err
		}, "concurrent", 0},
		{"rewritten by an old replica", nil, "old replica", 0},
		{"deleted", func(ctx context.Context, s *tokenstore.SealedStore, k tokenstore.Key) error {
			return s.Delete(ctx, k, tokenstore.AnyVersion)
		}, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			k1, k2 := mustKey(t, "k1"), mustKey(t, "k2")
			mem := memstore.New()
			oldStore := tokenstore.New(mem, mustKeyring(t, k1))
			newStore := tokenstore.New(mem, mustKeyring(t, k1, k2))
			for i := range 5 {
				k := tokenstore.Key{Customer: "c", Kind: "secret", Name: fmt.Sprint(i)}
				_, err := oldStore.Put(ctx, tokenstore.Record{Key: k, Data: []byte("orig"), Sealed: true}, 0)
				require.NoError(t, err)
			}
			target := tokenstore.Key{Customer: "c", Kind: "secret", Name: "2"}
			write := tc.write
			if write == nil {
				write = func(ctx context.Context, _ *tokenstore.SealedStore, k tokenstore.Key) error {
					_, err := oldStore.Put(ctx, tokenstore.Record{Key: k, Data: []byte("old replica"), Sealed: true}, 1)
					return err
				}
			}
			ib := &interferingBackend{Backend: mem, target: target}
			ib.interfere = func() error { return write(ctx, newStore, target) }
			res, err := tokenstore.New(ib, mustKeyring(t, k1, k2)).Rotate(ctx, tokenstore.RotateOptions{BatchSize: 2})
			require.NoError(t, err, "Rotate")
			require.True(t, ib.done.Load(), "the interference did not run")
			assert.True(t, res.Scanned == 5-tc.wantVanished || res.Scanned == 5, "result %+v: scanned", res)
			assert.Equal(t, tc.wantVanished, res.Vanished, "result %+v: vanished", res)
			assert.Zero(t, res.Failed, "result %+v: failed", res)
			onlyNew := tokenstore.New(mem, mustKeyring(t, k2))
			got, err := onlyNew.Get(ctx, target)
			if tc.wantVanished == 1 {
				assert.ErrorIs(t, err, tokenstore.ErrNotFound, "deleted record")
				return
			}
			assert.NoError(t, err, "target after rotation")
			assert.Equal(t, tc.wantData, string(got.Data), "target after rotation: want the data under the new key")
		})
	}
}

func TestRotateResume(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	k1, k2 := mustKey(t, "k1"), mustKey(t, "k2")
	mem := memstore.New()
	old := tokenstore.New(mem, mustKeyring(t, k1))
	for i := range 10 {
		k := tokenstore.Key{Customer: "c", Kind: "secret", Name: fmt.Sprint(i)}
		_, err := old.Put(ctx, tokenstore.Record{Key: k, Data: []byte("x"), Sealed: true}, 0)
		require.NoError(t, err)
	}
	s := tokenstore.New(mem, mustKeyring(t, k1, k2))
	// Stop after the first batch, as if the process were restarted.
	stopCtx, cancel := context.WithCancel(ctx)
	res, err := s.Rotate(stopCtx, tokenstore.RotateOptions{BatchSize: 4, Progress: func(tokenstore.RotateResult) { cancel() }})
	require.ErrorIs(t, err, context.Canceled, "interrupted run: %+v", res)
	require.Equal(t, 4, res.Resealed, "interrupted run: %+v", res)
	require.Equal(t, "3", res.Last.Name, "interrupted run: %+v", res)
	res2, err := s.Rotate(ctx, tokenstore.RotateOptions{After: res.Last})
	require.NoError(t, err, "resumed run")
	require.Equal(t, 6, res2.Resealed, "resumed run: %+v", res2)
	require.Equal(t, 6, res2.Scanned, "resumed run: %+v", res2)
}
