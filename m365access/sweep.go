package m365access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// SweepTransactions deletes the stored sign-in and consent transactions
// that are used or expired (and any that do not read as one), and returns
// how many it deleted. Each Begin and ConsentURL stores one, so without a
// sweep they pile up. Run calls it on every pass; a host that does not
// call Run should call it periodically. A used transaction that is gone
// reads as unknown, which Complete refuses all the same.
func (m *Manager) SweepTransactions(ctx context.Context) (int, error) {
	deleted := 0
	now := m.now()
	opts := tokenstore.ListOptions{}
	for {
		page, err := m.store.List(ctx, pendingCustomer, kindPending, opts)
		if err != nil {
			return deleted, fmt.Errorf("m365access: listing transactions: %w", err)
		}
		for _, rec := range page.Records {
			var p pending
			junk := tokenstore.CheckSealed(rec) != nil || json.Unmarshal(rec.Data, &p) != nil
			if !junk && !p.Used && !now.After(p.ExpiresAt) {
				continue
			}
			err := m.store.Delete(ctx, rec.Key, rec.Version)
			switch {
			case err == nil:
				deleted++
			case errors.Is(err, tokenstore.ErrNotFound), errors.Is(err, tokenstore.ErrConflict):
				// Consumed or deleted meanwhile; the next sweep decides.
			default:
				return deleted, fmt.Errorf("m365access: deleting a transaction: %w", err)
			}
		}
		if page.Next == "" {
			if deleted > 0 {
				m.log.InfoContext(ctx, "m365access: swept used and expired transactions", "deleted", deleted)
			}
			return deleted, nil
		}
		opts.After = page.Next
	}
}
