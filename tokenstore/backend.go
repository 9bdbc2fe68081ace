package tokenstore

import (
	"context"
	"time"
)

// Backend is the raw persistence under a Store: memory, SQLite, PostgreSQL
// or a third party's. It stores records exactly as given. A Backend never
// sees the plaintext of a sealed record: New wraps it in a Store that seals
// Data (when Record.Sealed is set) before Put and opens it after Get.
//
// The method contract of Get, Put, Delete and List is Store's; a backend
// proves it by running storetest.Run. Data must round-trip byte for byte
// (any bytes, including NUL) together with the Sealed flag; the backend
// must not keep or hand out the caller's slices. SealedStore validates keys
// and versions (ErrInvalid) before it calls a backend, so a backend may
// leave argument checking to it; storetest does not pass invalid arguments.
type Backend interface {
	Store
	Locker
	// Scan returns up to limit records of every customer and kind, ordered
	// by (Customer, Kind, Name) byte-wise as Key.Compare orders them,
	// strictly after the key after (the zero Key starts at the beginning);
	// zero or negative limit means DefaultPageSize. An empty result means
	// the end. Maintenance such as key rotation uses it.
	Scan(ctx context.Context, after Key, limit int) ([]Record, error)
	// Close releases the backend's resources (connections, files).
	Close() error
}

// Fencer is a Backend (and a Store) that erases a customer and keeps it
// erased: the SQL backends and memstore are. Offboarding fences the
// customer last, so that a check, keep-alive or sign-in racing the erase
// leaves nothing behind.
type Fencer interface {
	// Fence deletes every record of the customer and records it as
	// erased, in one transaction: from then on a Put of one of its
	// records fails with an error matching ErrErased (and writes
	// nothing), until Unfence. Fencing a fenced customer succeeds.
	Fence(ctx context.Context, customer string) error
	// Unfence lifts the customer's fence: it was created again.
	Unfence(ctx context.Context, customer string) error
}

// Locker grants named leases: at most one holder of a name at a time among
// all processes sharing the backend. Token refresh uses it so that only one
// replica refreshes a customer's token at once.
type Locker interface {
	// Lock blocks until the caller holds the lease name or ctx ends (then
	// it returns ctx's error). The lease lapses after ttl unless released
	// first, so a crashed holder cannot block the others forever; work that
	// may outlast ttl must take a longer ttl. An empty name or a
	// non-positive ttl gives an error matching ErrInvalid.
	Lock(ctx context.Context, name string, ttl time.Duration) (Lease, error)
}

// Lease is a held lock from Locker.Lock.
type Lease interface {
	// Release gives the lease up. Releasing a lease that already lapsed
	// (and may now be held by someone else) returns ErrLeaseLost and
	// leaves the other holder's lease alone.
	Release(ctx context.Context) error
}
