package fleet_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
)

// recPlugin implements every optional step and records the calls.
type recPlugin struct {
	name string
	log  *callLog
	ran  chan string
	ins  fleet.Inserter
	// failWorkers fails AddWorkers.
	failWorkers error
}

type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	l.mu.Lock()
	l.calls = append(l.calls, s)
	l.mu.Unlock()
}

func (l *callLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

var (
	_ fleet.PluginWorkers      = (*recPlugin)(nil)
	_ fleet.PluginPeriodicJobs = (*recPlugin)(nil)
	_ fleet.PluginOffboard     = (*recPlugin)(nil)
	_ fleet.PluginBudget       = (*recPlugin)(nil)
	_ fleet.PluginInserter     = (*recPlugin)(nil)
)

func (p *recPlugin) PluginName() string { return p.name }

func (p *recPlugin) AddWorkers(w *river.Workers) error {
	p.log.add(p.name + ".workers")
	if p.failWorkers != nil {
		return p.failWorkers
	}
	return river.AddWorkerSafely(w, river.WorkFunc(func(_ context.Context, j *river.Job[pingArgs]) error {
		p.ran <- j.Args.Msg
		return nil
	}))
}

func (p *recPlugin) PeriodicJobs() []*river.PeriodicJob {
	p.log.add(p.name + ".periodic")
	return nil
}

func (p *recPlugin) OffboardHooks() []fleet.OffboardHook {
	p.log.add(p.name + ".offboard")
	return []fleet.OffboardHook{fleet.OffboardFunc(func(_ context.Context, c string) error {
		p.log.add(p.name + ".offboarded " + c)
		return nil
	})}
}

func (p *recPlugin) UseBudget(*fleet.Budget) { p.log.add(p.name + ".budget") }

func (p *recPlugin) UseInserter(_ context.Context, ins fleet.Inserter) error {
	p.log.add(p.name + ".inserter")
	p.ins = ins
	return nil
}

// namedOnly is a plugin with no optional step.
type namedOnly string

func (n namedOnly) PluginName() string { return string(n) }

// TestPlugins: New calls every plugin's steps in order, plugin by plugin;
// the inserter a plugin is given enqueues jobs its own workers run; its
// offboarding hooks follow Config.Offboard's.
func TestPlugins(t *testing.T) {
	t.Parallel()
	log := &callLog{}
	a := &recPlugin{name: "a", log: log, ran: make(chan string, 1)}
	cfg := fleet.Config{Access: newFakeAccess("c1"), Store: newStore(t), PlanInterval: time.Hour, Budget: &fleet.Budget{},
		Offboard: []fleet.OffboardHook{fleet.OffboardFunc(func(_ context.Context, c string) error {
			log.add("config.offboarded " + c)
			return nil
		})},
		Plugins: []fleet.Plugin{a, namedOnly("b")}}
	backends(t)["sqlite"](&cfg)
	f := startFleet(t, cfg)
	require.Equal(t, []string{"a.workers", "a.periodic", "a.offboard", "a.budget", "a.inserter"}, log.get())
	require.NotNil(t, a.ins)

	ctx := t.Context()
	_, err := a.ins.Insert(ctx, pingArgs{Msg: "from the plugin"}, nil)
	require.NoError(t, err)
	select {
	case got := <-a.ran:
		assert.Equal(t, "from the plugin", got)
	case <-time.After(20 * time.Second):
		require.FailNow(t, "the plugin's worker never ran its job")
	}

	require.NoError(t, f.Enroll(ctx, "c1", ""))
	_, err = f.Offboard(ctx, "c1")
	require.NoError(t, err)
	eventually(t, "c1 to be gone", func() bool {
		_, err := f.Customer(ctx, "c1")
		return errors.Is(err, fleet.ErrNotEnrolled)
	})
	calls := log.get()
	assert.Equal(t, []string{"config.offboarded c1", "a.offboarded c1"}, calls[5:])
}

func TestPluginErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		plugins []fleet.Plugin
		want    string
	}{
		{"nil plugin", []fleet.Plugin{nil}, "Plugins[0] is nil"},
		{"no name", []fleet.Plugin{namedOnly("")}, "Plugins[0] has no PluginName"},
		{"same name", []fleet.Plugin{namedOnly("x"), namedOnly("x")}, `two Plugins are named "x"`},
		{"workers fail", []fleet.Plugin{&recPlugin{name: "w", log: &callLog{}, failWorkers: boom}}, "plugin w: workers: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := fleet.Config{Access: newFakeAccess(), Store: newStore(t), Plugins: tt.plugins}
			backends(t)["sqlite"](&cfg)
			_, err := fleet.New(t.Context(), cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestNoMigrate: with NoMigrate, New refuses River's tables until Migrate
// applied them.
func TestNoMigrate(t *testing.T) {
	t.Parallel()
	cfg := fleet.Config{Access: newFakeAccess(), Store: newStore(t), NoMigrate: true}
	backends(t)["sqlite"](&cfg)
	_, err := fleet.New(t.Context(), cfg)
	require.ErrorContains(t, err, "apply the migrations first")
	require.NoError(t, fleet.Migrate(t.Context(), fleet.Config{SQLitePath: cfg.SQLitePath}))
	f, err := fleet.New(t.Context(), cfg)
	require.NoError(t, err)
	require.NoError(t, f.Stop(t.Context()))
}
