package fleet

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/typednil"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/usersync"
)

// Access is what the jobs use of an *m365access.Manager, which satisfies
// it.
type Access interface {
	GetSettings(ctx context.Context, customer string) (m365access.Settings, error)
	Validate(ctx context.Context, customer string) (*m365access.Report, error)
	Status(ctx context.Context, customer string) (m365access.Status, error)
	// KeepAlive renews the customer's token connection when its last
	// refresh is older than after; it reports whether it did.
	KeepAlive(ctx context.Context, customer string, after time.Duration) (bool, error)
}

// UserCounter counts a customer's synced users; an *sqlsink.Sink satisfies
// it.
type UserCounter interface {
	Count(ctx context.Context, customer string) (int, error)
}

// Events is what the fleet reports lifecycle events to; an *events.Bus
// satisfies it.
type Events interface {
	Emit(ctx context.Context, e events.Event) error
	CheckExpiry(ctx context.Context, st m365access.Status, now time.Time) error
}

// RegisterFunc adds workers of other packages' job kinds to the one River
// client, for example with river.AddWorkerSafely.
type RegisterFunc func(w *river.Workers) error

// Config configures New. Exactly one of Postgres and SQLitePath is
// required, and Access and Store; every other zero value is a documented
// default.
type Config struct {
	// Postgres is the pool River uses on PostgreSQL (riverpgxv5). Several
	// replicas sharing one database share the jobs. Fleet does not close
	// it.
	Postgres *pgxpool.Pool
	// SQLitePath is the SQLite database file River uses (riversqlite),
	// for a single process. Fleet opens it with one connection and closes
	// it in Stop. It may be the file the tokenstore uses.
	SQLitePath string

	// Access is the m365access Manager.
	Access Access
	// Store keeps the fleet's records: the customer registry, each
	// customer's last check and sync, and the sync runs. Use the Store the
	// Manager uses.
	Store tokenstore.Store

	// Syncer runs user syncs: the fleet's syncs call its SyncCustomer
	// (with options for their progress), so they share its in-progress
	// guard with the host's own calls, and a fleet sync of a customer the
	// host is syncing waits for it. Filters nil means each customer's
	// saved userFilter. Nil disables sync jobs.
	Syncer *usersync.Syncer
	// Users counts the synced users for the run records; optional.
	Users UserCounter

	// Invitations revokes a customer's invitations when it is
	// offboarded; optional.
	Invitations Invitations

	// Events receives sync.succeeded and sync.failed when a sync run
	// ends, and checks the customer's credential expiry (secret.expiring,
	// secret.expired) after each health check; an *events.Bus. Nil emits
	// nothing.
	Events Events

	// Plugins are the packages that plug into the fleet (qoe, events,
	// voice): New calls their optional steps in order; see Plugin.
	Plugins []Plugin

	// Workers registers the workers of job kinds other packages define;
	// a lower-level hook than Plugins, for a function without a plugin.
	Workers []RegisterFunc
	// PeriodicJobs are added to the client's periodic jobs; River's
	// elected leader enqueues them. A lower-level hook than Plugins.
	PeriodicJobs []*river.PeriodicJob

	// CheckInterval is how often each customer gets a health check.
	// Default: 6 hours.
	CheckInterval time.Duration
	// SyncInterval gives a customer's user sync interval; nil or a
	// non-positive answer means DefaultSyncInterval. Each customer's
	// schedule is offset by a stable jitter of up to a tenth of it, so
	// that customers added together do not sync together.
	SyncInterval func(customer string) time.Duration
	// KeepAliveAfter is how old a token connection's last refresh may get
	// before the keep-alive renews it. Default: 7 days, far inside the
	// 90-day inactivity limit.
	KeepAliveAfter time.Duration
	// PlanInterval is how often the leader looks for due work. Default:
	// one minute.
	PlanInterval time.Duration

	// MaxWorkers bounds the jobs this process runs at once. Default: 20.
	MaxWorkers int
	// JobTimeout bounds one job. Default: 30 minutes.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before it is taken
	// for lost (its replica died) and retried elsewhere; it must exceed
	// JobTimeout. Default: JobTimeout plus 5 minutes.
	RescueAfter time.Duration
	// MaxAttempts bounds the attempts of one job (with River's
	// exponential backoff between them). Default: 5.
	MaxAttempts int
	// JobRetention is how long finished jobs (completed, cancelled,
	// discarded) are kept before River's cleaner deletes them: their
	// rows carry customer IDs and call IDs. Default: 24 hours.
	JobRetention time.Duration
	// TombstoneRetention is how long an offboarded customer's tombstone
	// (the offboarding report, which names the service account and the
	// app IDs the customer's admin must remove at Microsoft) is kept; an
	// hourly job deletes older ones. Default: 30 days.
	TombstoneRetention time.Duration
	// SyncHeartbeat is how often a running sync records its progress.
	// Default: 10 s.
	SyncHeartbeat time.Duration

	// ProviderAppID is the client ID of the provider's multi-tenant app
	// (m365access.ProviderConfig.ClientID), named in the offboarding
	// report's steps for the customer's admin; optional.
	ProviderAppID string

	// Offboard hooks run, in order, when a customer is offboarded: those
	// that report what they did (OffboardReporter) before the fleet's own
	// erasure steps, so that they can still reach Microsoft with the
	// customer's credentials, the others after them. Each must be
	// idempotent (the job may retry). The hooks of Plugins
	// (PluginOffboard) follow these. Packages that hold customer data
	// (QoE subscriptions and calls, for example) plug in as a Plugin.
	Offboard []OffboardHook

	// Budget, when set, is this process's Graph budget (the one under its
	// Graph transports): the fleet divides its per-app share by the live
	// replica count, so that replicas together stay under the app's limit
	// and one alone uses all of it. On SQLite there is one replica.
	Budget *Budget
	// ReplicaHeartbeat is how often a replica on PostgreSQL records that
	// it is alive and counts the others; one silent for three heartbeats
	// no longer counts. Default: 10 s.
	ReplicaHeartbeat time.Duration

	// NoMigrate makes New check that River's tables (and the replica
	// table) are current instead of migrating them; apply them apart with
	// Migrate (the portal's migrate command does).
	NoMigrate bool

	// ID names this process among replicas; default: River's.
	ID string
	// Logger receives the fleet's and River's logs. Default:
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultSyncInterval is a customer's user sync interval unless
// Config.SyncInterval says otherwise.
const DefaultSyncInterval = 24 * time.Hour

// DefaultTombstoneRetention is how long an offboarding tombstone is kept
// unless Config.TombstoneRetention says otherwise.
const DefaultTombstoneRetention = 30 * 24 * time.Hour

func (cfg Config) check() (Config, error) {
	var errs []error
	switch {
	case cfg.Postgres == nil && cfg.SQLitePath == "":
		errs = append(errs, errors.New("no database: set Postgres or SQLitePath"))
	case cfg.Postgres != nil && cfg.SQLitePath != "":
		errs = append(errs, errors.New("both Postgres and SQLitePath are set: choose one"))
	}
	if cfg.Access == nil {
		errs = append(errs, errors.New("no Access (the m365access Manager)"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("no Store"))
	}
	if cfg.Events != nil && typednil.Is(cfg.Events) {
		errs = append(errs, errors.New("events is a typed nil"))
	}
	if cfg.Invitations != nil && typednil.Is(cfg.Invitations) {
		errs = append(errs, errors.New("invitations is a typed nil"))
	}
	if cfg.Users != nil && typednil.Is(cfg.Users) {
		errs = append(errs, errors.New("users is a typed nil"))
	}
	for i, r := range cfg.Workers {
		if r == nil {
			errs = append(errs, fmt.Errorf("config: Workers[%d] is nil", i))
		}
	}
	errs = append(errs, checkPlugins(cfg.Plugins)...)
	for i, h := range cfg.Offboard {
		if h == nil {
			errs = append(errs, fmt.Errorf("config: Offboard[%d] is nil", i))
		}
	}
	if cfg.Syncer != nil && (cfg.Syncer.Source == nil || cfg.Syncer.Sink == nil) {
		errs = append(errs, errors.New("the Syncer needs a Source and a Sink"))
	}
	if cfg.RescueAfter > 0 && cfg.JobTimeout > 0 && cfg.RescueAfter <= cfg.JobTimeout {
		errs = append(errs, errors.New("the RescueAfter field must exceed JobTimeout, or a slow job is taken for lost while it runs"))
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("fleet: invalid config: %w", errors.Join(errs...))
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = 6 * time.Hour
	}
	if cfg.KeepAliveAfter <= 0 {
		cfg.KeepAliveAfter = 7 * 24 * time.Hour
	}
	if cfg.PlanInterval <= 0 {
		cfg.PlanInterval = time.Minute
	}
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = 20
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 30 * time.Minute
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = cfg.JobTimeout + 5*time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.JobRetention <= 0 {
		cfg.JobRetention = 24 * time.Hour
	}
	if cfg.TombstoneRetention <= 0 {
		cfg.TombstoneRetention = DefaultTombstoneRetention
	}
	if cfg.ReplicaHeartbeat <= 0 {
		cfg.ReplicaHeartbeat = 10 * time.Second
	}
	if cfg.SyncHeartbeat <= 0 {
		cfg.SyncHeartbeat = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}
