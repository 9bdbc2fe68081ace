package fleet

import (
	"context"
	"errors"
	"fmt"
)

// PluginAfterSync is a Plugin that acts on a customer's users after each
// successful user sync (voice's joiners and leavers, for example).
type PluginAfterSync interface {
	Plugin
	// AfterSync is called on the replica that ran the sync, once the
	// succeeded run is recorded; run.ID names the sync. It should be
	// quick (enqueue a job on the Inserter) and idempotent: a sync job
	// retried after its end was recorded calls it again for the same
	// run. An error is logged and does not fail the sync.
	AfterSync(ctx context.Context, customer string, run SyncRun) error
}

// afterSync calls the plugins' AfterSync for a succeeded run, in the
// order of Config.Plugins, each whatever the others answered.
func (f *Fleet) afterSync(ctx context.Context, customer string, run SyncRun) {
	if run.State != RunSucceeded {
		return
	}
	var errs []error
	for _, p := range f.cfg.Plugins {
		if pa, ok := p.(PluginAfterSync); ok {
			if err := pa.AfterSync(ctx, customer, run); err != nil {
				errs = append(errs, fmt.Errorf("plugin %s: %w", p.PluginName(), err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		f.cfg.Logger.WarnContext(ctx, "fleet: after-sync step failed", "customer", customer, "run", run.ID, "err", err.Error())
	}
}
