package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// RotateOptions controls SealedStore.Rotate. The zero value re-seals every
// record of the backend in pages of DefaultPageSize.
type RotateOptions struct {
	// After resumes a previous run: only records after this key (in Key
	// order) are visited. RotateResult.Last of an interrupted run is the
	// value to pass.
	After Key
	// Filter, if set, limits the run to the records for which it returns
	// true (for example one customer's). Other records are not counted.
	Filter func(Key) bool
	// BatchSize is the number of records read per Backend.Scan; zero or
	// negative means DefaultPageSize.
	BatchSize int
	// Progress, if set, is called after each batch with the totals so far,
	// on the goroutine running Rotate.
	Progress func(RotateResult)
}

// RotateResult counts what Rotate did.
type RotateResult struct {
	// Scanned is the number of records visited (sealed or not).
	Scanned int
	// Resealed records were sealed under an older key and now are under
	// the primary key.
	Resealed int
	// Current records were already sealed under the primary key, including
	// those another writer re-wrote while Rotate ran.
	Current int
	// Vanished records were deleted by another writer while Rotate ran.
	Vanished int
	// Failed records could not be re-sealed; Failures says why.
	Failed int
	// Failures lists the first failed records (at most 100).
	Failures []RotateFailure
	// Last is the last key visited: pass it as RotateOptions.After to
	// resume an interrupted run.
	Last Key
}

// RotateFailure is one record Rotate could not re-seal.
type RotateFailure struct {
	Key Key
	Err error
}

// ErrRotationIncomplete is matched (errors.Is) by the error Rotate returns
// when some records could not be re-sealed. The older keys must stay in
// the keyring until those records are fixed or deleted.
var ErrRotationIncomplete = errors.New("tokenstore: rotation incomplete")

const (
	maxRotateFailures = 100
	maxRotateAttempts = 10
)

// Rotate re-seals every sealed record whose blob names a key other than
// the keyring's primary key, so that older keys can be retired from the
// configuration afterwards. Run it after adding a new key at the end of
// the keyring on every replica.
//
// Rotate walks the backend with Scan and rewrites each record with a
// versioned Put: the store keeps serving meanwhile (old keys keep opening
// until their records are re-sealed), and a record that another writer
// changes in between is re-read and retried, never overwritten. A rewrite
// increments the record's version and UpdatedAt like any write.
// Plain (unsealed) records are left alone.
//
// Rotate blocks until it has visited every record or ctx ends; run it in
// its own goroutine for background work. It returns the counts so far and
// an error if ctx ended, Scan failed, or some records failed (the error
// then matches ErrRotationIncomplete and RotateResult.Failures says which).
func (s *SealedStore) Rotate(ctx context.Context, opts RotateOptions) (RotateResult, error) {
	if s.kr == nil {
		return RotateResult{}, fmt.Errorf("tokenstore: rotate: %w", ErrNoKeyring)
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = DefaultPageSize
	}
	res := RotateResult{Last: opts.After}
	primary := s.kr.PrimaryKeyID()
	s.log.InfoContext(ctx, "tokenstore: key rotation started", slog.String("primary_key", primary))
	for {
		recs, err := s.b.Scan(ctx, res.Last, batch)
		if err != nil {
			return res, fmt.Errorf("tokenstore: rotate: scan after %s: %w", res.Last, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if opts.Filter == nil || opts.Filter(rec.Key) {
				res.Scanned++
				if err := s.reseal(ctx, rec, primary, &res); err != nil {
					if ctxErr := ctx.Err(); ctxErr != nil {
						return res, fmt.Errorf("tokenstore: rotate: %w", ctxErr)
					}
					res.Failed++
					if len(res.Failures) < maxRotateFailures {
						res.Failures = append(res.Failures, RotateFailure{Key: rec.Key, Err: err})
					}
					s.log.WarnContext(ctx, "tokenstore: record not re-sealed", slog.String("record", rec.Key.String()), slog.Any("error", err))
				}
			}
			res.Last = rec.Key
		}
		if opts.Progress != nil {
			opts.Progress(res)
		}
	}
	s.log.InfoContext(ctx, "tokenstore: key rotation finished",
		slog.Int("scanned", res.Scanned), slog.Int("resealed", res.Resealed), slog.Int("failed", res.Failed))
	if res.Failed > 0 {
		return res, fmt.Errorf("%w: %d records not re-sealed (first: %s: %v); keep the older keys until they are fixed or deleted",
			ErrRotationIncomplete, res.Failed, res.Failures[0].Key, res.Failures[0].Err)
	}
	return res, nil
}

// reseal brings one record under the primary key, re-reading it after a
// conflicting write.
func (s *SealedStore) reseal(ctx context.Context, rec Record, primary string, res *RotateResult) error {
	for range maxRotateAttempts {
		if !rec.Sealed {
			return nil
		}
		id, err := BlobKeyID(rec.Data)
		if err != nil {
			return &OpenError{Key: rec.Key, Err: err}
		}
		if id == primary {
			res.Current++
			return nil
		}
		pt, err := s.kr.Open(rec.Key, rec.Data)
		if err != nil {
			return err
		}
		blob, err := s.kr.Seal(rec.Key, pt)
		clear(pt)
		if err != nil {
			return err
		}
		_, err = s.b.Put(ctx, Record{Key: rec.Key, Data: blob, Sealed: true}, rec.Version)
		if err == nil {
			res.Resealed++
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		// Someone wrote meanwhile: look at what they wrote.
		rec, err = s.b.Get(ctx, rec.Key)
		if errors.Is(err, ErrNotFound) {
			res.Vanished++
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("tokenstore: %s kept changing during %d re-seal attempts; run Rotate again", rec.Key, maxRotateAttempts)
}
