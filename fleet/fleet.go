package fleet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"go.opentelemetry.io/otel/metric"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Fleet runs the fleet's jobs on one River client. Create it with New,
// then Start it; Stop drains it.
type Fleet struct {
	cfg    Config
	client jobClient
	sqlite *sql.DB // owned, SQLite only

	mu      sync.Mutex
	started bool
	stopped bool
	// queueMetrics is the job queue gauges' callback, from Start to Stop.
	queueMetrics metric.Registration

	// replica is this process's ID in the heartbeat table (PostgreSQL),
	// replicas the live count it last saw; hbStop ends the heartbeats,
	// hbDone closes when they have.
	replica        string
	replicas       atomic.Int64
	hbStop, hbDone chan struct{}
	startedAt      time.Time
	graphJobs      atomic.Int64 // checks and syncs running here
	beatMu         sync.Mutex   // serializes observeReplicas
	share          shareCount   // under beatMu
	idle           atomic.Bool  // the last beat said this replica was idle

	orphans  orphanStore // River's driver executor (orphans.go)
	rescueMu sync.Mutex  // serializes rescueOrphans
}

// New checks cfg, migrates River's tables to the current version and
// builds the River client with the fleet's workers, those cfg.Workers
// registers and the periodic jobs, calling the steps of cfg.Plugins in
// order (see Plugin). It does not start working: call Start.
func New(ctx context.Context, cfg Config) (*Fleet, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg}
	workers := river.NewWorkers()
	if err := f.register(workers); err != nil {
		return nil, err
	}
	for i, reg := range cfg.Workers {
		if err := reg(workers); err != nil {
			return nil, fmt.Errorf("fleet: Workers[%d]: %w", i, err)
		}
	}
	periodic, offboard, err := f.addPlugins(workers)
	if err != nil {
		return nil, err
	}
	f.cfg.Offboard = append(append([]OffboardHook(nil), cfg.Offboard...), offboard...)
	rc := &river.Config{
		ID:                   cfg.ID,
		Logger:               cfg.Logger,
		Workers:              workers,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.MaxWorkers}},
		PeriodicJobs:         append(append(f.periodicJobs(), cfg.PeriodicJobs...), periodic...),
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		MaxAttempts:          cfg.MaxAttempts,
		// Finished jobs' rows name customers (and calls): keep them
		// JobRetention, failed ones included.
		CompletedJobRetentionPeriod: cfg.JobRetention,
		CancelledJobRetentionPeriod: cfg.JobRetention,
		DiscardedJobRetentionPeriod: cfg.JobRetention,
	}
	if cfg.Postgres != nil {
		drv := riverpgxv5.New(cfg.Postgres)
		if err := migrateUp[pgx.Tx](ctx, drv, cfg.Logger, cfg.NoMigrate); err != nil {
			return nil, err
		}
		if err := migrateReplicas(ctx, cfg.Postgres, cfg.NoMigrate); err != nil {
			return nil, err
		}
		c, err := river.NewClient(drv, rc)
		if err != nil {
			return nil, fmt.Errorf("fleet: river client: %w", err)
		}
		f.client, f.orphans = c, drv.GetExecutor()
		f.replica = c.ID()
		if err := f.usePluginInserter(ctx); err != nil {
			return nil, err
		}
		return f, nil
	}
	db, err := openSQLite(cfg.SQLitePath)
	if err != nil {
		return nil, err
	}
	drv := riversqlite.New(db)
	if err := migrateUp[*sql.Tx](ctx, drv, cfg.Logger, cfg.NoMigrate); err != nil {
		db.Close()
		return nil, err
	}
	// The SQLite driver has no LISTEN/NOTIFY: poll for new jobs.
	rc.PollOnly = true
	rc.FetchPollInterval = 250 * time.Millisecond
	c, err := river.NewClient(drv, rc)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("fleet: river client: %w", err)
	}
	f.client, f.sqlite, f.orphans = c, db, drv.GetExecutor()
	if err := f.usePluginInserter(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return f, nil
}

// openSQLite opens River's own pool on path: one connection, as the
// riversqlite driver needs, waiting on locks held by other pools of the
// same file.
func openSQLite(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", sqldb.SQLiteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("fleet: open SQLite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// migrateUp runs River's migrations (concurrent replicas are serialized
// by the migrator's own lock on PostgreSQL); with noMigrate it only checks
// that they were applied.
func migrateUp[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], log *slog.Logger, noMigrate bool) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("fleet: river migrations: %w", err)
	}
	if noMigrate {
		res, err := m.Validate(ctx, nil)
		if err != nil {
			return fmt.Errorf("fleet: checking river migrations: %w", err)
		}
		if !res.OK {
			return fmt.Errorf("fleet: River's tables are not current (%s): apply the migrations first (go run ./examples/server migrate, or fleet.Migrate)", strings.Join(res.Messages, "; "))
		}
		return nil
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("fleet: running river migrations: %w", err)
	}
	return nil
}

// Migrate applies River's migrations and, on PostgreSQL, the fleet's
// replica table to the database of cfg (Postgres or SQLitePath; the other
// fields are ignored), for a schema applied apart from the application
// (then New runs with Config.NoMigrate).
func Migrate(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	switch {
	case cfg.Postgres != nil && cfg.SQLitePath == "":
		if err := migrateUp[pgx.Tx](ctx, riverpgxv5.New(cfg.Postgres), log, false); err != nil {
			return err
		}
		return migrateReplicas(ctx, cfg.Postgres, false)
	case cfg.SQLitePath != "" && cfg.Postgres == nil:
		db, err := openSQLite(cfg.SQLitePath)
		if err != nil {
			return err
		}
		defer db.Close()
		return migrateUp[*sql.Tx](ctx, riversqlite.New(db), log, false)
	}
	return errors.New("fleet: Migrate needs exactly one of Postgres and SQLitePath")
}

// Start starts working jobs and, when this process is elected leader,
// enqueuing the periodic ones. ctx is the base of every job's context:
// when it ends, running jobs are cancelled.
func (f *Fleet) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return errors.New("fleet: Start after Stop")
	}
	if f.started {
		return nil
	}
	f.startedAt = time.Now()
	if f.cfg.Postgres != nil {
		// The share is right before the first job: one synchronous beat.
		f.observeReplicas(ctx)
		if b := f.cfg.Budget; b != nil && f.Replicas() > 1 {
			// The others learn of this replica at their next beat and
			// spend their old, larger shares until then: this one holds
			// its Graph requests for that long, so that together they
			// never exceed the app's budget.
			b.holdApp(f.cfg.ReplicaHeartbeat)
		}
	} else if f.cfg.Budget != nil {
		f.cfg.Budget.SetReplicas(1)
	}
	// Jobs left running by a process that is gone (this one before a
	// restart, on SQLite) are given back before any work starts here.
	if _, err := f.rescueOrphans(ctx, true); err != nil {
		f.cfg.Logger.WarnContext(ctx, "fleet: looking for orphaned jobs at start failed", "err", err.Error())
	}
	if err := f.client.Start(ctx); err != nil {
		return fmt.Errorf("fleet: start river: %w", err)
	}
	f.started = true
	if f.cfg.Postgres != nil {
		f.hbStop, f.hbDone = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(f.hbDone)
			f.heartbeats(context.WithoutCancel(ctx), f.hbStop)
		}()
	}
	if reg, err := f.observeQueue(); err != nil {
		f.cfg.Logger.WarnContext(ctx, "fleet: job queue metrics unavailable", "err", err.Error())
	} else {
		f.queueMetrics = reg
	}
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish, at
// most until ctx ends; then it cancels them and waits for them to return
// (a cancelled job is retried later, here or in another replica). Stop the
// fleet before closing the Store. It is safe to call more than once.
func (f *Fleet) Stop(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return nil
	}
	f.stopped = true
	if f.queueMetrics != nil {
		_ = f.queueMetrics.Unregister()
	}
	var err error
	if f.started {
		err = f.client.Stop(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopCancelGrace)
			err = f.client.StopAndCancel(cctx)
			cancel()
		}
		if f.hbStop != nil {
			close(f.hbStop)
			<-f.hbDone
		}
	}
	if f.sqlite != nil {
		if cerr := f.sqlite.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("fleet: stop: %w", err)
	}
	return nil
}

// Inserter returns the client's inserter, for other packages' job kinds.
func (f *Fleet) Inserter() Inserter { return f.client }
