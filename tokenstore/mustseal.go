package tokenstore

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotSealed is matched (errors.Is) by *NotSealedError.
var ErrNotSealed = errors.New("tokenstore: record must be sealed but is stored in clear")

// NotSealedError reports a record of a kind that is always written sealed
// but was read back unsealed. The library never writes such a row: someone
// with write access to the database (but not the keys) flipped the row's
// sealed flag or wrote it directly, for example to plant settings of their
// choosing. The record is refused, never used.
type NotSealedError struct {
	Key Key
}

// Error names the record and what to check; it never holds the payload.
func (e *NotSealedError) Error() string {
	return fmt.Sprintf("tokenstore: %s is stored unsealed, but records of kind %q are always sealed: the row was written outside the library; delete it and check who can write to the database", e.Key, e.Key.Kind)
}

// Is makes errors.Is(err, ErrNotSealed) true.
func (e *NotSealedError) Is(target error) bool { return target == ErrNotSealed }

// GetSealed is Get for a kind that is always written sealed: a record that
// comes back unsealed is refused with a *NotSealedError instead of being
// returned. Whether a row is sealed is part of the row, so a reader that
// trusts the flag lets anyone who can write rows (but holds no key)
// replace a secret record with plaintext of their choosing; GetSealed
// closes that. A Store other than SealedStore must report Record.Sealed as
// stored for it to work.
func GetSealed(ctx context.Context, s Store, key Key) (Record, error) {
	rec, err := s.Get(ctx, key)
	if err != nil {
		return rec, err
	}
	if !rec.Sealed {
		return Record{}, &NotSealedError{Key: key}
	}
	return rec, nil
}

// CheckSealed returns a *NotSealedError for a record of a kind that is
// always sealed but came back unsealed (for example from List), else nil.
func CheckSealed(rec Record) error {
	if !rec.Sealed {
		return &NotSealedError{Key: rec.Key}
	}
	return nil
}
