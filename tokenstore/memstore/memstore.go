package memstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// Store is an in-memory tokenstore.Backend. The zero value is not usable;
// call New. It is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	closed bool
	// recs holds records by customer and kind, then by name.
	recs map[bucket]map[string]tokenstore.Record

	// erased are the fenced customers (Fence).
	erased map[string]bool

	// Lease state, see lock.go.
	leases  map[string]leaseState
	leaseID uint64
	changed chan struct{} // closed and replaced whenever a lease is released
}

type bucket struct{ customer, kind string }

var (
	_ tokenstore.Backend = (*Store)(nil)
	_ tokenstore.Fencer  = (*Store)(nil)
)

// Fence implements tokenstore.Fencer: it deletes the customer's records,
// and its later Puts fail with tokenstore.ErrErased until Unfence.
func (s *Store) Fence(ctx context.Context, customer string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.erased == nil {
		s.erased = map[string]bool{}
	}
	s.erased[customer] = true
	for bk := range s.recs {
		if bk.customer == customer {
			delete(s.recs, bk)
		}
	}
	return nil
}

// Unfence implements tokenstore.Fencer.
func (s *Store) Unfence(ctx context.Context, customer string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.erased, customer)
	return nil
}

// New returns an empty store.
func New() *Store {
	return &Store{
		recs:    make(map[bucket]map[string]tokenstore.Record),
		leases:  make(map[string]leaseState),
		changed: make(chan struct{}),
	}
}

// now is the store's clock, truncated to microseconds like the SQL
// backends so that records compare the same everywhere.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// begin checks ctx and the closed flag and, on success, returns with s.mu
// held.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return tokenstore.ErrClosed
	}
	return nil
}

// clone returns rec with a private copy of Data.
func clone(rec tokenstore.Record) tokenstore.Record {
	rec.Data = bytes.Clone(rec.Data)
	return rec
}

// Get implements tokenstore.Store.
func (s *Store) Get(ctx context.Context, key tokenstore.Key) (tokenstore.Record, error) {
	if err := s.begin(ctx); err != nil {
		return tokenstore.Record{}, err
	}
	defer s.mu.Unlock()
	rec, ok := s.recs[bucket{key.Customer, key.Kind}][key.Name]
	if !ok {
		return tokenstore.Record{}, fmt.Errorf("memstore: get %s: %w", key, tokenstore.ErrNotFound)
	}
	return clone(rec), nil
}

// Put implements tokenstore.Store.
func (s *Store) Put(ctx context.Context, rec tokenstore.Record, expectVersion int64) (tokenstore.Record, error) {
	if err := rec.Key.Validate(); err != nil {
		return tokenstore.Record{}, fmt.Errorf("memstore: put: %w", err)
	}
	if expectVersion < 0 {
		return tokenstore.Record{}, fmt.Errorf("memstore: put %s: %w: expected version %d is negative", rec.Key, tokenstore.ErrInvalid, expectVersion)
	}
	if err := s.begin(ctx); err != nil {
		return tokenstore.Record{}, err
	}
	defer s.mu.Unlock()
	if s.erased[rec.Customer] {
		return tokenstore.Record{}, fmt.Errorf("memstore: put %s: %w", rec.Key, tokenstore.ErrErased)
	}
	bk := bucket{rec.Customer, rec.Kind}
	names := s.recs[bk]
	old, exists := names[rec.Name]
	if old.Version != expectVersion {
		return tokenstore.Record{}, &tokenstore.ConflictError{Key: rec.Key, Expected: expectVersion, Actual: old.Version}
	}
	t := now()
	stored := tokenstore.Record{
		Key:       rec.Key,
		Version:   old.Version + 1,
		CreatedAt: t,
		UpdatedAt: t,
		Data:      bytes.Clone(rec.Data),
		Sealed:    rec.Sealed,
	}
	if exists {
		stored.CreatedAt = old.CreatedAt
		if !t.After(old.UpdatedAt) { // keep UpdatedAt strictly increasing
			stored.UpdatedAt = old.UpdatedAt.Add(time.Microsecond)
		}
	}
	if names == nil {
		names = make(map[string]tokenstore.Record)
		s.recs[bk] = names
	}
	names[rec.Name] = stored
	return clone(stored), nil
}

// Delete implements tokenstore.Store.
func (s *Store) Delete(ctx context.Context, key tokenstore.Key, expectVersion int64) error {
	if expectVersion <= 0 && expectVersion != tokenstore.AnyVersion {
		return fmt.Errorf("memstore: delete %s: %w: expected version %d (use a stored version or AnyVersion)", key, tokenstore.ErrInvalid, expectVersion)
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	bk := bucket{key.Customer, key.Kind}
	old, ok := s.recs[bk][key.Name]
	if !ok {
		return fmt.Errorf("memstore: delete %s: %w", key, tokenstore.ErrNotFound)
	}
	if expectVersion != tokenstore.AnyVersion && old.Version != expectVersion {
		return &tokenstore.ConflictError{Key: key, Expected: expectVersion, Actual: old.Version}
	}
	delete(s.recs[bk], key.Name)
	if len(s.recs[bk]) == 0 {
		delete(s.recs, bk)
	}
	return nil
}

// List implements tokenstore.Store.
func (s *Store) List(ctx context.Context, customer, kind string, opts tokenstore.ListOptions) (tokenstore.Page, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = tokenstore.DefaultPageSize
	}
	if err := s.begin(ctx); err != nil {
		return tokenstore.Page{}, err
	}
	defer s.mu.Unlock()
	names := s.recs[bucket{customer, kind}]
	sorted := make([]string, 0, len(names))
	for n := range names {
		if n > opts.After {
			sorted = append(sorted, n)
		}
	}
	slices.Sort(sorted)
	var page tokenstore.Page
	if len(sorted) > limit {
		sorted = sorted[:limit]
		page.Next = sorted[limit-1]
	}
	page.Records = make([]tokenstore.Record, len(sorted))
	for i, n := range sorted {
		page.Records[i] = clone(names[n])
	}
	return page, nil
}

// Scan implements tokenstore.Backend.
func (s *Store) Scan(ctx context.Context, after tokenstore.Key, limit int) ([]tokenstore.Record, error) {
	if limit <= 0 {
		limit = tokenstore.DefaultPageSize
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var keys []tokenstore.Key
	for bk, names := range s.recs {
		for n := range names {
			k := tokenstore.Key{Customer: bk.customer, Kind: bk.kind, Name: n}
			if k.Compare(after) > 0 {
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, tokenstore.Key.Compare)
	if len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]tokenstore.Record, len(keys))
	for i, k := range keys {
		out[i] = clone(s.recs[bucket{k.Customer, k.Kind}][k.Name])
	}
	return out, nil
}

// Close drops all records and leases. Later calls return
// tokenstore.ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.recs = nil
		s.leases = nil
		close(s.changed) // wake lock waiters so they see the closed store
	}
	return nil
}
