package tokenstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// SealedStore is the Store the rest of the library uses: a Backend plus
// the Keyring that seals the Data of records marked Sealed before the
// backend sees them and opens it on the way out. Callers read and write
// plaintext; the backend holds only sealed blobs. It also passes leases
// through (Lock) and re-seals records after a key rotation (Rotate).
//
// A SealedStore is safe for concurrent use.
type SealedStore struct {
	b   Backend
	kr  *Keyring
	log *slog.Logger
}

var (
	_ Store  = (*SealedStore)(nil)
	_ Locker = (*SealedStore)(nil)
	_ Fencer = (*SealedStore)(nil)
)

// Option configures New.
type Option func(*SealedStore)

// WithLogger sets the logger for maintenance work such as Rotate. It never
// receives payloads or key material. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(s *SealedStore) {
		if l != nil {
			s.log = l
		}
	}
}

// New returns a store that keeps records in b and seals with kr. kr may
// be nil when nothing secret is stored: sealed records are then refused
// with ErrNoKeyring. New panics if b is nil.
func New(b Backend, kr *Keyring, opts ...Option) *SealedStore {
	if b == nil {
		panic("tokenstore.New: nil Backend")
	}
	s := &SealedStore{b: b, kr: kr, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Backend returns the backend under the store. Records read from it
// directly carry sealed blobs, not plaintext.
func (s *SealedStore) Backend() Backend { return s.b }

// Keyring returns the store's keyring (nil if it has none).
func (s *SealedStore) Keyring() *Keyring { return s.kr }

// Get returns the record with its payload opened. A blob that does not
// open gives an *OpenError, never wrong plaintext.
func (s *SealedStore) Get(ctx context.Context, key Key) (Record, error) {
	if err := key.Validate(); err != nil {
		return Record{}, fmt.Errorf("tokenstore: get: %w", err)
	}
	rec, err := s.b.Get(ctx, key)
	if err != nil {
		return Record{}, err
	}
	return s.open(rec)
}

func (s *SealedStore) open(rec Record) (Record, error) {
	if !rec.Sealed {
		return rec, nil
	}
	if s.kr == nil {
		return Record{}, fmt.Errorf("tokenstore: open %s: %w", rec.Key, ErrNoKeyring)
	}
	pt, err := s.kr.Open(rec.Key, rec.Data)
	if err != nil {
		return Record{}, err
	}
	rec.Data = pt
	return rec, nil
}

// Put seals rec.Data if rec.Sealed and writes it with Backend.Put's
// optimistic concurrency (expectVersion 0: create-only). The returned
// record carries the caller's plaintext. Invalid keys and negative
// versions give errors matching ErrInvalid.
func (s *SealedStore) Put(ctx context.Context, rec Record, expectVersion int64) (Record, error) {
	if err := rec.Key.Validate(); err != nil {
		return Record{}, fmt.Errorf("tokenstore: put: %w", err)
	}
	if expectVersion < 0 {
		return Record{}, fmt.Errorf("tokenstore: put %s: %w: expected version %d is negative (0 creates, n replaces version n)", rec.Key, ErrInvalid, expectVersion)
	}
	plaintext := rec.Data
	if rec.Sealed {
		if s.kr == nil {
			return Record{}, fmt.Errorf("tokenstore: put %s: %w", rec.Key, ErrNoKeyring)
		}
		blob, err := s.kr.Seal(rec.Key, rec.Data)
		if err != nil {
			return Record{}, err
		}
		rec.Data = blob
	}
	stored, err := s.b.Put(ctx, rec, expectVersion)
	if err != nil {
		return Record{}, err
	}
	stored.Data = bytes.Clone(plaintext)
	return stored, nil
}

// Delete removes the record if its version is expectVersion (or whatever
// it is, with AnyVersion). A missing record gives ErrNotFound, a stale
// version a *ConflictError.
func (s *SealedStore) Delete(ctx context.Context, key Key, expectVersion int64) error {
	if err := key.Validate(); err != nil {
		return fmt.Errorf("tokenstore: delete: %w", err)
	}
	if expectVersion <= 0 && expectVersion != AnyVersion {
		return fmt.Errorf("tokenstore: delete %s: %w: expected version %d (use the stored version or AnyVersion)", key, ErrInvalid, expectVersion)
	}
	return s.b.Delete(ctx, key, expectVersion)
}

// List returns one page of a customer's records of one kind with their
// payloads opened. If any blob on the page fails to open, List returns
// that *OpenError and no records.
func (s *SealedStore) List(ctx context.Context, customer, kind string, opts ListOptions) (Page, error) {
	if err := (Key{Customer: customer, Kind: kind, Name: "-"}).Validate(); err != nil {
		return Page{}, fmt.Errorf("tokenstore: list: %w", err)
	}
	page, err := s.b.List(ctx, customer, kind, opts)
	if err != nil {
		return Page{}, err
	}
	for i, rec := range page.Records {
		if page.Records[i], err = s.open(rec); err != nil {
			return Page{}, err
		}
	}
	return page, nil
}

// Lock takes a lease from the backend; see Locker.
func (s *SealedStore) Lock(ctx context.Context, name string, ttl time.Duration) (Lease, error) {
	return s.b.Lock(ctx, name, ttl)
}

// Fence erases the customer and keeps it erased (Fencer) when the
// backend is a Fencer; with another backend it deletes nothing and
// returns an error matching errors.ErrUnsupported.
func (s *SealedStore) Fence(ctx context.Context, customer string) error {
	f, ok := s.b.(Fencer)
	if !ok {
		return fmt.Errorf("tokenstore: fence: the backend %T cannot: %w", s.b, errors.ErrUnsupported)
	}
	return f.Fence(ctx, customer)
}

// Unfence lifts the customer's fence when the backend is a Fencer; with
// another backend there is none, and it returns nil.
func (s *SealedStore) Unfence(ctx context.Context, customer string) error {
	if f, ok := s.b.(Fencer); ok {
		return f.Unfence(ctx, customer)
	}
	return nil
}

// Close closes the backend.
func (s *SealedStore) Close() error { return s.b.Close() }
