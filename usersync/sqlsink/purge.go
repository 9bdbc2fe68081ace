package sqlsink

import (
	"context"
	"errors"
	"fmt"
)

// Purge deletes every synced user of the customer, its pass records and
// its delta checkpoint, in
// one transaction (offboarding). A pass of the customer still running
// afterwards finds itself superseded and stores nothing. Purging a
// customer with nothing stored succeeds.
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
