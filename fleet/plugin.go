package fleet

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
)

// Plugin is a package that plugs into the fleet (qoe's Service, events'
// Bus, voice): it is given in Config.Plugins and offers what it needs
// through the small optional interfaces below, which New calls in this
// order, plugin by plugin in the order of Config.Plugins:
//
//  1. PluginWorkers: AddWorkers(*river.Workers) error, its job kinds'
//     workers, added to the one River client's;
//  2. PluginPeriodicJobs: PeriodicJobs() []*river.PeriodicJob, enqueued by
//     River's elected leader;
//  3. PluginOffboard: OffboardHooks() []OffboardHook, run when a customer
//     is offboarded, after Config.Offboard's (see Config.Offboard for the
//     order of reporting and other hooks);
//  4. PluginBudget: UseBudget(*Budget), the replica-wide Graph budget,
//     only when Config.Budget is set;
//  5. PluginInserter: UseInserter(ctx, Inserter) error, once the River
//     client exists and before Start, to enqueue the plugin's jobs.
//
// and while the fleet runs:
//
//   - PluginAfterSync: AfterSync(ctx, customer, SyncRun) error, after each
//     successful user sync of a customer, on the replica that ran it
//     (to enqueue the plugin's follow-up job, keyed by the run).
//
// A plugin that needs a step implements its interface; a compile-time
// assertion such as
//
//	var _ fleet.PluginInserter = (*Service)(nil)
//
// makes a missing or misspelled method a build error instead of a plugin
// half-wired at run time. An error from a plugin fails New, wrapped with
// the plugin's name.
type Plugin interface {
	// PluginName names the plugin in errors and logs; it must be unique
	// among Config.Plugins and not empty.
	PluginName() string
}

// PluginWorkers is a Plugin with job kinds of its own.
type PluginWorkers interface {
	Plugin
	// AddWorkers registers the plugin's workers, for example with
	// river.AddWorkerSafely.
	AddWorkers(w *river.Workers) error
}

// PluginPeriodicJobs is a Plugin with periodic jobs.
type PluginPeriodicJobs interface {
	Plugin
	// PeriodicJobs are added to the client's periodic jobs.
	PeriodicJobs() []*river.PeriodicJob
}

// PluginOffboard is a Plugin that holds customer data to erase when a
// customer is offboarded.
type PluginOffboard interface {
	Plugin
	// OffboardHooks run, in order, after Config.Offboard's hooks; each
	// must be idempotent (the offboarding job retries).
	OffboardHooks() []OffboardHook
}

// PluginBudget is a Plugin whose Graph requests share the replica-wide
// Budget (Config.Budget).
type PluginBudget interface {
	Plugin
	// UseBudget is given Config.Budget; it is not called when that is
	// nil.
	UseBudget(b *Budget)
}

// PluginInserter is a Plugin that enqueues jobs.
type PluginInserter interface {
	Plugin
	// UseInserter is given the River client's inserter once the client
	// exists, before Start: jobs it inserts are worked once the fleet
	// starts. An error fails New.
	UseInserter(ctx context.Context, ins Inserter) error
}

// checkPlugins reports nil plugins and missing or repeated names.
func checkPlugins(ps []Plugin) []error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range ps {
		if p == nil {
			errs = append(errs, fmt.Errorf("config: Plugins[%d] is nil", i))
			continue
		}
		name := p.PluginName()
		switch {
		case name == "":
			errs = append(errs, fmt.Errorf("config: Plugins[%d] has no PluginName", i))
		case seen[name]:
			errs = append(errs, fmt.Errorf("two Plugins are named %q", name))
		}
		seen[name] = true
	}
	return errs
}

// addPlugins calls the plugins' steps that come before the River client
// exists: their workers, periodic jobs, offboarding hooks and budget.
func (f *Fleet) addPlugins(workers *river.Workers) (periodic []*river.PeriodicJob, offboard []OffboardHook, err error) {
	for _, p := range f.cfg.Plugins {
		if pw, ok := p.(PluginWorkers); ok {
			if err := pw.AddWorkers(workers); err != nil {
				return nil, nil, fmt.Errorf("fleet: plugin %s: workers: %w", p.PluginName(), err)
			}
		}
		if pp, ok := p.(PluginPeriodicJobs); ok {
			for i, j := range pp.PeriodicJobs() {
				if j == nil {
					return nil, nil, fmt.Errorf("fleet: plugin %s: periodic job %d is nil", p.PluginName(), i)
				}
				periodic = append(periodic, j)
			}
		}
		if po, ok := p.(PluginOffboard); ok {
			for i, h := range po.OffboardHooks() {
				if h == nil {
					return nil, nil, fmt.Errorf("fleet: plugin %s: offboard hook %d is nil", p.PluginName(), i)
				}
				offboard = append(offboard, h)
			}
		}
		if pb, ok := p.(PluginBudget); ok && f.cfg.Budget != nil {
			pb.UseBudget(f.cfg.Budget)
		}
	}
	return periodic, offboard, nil
}

// usePluginInserter gives the plugins the River client's inserter.
func (f *Fleet) usePluginInserter(ctx context.Context) error {
	var errs []error
	for _, p := range f.cfg.Plugins {
		if pi, ok := p.(PluginInserter); ok {
			if err := pi.UseInserter(ctx, f.client); err != nil {
				errs = append(errs, fmt.Errorf("fleet: plugin %s: inserter: %w", p.PluginName(), err))
			}
		}
	}
	return errors.Join(errs...)
}
