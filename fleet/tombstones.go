package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// ExpireTombstones deletes the offboarding tombstones older than
// Config.TombstoneRetention and returns how many it deleted. The hourly
// job (KindTombstones) calls it; a customer whose tombstone is gone is
// unknown to the fleet (Offboard gives ErrNotEnrolled, OffboardReport
// reports nothing).
func (f *Fleet) ExpireTombstones(ctx context.Context) (int, error) {
	cutoff := f.now().Add(-f.cfg.TombstoneRetention)
	n, after := 0, ""
	for {
		page, err := f.cfg.Store.List(ctx, registryCustomer, kindOffboarded, tokenstore.ListOptions{After: after})
		if err != nil {
			return n, fmt.Errorf("fleet: expire tombstones: %w", err)
		}
		for _, rec := range page.Records {
			var ts tombstone
			if err := json.Unmarshal(rec.Data, &ts); err != nil {
				return n, fmt.Errorf("fleet: the tombstone of %q: %w", rec.Key.Name, err)
			}
			if !ts.At.Before(cutoff) {
				continue
			}
			if err := f.cfg.Store.Delete(ctx, rec.Key, rec.Version); err != nil && !errors.Is(err, tokenstore.ErrNotFound) && !errors.Is(err, tokenstore.ErrConflict) {
				return n, fmt.Errorf("fleet: expire the tombstone of %q: %w", rec.Key.Name, err)
			}
			n++
		}
		if page.Next == "" {
			return n, nil
		}
		after = page.Next
	}
}

// workTombstones runs ExpireTombstones.
func (f *Fleet) workTombstones(ctx context.Context, _ *river.Job[TombstonesArgs]) error {
	n, err := f.ExpireTombstones(ctx)
	if n > 0 {
		f.cfg.Logger.InfoContext(ctx, "fleet: offboarding tombstones expired", "deleted", n, "retention", f.cfg.TombstoneRetention.String())
	}
	return err
}
