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

// Unfencer lifts a customer's fence: the stores that fence an erased
// customer (tokenstore backends, the user sink, the qoe, voice and
// events stores, and the services over them) satisfy it.
type Unfencer interface {
	Unfence(ctx context.Context, customer string) error
}

// Unfence lifts the fences that offboarding put on the customer, so that
// it can be stored for again: call it when the customer is explicitly
// created again (httpapi's POST /customers does). It asks the Store, the
// Syncer's Sink, every Plugin and every offboarding hook that is an
// Unfencer (one asked twice lifts nothing twice). A customer being
// offboarded gives ErrOffboarding.
func (f *Fleet) Unfence(ctx context.Context, customer string) error {
	var e entry
	if _, ok, err := getJSON(ctx, f.cfg.Store, registryKey(customer), &e); err != nil {
		return err
	} else if ok && e.OffboardingSince != nil {
		return fmt.Errorf("fleet: unfence %q: %w", customer, ErrOffboarding)
	}
	var all []any
	all = append(all, f.cfg.Store)
	if f.cfg.Syncer != nil {
		all = append(all, f.cfg.Syncer.Sink)
	}
	for _, p := range f.cfg.Plugins {
		all = append(all, p)
	}
	for _, h := range f.cfg.Offboard { // the audit trail's counts, say
		all = append(all, h)
	}
	for _, v := range all {
		if u, ok := v.(Unfencer); ok {
			if err := u.Unfence(ctx, customer); err != nil {
				return fmt.Errorf("fleet: unfence %q: %w", customer, err)
			}
		}
	}
	return nil
}
