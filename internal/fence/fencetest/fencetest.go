// Package fencetest is the conformance suite of a store's fence
// (internal/fence): every store that erases customers runs it on SQLite
// and PostgreSQL.
package fencetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/internal/fence"
)

// Subject is a store under test.
type Subject struct {
	// Write stores the i-th row of customer (distinct i, distinct rows).
	Write func(ctx context.Context, customer string, i int) error
	// Erase erases the customer (the offboarding's call), fencing it.
	Erase func(ctx context.Context, customer string) error
	// Unfence lifts the customer's fence (created again).
	Unfence func(ctx context.Context, customer string) error
	// Count counts the customer's rows.
	Count func(ctx context.Context, customer string) (int, error)
	// Benign, when set, accepts a racing write's error other than
	// ErrErased that the store gives concurrent writers anyway (a
	// superseded sync pass).
	Benign func(error) bool
}

// Run runs Fence and FenceRace. Customers are named prefix + "-a" and so
// on, so that subtests on one database do not meet.
func Run(t *testing.T, prefix string, s Subject) {
	t.Run("Fence", func(t *testing.T) { Fence(t, prefix+"-fence", s) })
	t.Run("FenceRace", func(t *testing.T) { FenceRace(t, prefix+"-race", s) })
}

// Fence: after Erase, every write of the customer fails with an error
// matching fence.ErrErased and stores nothing; other customers are not
// touched; Unfence lets writes in again; erasing twice is fine.
func Fence(t *testing.T, prefix string, s Subject) {
	ctx := t.Context()
	a, b := prefix+"-a", prefix+"-b"
	for _, c := range []string{a, b} {
		require.NoError(t, s.Write(ctx, c, 0), "write %s", c)
	}
	require.NoError(t, s.Erase(ctx, a), "erase")
	require.NoError(t, s.Erase(ctx, a), "erase again")
	for i := range 2 {
		assert.ErrorIs(t, s.Write(ctx, a, i), fence.ErrErased, "write %d after the erase", i)
	}
	n, err := s.Count(ctx, a)
	assert.NoError(t, err, "count the erased customer's rows")
	assert.Zero(t, n, "rows of the erased customer")
	assert.NoError(t, s.Write(ctx, b, 1), "another customer's write")
	n, err = s.Count(ctx, b)
	assert.NoError(t, err, "count the other customer's rows")
	assert.Equal(t, 2, n, "rows of the other customer")
	require.NoError(t, s.Unfence(ctx, a), "unfence")
	assert.NoError(t, s.Write(ctx, a, 0), "write after the customer was created again")
	n, err = s.Count(ctx, a)
	assert.NoError(t, err, "count the re-created customer's rows")
	assert.Equal(t, 1, n, "rows of the re-created customer")
}

// FenceRace: writers racing the erase never leave a row behind: each
// write succeeds before the erase (and is erased) or fails with
// ErrErased.
func FenceRace(t *testing.T, prefix string, s Subject) {
	ctx := t.Context()
	const writers, each = 4, 10
	for round := range 3 {
		c := fmt.Sprintf("%s-%d", prefix, round)
		require.NoError(t, s.Write(ctx, c, 0))
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				<-start
				for i := range each {
					if err := s.Write(ctx, c, 1+w*each+i); err != nil && !errors.Is(err, fence.ErrErased) && (s.Benign == nil || !s.Benign(err)) {
						errs <- err
					}
				}
			})
		}
		wg.Go(func() {
			<-start
			if err := s.Erase(ctx, c); err != nil {
				errs <- fmt.Errorf("erase: %w", err)
			}
		})
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err, "round %d", round)
		}
		n, err := s.Count(ctx, c)
		assert.NoError(t, err, "round %d: count", round)
		assert.Zero(t, n, "round %d: rows left behind the erase", round)
	}
}
