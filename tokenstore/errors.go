package tokenstore

import (
	"errors"
	"fmt"
)

// ErrNotFound is matched (errors.Is) by errors for missing records.
var ErrNotFound = errors.New("tokenstore: record not found")

// ErrErased is matched (errors.Is) by the error of a write for a
// customer that offboarding erased and fenced (Fencer), until the
// customer is created again (Unfence). Every store that fences (the user
// sink, the qoe, voice and events stores) returns this same value under
// its own name, so one errors.Is covers them all. A caller that gets it
// stops: retrying cannot succeed.
var ErrErased = errors.New("tokenstore: the customer was erased (offboarded); create it again to store anything for it")

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

// Error names the record and both versions.
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

// Errors from opening a sealed blob, matched with errors.Is. Every failure
// to open comes as an *OpenError wrapping one of them.
var (
	// ErrMalformedBlob: the blob is truncated or not in the sealed format
	// (for example a plaintext value written to the backend directly).
	ErrMalformedBlob = errors.New("tokenstore: malformed sealed blob")
	// ErrUnknownKey: the blob names a key ID the keyring lacks. Add that key
	// back to the keyring configuration (keys are retired only after a
	// rotation has re-sealed every record).
	ErrUnknownKey = errors.New("tokenstore: sealed with a key that is not in the keyring")
	// ErrTampered: authentication failed. The blob was modified, copied from
	// another record (blobs are bound to customer, kind and name), or the
	// configured key with that ID is not the key that sealed it.
	ErrTampered = errors.New("tokenstore: sealed blob failed authentication")
)

// ErrNoKeyring is returned when a sealed record is written or read through
// a store built without a keyring.
var ErrNoKeyring = errors.New("tokenstore: sealed record but the store has no keyring; configure one")

// OpenError reports a sealed blob that could not be opened. Err is
// ErrMalformedBlob, ErrUnknownKey or ErrTampered. The error never contains
// key material or plaintext.
type OpenError struct {
	Key   Key    // the record the blob was read from
	KeyID string // the key ID named in the blob ("" if malformed)
	Err   error
}

// Error names the record and the key ID and says what to check; it never
// contains key material or plaintext.
func (e *OpenError) Error() string {
	switch {
	case errors.Is(e.Err, ErrUnknownKey):
		return fmt.Sprintf("tokenstore: cannot open %s: sealed with key %q, which is not in the keyring: add it back to the keyring configuration", e.Key, e.KeyID)
	case errors.Is(e.Err, ErrTampered):
		return fmt.Sprintf("tokenstore: cannot open %s: authentication with key %q failed: the blob was modified or copied from another record, or the configured key %q differs from the one that sealed it", e.Key, e.KeyID, e.KeyID)
	default:
		return fmt.Sprintf("tokenstore: cannot open %s: %v", e.Key, e.Err)
	}
}

// Unwrap returns Err.
func (e *OpenError) Unwrap() error { return e.Err }

// ErrKeyConfig is matched (errors.Is) by every keyring configuration error
// (missing, short or malformed key, duplicate key ID). Such an error is
// meant to stop the process at startup; its message says what to fix and
// never contains key material.
var ErrKeyConfig = errors.New("tokenstore: invalid keyring configuration")
