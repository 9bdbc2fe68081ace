package events

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/internal/fence"
)

// ErrErased is the error of an event of a customer that Offboard erased
// and that was not created again (Unfence); it is tokenstore.ErrErased.
var ErrErased = fence.ErrErased

// fenceTable records the erased customers.
const fenceTable = "tenantgate_events_erased"

// Unfence lifts the fence Offboard put on the customer (fleet.Unfencer):
// it was created again.
func (b *Bus) Unfence(ctx context.Context, customer string) error {
	return fence.Lift(ctx, b.st.db, b.st.d, fenceTable, customer)
}

// Offboard erases what the Bus holds of customer when it is offboarded:
// its events and their webhook delivery rows, except customer.offboarded
// events (the customer ID and the time only), which stay so that the
// offboarding is delivered and a later connection counts as a first one.
// It fences the customer in the same transaction: later events of it
// (but customer.offboarded) are refused with ErrErased until Unfence.
// It fits fleet's OffboardHook and is idempotent: run it after the hook
// that emits customer.offboarded.
func (b *Bus) Offboard(ctx context.Context, customer string) error {
	tx, err := b.st.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("events: erase the events of %q: %w", customer, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fence.Lock(ctx, tx, b.st.d, customer); err != nil {
		return fmt.Errorf("events: erase the events of %q: %w", customer, err)
	}
	if err := fence.Set(ctx, tx, b.st.d, fenceTable, customer, time.Now()); err != nil {
		return fmt.Errorf("events: erase the events of %q: %w", customer, err)
	}
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
