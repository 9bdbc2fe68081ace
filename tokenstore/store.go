package tokenstore

import (
	"context"
	"time"
)

// Key names one record: the host's customer ID, the kind of thing stored
// (for example "m365.settings" or "msal.cache") and a name unique within
// that customer and kind.
type Key struct {
	Customer string
	Kind     string
	Name     string
}

// Record is one stored item. Version is assigned by the store: 1 on
// creation, incremented by every successful Put. A zero Version means the
// record does not exist yet. CreatedAt and UpdatedAt are set by the store
// (values passed to Put are ignored): CreatedAt when the record is created,
// UpdatedAt on every write, in UTC with at least microsecond precision.
//
// Printing a Record (it embeds Key, whose String method it inherits) shows
// only its key, never its Data.
type Record struct {
	Key
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// Data is the payload. When Sealed is true, Store seals it with the
	// keyring before any backend sees it and opens it on the way out, so
	// callers always read and write plaintext here.
	Data   []byte
	Sealed bool
}

// ListOptions pages through List. The zero value lists from the start with
// the store's default page size.
type ListOptions struct {
	// After is the Name of the last record of the previous page ("" for the
	// first page); Page.Next gives it.
	After string
	// Limit is the page size; zero or negative means DefaultPageSize.
	Limit int
}

// DefaultPageSize is the page size List uses when ListOptions.Limit is unset.
const DefaultPageSize = 100

// Page is one page of List, ordered by Name. Next is the Name of the last
// record when more records follow, and empty on the last page (even when
// that page is exactly full).
type Page struct {
	Records []Record
	Next    string
}

// Store is everything the library persists through. Implementations are
// safe for concurrent use. Every method returns ctx's error (matching
// context.Canceled or context.DeadlineExceeded) when ctx is done before the
// operation took effect, and then changes nothing.
type Store interface {
	// Get returns the record, or an error matching ErrNotFound.
	Get(ctx context.Context, key Key) (Record, error)
	// Put writes rec if the stored version equals expectVersion: 0 means
	// create-only, n > 0 replaces exactly version n. On success it returns
	// the record as stored, with its new Version and timestamps. A stale
	// expectVersion (including 0 for an existing record and n > 0 for a
	// missing one) returns *ConflictError (errors.Is(err, ErrConflict)) with
	// the version found, and writes nothing. Of concurrent writers
	// expecting the same version, exactly one succeeds. An invalid key (see
	// Key.Validate) or a negative expectVersion gives an error matching
	// ErrInvalid.
	Put(ctx context.Context, rec Record, expectVersion int64) (Record, error)
	// Delete removes the record if its version equals expectVersion, or
	// whatever its version when expectVersion is AnyVersion; a stale
	// version returns *ConflictError. Deleting a missing record returns an
	// error matching ErrNotFound, whatever expectVersion.
	Delete(ctx context.Context, key Key, expectVersion int64) error
	// List returns one page of a customer's records of one kind, ordered
	// by Name byte-wise (not by a locale collation), starting after
	// opts.After. An unknown customer or kind gives an empty page.
	List(ctx context.Context, customer, kind string, opts ListOptions) (Page, error)
}

// AnyVersion tells Delete to remove the record whatever its version.
const AnyVersion int64 = -1
