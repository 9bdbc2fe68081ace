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
		if err := s.Write(ctx, c, 0); err != nil {
			t.Fatalf("write %s: %v", c, err)
		}
	}
	if err := s.Erase(ctx, a); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if err := s.Erase(ctx, a); err != nil {
		t.Fatalf("erase again: %v", err)
	}
	for i := range 2 {
		if err := s.Write(ctx, a, i); !errors.Is(err, fence.ErrErased) {
			t.Errorf("write %d after the erase: err = %v, want ErrErased", i, err)
		}
	}
	if n, err := s.Count(ctx, a); err != nil || n != 0 {
		t.Errorf("erased customer has %d rows (%v)", n, err)
	}
	if err := s.Write(ctx, b, 1); err != nil {
		t.Errorf("another customer's write: %v", err)
	}
	if n, err := s.Count(ctx, b); err != nil || n != 2 {
		t.Errorf("other customer has %d rows (%v), want 2", n, err)
	}
	if err := s.Unfence(ctx, a); err != nil {
		t.Fatalf("unfence: %v", err)
	}
	if err := s.Write(ctx, a, 0); err != nil {
		t.Errorf("write after the customer was created again: %v", err)
	}
	if n, err := s.Count(ctx, a); err != nil || n != 1 {
		t.Errorf("re-created customer has %d rows (%v), want 1", n, err)
	}
}

// FenceRace: writers racing the erase never leave a row behind: each
// write succeeds before the erase (and is erased) or fails with
// ErrErased.
func FenceRace(t *testing.T, prefix string, s Subject) {
	ctx := t.Context()
	const writers, each = 4, 10
	for round := range 3 {
		c := fmt.Sprintf("%s-%d", prefix, round)
		if err := s.Write(ctx, c, 0); err != nil {
			t.Fatal(err)
		}
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
			t.Errorf("round %d: %v", round, err)
		}
		if n, err := s.Count(ctx, c); err != nil || n != 0 {
			t.Errorf("round %d: %d rows left behind the erase (%v)", round, n, err)
		}
	}
}
