package sqlsink

import (
	"context"
	"errors"
	"fmt"

	"github.com/tenantgate/tenantgate/internal/fence"
)

// ErrErased is the error of a write for a customer that Purge erased and
// that was not created again (Unfence); it is tokenstore.ErrErased.
var ErrErased = fence.ErrErased

// fenceTable records the purged customers.
const fenceTable = "tenantgate_synced_users_erased"

// Purge deletes every synced user of the customer, its pass records and
// its delta checkpoint, and fences the customer, in one transaction
// (offboarding): from then on every write for it fails with ErrErased
// (a pass still running, or one racing the purge, stores nothing) until
// Unfence. Purging a customer with nothing stored succeeds.
func (s *Sink) Purge(ctx context.Context, customer string) (err error) {
	if customer == "" {
		return errors.New("sqlsink: purge: empty customer ID")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlsink: purge customer %q: %w", customer, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := fence.Lock(ctx, tx, s.dialect, customer); err != nil {
		return fmt.Errorf("sqlsink: purge customer %q: %w", customer, err)
	}
	if err := fence.Set(ctx, tx, s.dialect, fenceTable, customer, s.now()); err != nil {
		return fmt.Errorf("sqlsink: purge customer %q: %w", customer, err)
	}
	for _, q := range []string{
		`DELETE FROM tenantgate_user_sync_passes WHERE customer = ?`,
		`DELETE FROM tenantgate_synced_users WHERE customer = ?`,
		`DELETE FROM tenantgate_user_sync_checkpoints WHERE customer = ?`,
	} {
		if _, err := tx.ExecContext(ctx, s.dialect.Rebind(q), customer); err != nil {
			return fmt.Errorf("sqlsink: purge customer %q: %w", customer, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlsink: purge customer %q: %w", customer, err)
	}
	return nil
}

// Unfence lifts the fence Purge put on the customer: it was created
// again, and may be synced again.
func (s *Sink) Unfence(ctx context.Context, customer string) error {
	if err := fence.Lift(ctx, s.db, s.dialect, fenceTable, customer); err != nil {
		return fmt.Errorf("sqlsink: unfence customer %q: %w", customer, err)
	}
	return nil
}
