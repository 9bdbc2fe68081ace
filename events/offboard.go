package events

import (
	"context"
	"fmt"
)

// Offboard erases what the Bus holds of customer when it is offboarded:
// its events and their webhook delivery rows, except customer.offboarded
// events (the customer ID and the time only), which stay so that the
// offboarding is delivered and a later connection counts as a first one.
// It fits fleet's OffboardHook and is idempotent: run it after the hook
// that emits customer.offboarded.
func (b *Bus) Offboard(ctx context.Context, customer string) error {
	tx, err := b.st.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("events: erase the events of %q: %w", customer, err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{
		`DELETE FROM tenantgate_webhook_deliveries WHERE customer = ? AND type <> ?`,
		`DELETE FROM tenantgate_events WHERE customer = ? AND type <> ?`,
	} {
		if _, err := tx.ExecContext(ctx, b.st.d.Rebind(q), customer, string(CustomerOffboarded)); err != nil {
			return fmt.Errorf("events: erase the events of %q: %w", customer, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("events: erase the events of %q: %w", customer, err)
	}
	return nil
}
