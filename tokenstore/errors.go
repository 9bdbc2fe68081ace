package tokenstore

import (
	"errors"
	"fmt"
)

// ErrNotFound is matched (errors.Is) by errors for missing records.
var ErrNotFound = errors.New("tokenstore: record not found")

// ErrConflict is matched (errors.Is) by *ConflictError.
var ErrConflict = errors.New("tokenstore: version conflict")

// ErrLeaseLost is returned by Lease.Release when the lease lapsed before
// it was released: the protected work may have overlapped another holder.
var ErrLeaseLost = errors.New("tokenstore: lease lapsed before release")

// ConflictError reports a write whose expected version was stale: another
// writer got there first. Re-read the record, re-apply the change and retry.
type ConflictError struct {
	Key      Key
	Expected int64 // the version the caller expected
	Actual   int64 // the version found (0: the record does not exist)
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("tokenstore: version conflict on %s/%s/%s: expected version %d, found %d",
		e.Key.Customer, e.Key.Kind, e.Key.Name, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConflict) true for a *ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ErrClosed is returned by a Store or Backend used after Close.
var ErrClosed = errors.New("tokenstore: store is closed")

// ErrInvalid is matched (errors.Is) by errors for malformed arguments: an
// empty or oversized key part, a negative expected version, a bad lease
// name or ttl. The wrapping error names the argument.
var ErrInvalid = errors.New("tokenstore: invalid argument")
