package qoe

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/typednil"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/m365access"
)

// Access is what the Service uses of an *m365access.Manager, which
// satisfies it.
type Access interface {
	GetSettings(ctx context.Context, customer string) (m365access.Settings, error)
	Endpoints(ctx context.Context, customer string) (m365access.CloudEndpoints, error)
	QoECredential(customer string) azcore.TokenCredential
}

// Config configures New. Access, Store and NotificationURL are required;
// every other zero value is a documented default.
type Config struct {
	// Access reads QoE settings and gets QoE app tokens.
	Access Access
	// Store keeps subscriptions and call data.
	Store *Store
	// HTTPClient's transport carries the Graph requests (Graph's
	// middleware pipeline without its retries runs on top: a 429 snoozes
	// the job instead of sleeping in it). Nil means http.DefaultClient.
	HTTPClient *http.Client
	// NotificationURL is the public URL of the receiver (Handler), for
	// example "https://portal.example.com/m365/qoe/notifications": https,
	// or http on loopback for tests and demos.
	NotificationURL string
	// LifecycleURL receives lifecycle notifications; empty means
	// NotificationURL (the receiver tells both apart).
	LifecycleURL string
	// Retention is how long calls are kept; zero means 90 days.
	Retention time.Duration
	// SubscriptionLifetime is the expiry asked for at creation and
	// renewal; zero means 4,200 minutes, 30 below Graph's limit.
	SubscriptionLifetime time.Duration
	// RenewBefore renews a subscription expiring within it; zero means
	// 48 hours, so a daily renewal pass has a day to spare.
	RenewBefore time.Duration
	// RenewInterval is how often the periodic renewal pass runs; zero
	// means an hour.
	RenewInterval time.Duration
	// Customers lists the customers that should have a subscription, for
	// the periodic renewal pass (those with QoE settings get one, the
	// others lose theirs). Nil means the customers that have one.
	Customers func(ctx context.Context) ([]string, error)
	// ThrottleFallback is the pause after a 429 without Retry-After; zero
	// means 10 s.
	ThrottleFallback time.Duration
	// Events receives qoe.subscription.failed when a customer's
	// subscription could not be created or renewed (once per failure
	// after a working state); an *events.Bus. Nil emits nothing.
	Events Emitter
	// Receiver bounds the work of the notification receiver (Handler);
	// the zero value is the documented defaults.
	Receiver ReceiverLimits
	// Logger receives the package's logs (no secrets, no tokens); nil
	// means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Emitter reports lifecycle events; an *events.Bus satisfies it.
type Emitter interface {
	Emit(ctx context.Context, e events.Event) error
}

// Service runs the QoE integration: subscriptions, the receiver, the
// jobs that fetch and classify call records, the PSTN pull, retention,
// and the queries behind the API. It is safe for concurrent use.
type Service struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger
	now  func() time.Time
	jobs atomic.Pointer[inserterBox]

	subsMu sync.Mutex
	subs   map[string]cachedSub // by subscription ID
	// misses are subscription IDs the Store did not know, until when
	// they are not asked again.
	misses map[string]time.Time
	// slots hold one token per POST the receiver works on.
	slots   chan struct{}
	clients *clientLimiter
	// custLocks serialize a customer's subscription changes.
	custLocks map[string]*sync.Mutex
	// checked is, by customer, the subscription Graph confirmed to this
	// process.
	checked map[string]string

	throttleMu sync.Mutex
	throttled  map[string]time.Time // customer -> not before

	stats counters
}

type inserterBox struct{ fleet.Inserter }

type cachedSub struct {
	customer string
	hash     string
	until    time.Time // read the row again from then on
}

type counters struct {
	accepted, rejected, lifecycle, stored, duplicates, throttled, limited, busy atomic.Int64
}

// Stats are the Service's counters since it started.
type Stats struct {
	// Accepted notifications were queued; Rejected ones had an unknown
	// subscription or a wrong clientState and were dropped.
	Accepted, Rejected int64
	// Lifecycle notifications were queued.
	Lifecycle int64
	// Stored call records were new or newer versions; Duplicates were
	// fetched again at a version already stored and dropped.
	Stored, Duplicates int64
	// Throttled counts the 429 answers that snoozed a job.
	Throttled int64
	// Limited counts the POSTs the receiver answered 429 (a client over
	// ReceiverLimits.PerClient); Busy those it answered 503 because
	// ReceiverLimits.MaxConcurrent POSTs were being worked on.
	Limited, Busy int64
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	c := &s.stats
	return Stats{Accepted: c.accepted.Load(), Rejected: c.rejected.Load(), Lifecycle: c.lifecycle.Load(),
		Stored: c.stored.Load(), Duplicates: c.duplicates.Load(), Throttled: c.throttled.Load(),
		Limited: c.limited.Load(), Busy: c.busy.Load()}
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Access == nil {
		errs = append(errs, errors.New("no Access (the m365access Manager)"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("no Store"))
	}
	if cfg.Events != nil && typednil.Is(cfg.Events) {
		errs = append(errs, errors.New("events is a typed nil"))
	}
	if err := checkURL(cfg.NotificationURL); err != nil {
		errs = append(errs, fmt.Errorf("NotificationURL: %w", err))
	}
	if cfg.LifecycleURL != "" {
		if err := checkURL(cfg.LifecycleURL); err != nil {
			errs = append(errs, fmt.Errorf("LifecycleURL: %w", err))
		}
	}
	if cfg.SubscriptionLifetime > 4230*time.Minute {
		errs = append(errs, errors.New("SubscriptionLifetime is above Graph's 4,230 minutes"))
	}
	if cfg.Retention < 0 || cfg.RenewBefore < 0 || cfg.SubscriptionLifetime < 0 {
		errs = append(errs, errors.New("negative durations"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("qoe: invalid config: %w", errors.Join(errs...))
	}
	if cfg.LifecycleURL == "" {
		cfg.LifecycleURL = cfg.NotificationURL
	}
	if cfg.Retention == 0 {
		cfg.Retention = 90 * 24 * time.Hour
	}
	if cfg.SubscriptionLifetime == 0 {
		cfg.SubscriptionLifetime = 4200 * time.Minute
	}
	if cfg.RenewBefore == 0 {
		cfg.RenewBefore = 48 * time.Hour
	}
	if cfg.RenewBefore >= cfg.SubscriptionLifetime {
		cfg.RenewBefore = cfg.SubscriptionLifetime / 2
	}
	if cfg.RenewInterval <= 0 {
		cfg.RenewInterval = time.Hour
	}
	if cfg.ThrottleFallback <= 0 {
		cfg.ThrottleFallback = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	gc, err := graphhttp.NewClient(graphhttp.Options{Transport: hc.Transport, NoRetry: true, Timeout: 60 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("qoe: %w", err)
	}
	cfg.Receiver = cfg.Receiver.withDefaults()
	s := &Service{cfg: cfg, http: gc, log: cfg.Logger, now: cfg.Now, subs: map[string]cachedSub{}, misses: map[string]time.Time{},
		slots: make(chan struct{}, cfg.Receiver.MaxConcurrent), clients: newClientLimiter(cfg.Receiver.PerClient, cfg.Now),
		custLocks: map[string]*sync.Mutex{}, checked: map[string]string{}, throttled: map[string]time.Time{}}
	return s, nil
}

// The Service is a fleet plugin: put it in fleet.Config.Plugins.
var (
	_ fleet.PluginWorkers      = (*Service)(nil)
	_ fleet.PluginPeriodicJobs = (*Service)(nil)
	_ fleet.PluginOffboard     = (*Service)(nil)
	_ fleet.PluginInserter     = (*Service)(nil)
)

// PluginName names the Service among the fleet's plugins.
func (s *Service) PluginName() string { return "qoe" }

// OffboardHooks returns the Service itself: offboarding a customer
// deletes its subscription at Microsoft and its calls (OffboardItems).
func (s *Service) OffboardHooks() []fleet.OffboardHook { return []fleet.OffboardHook{s} }

// Unfence lifts the fence offboarding put on the customer's call data
// (fleet.Unfencer): it was created again.
func (s *Service) Unfence(ctx context.Context, customer string) error {
	return s.cfg.Store.Unfence(ctx, customer)
}

// UseInserter sets the job inserter, the River client built after
// AddWorkers registered the workers (a fleet gives it its client). Until
// then the receiver answers 503, so Graph retries. It may be called once
// more to replace it.
func (s *Service) UseInserter(_ context.Context, ins fleet.Inserter) error {
	if ins == nil {
		return errors.New("qoe: UseInserter needs a non-nil Inserter")
	}
	s.jobs.Store(&inserterBox{ins})
	return nil
}

// errNoInserter is returned while no inserter is set.
var errNoInserter = errors.New("qoe: no job inserter yet (UseInserter, or the Service in fleet.Config.Plugins)")

func (s *Service) insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	b := s.jobs.Load()
	if b == nil {
		return nil, errNoInserter
	}
	return b.Insert(ctx, args, opts)
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return errors.New("must be an absolute https URL")
	}
	if u.Scheme == "https" {
		return nil
	}
	h := u.Hostname()
	if u.Scheme == "http" && (h == "localhost" || h == "127.0.0.1" || h == "::1") {
		return nil
	}
	return errors.New("must be https (http only on loopback)")
}

// throttledFor returns how long customer must still wait.
func (s *Service) throttledFor(customer string) time.Duration {
	s.throttleMu.Lock()
	defer s.throttleMu.Unlock()
	until, ok := s.throttled[customer]
	if !ok {
		return 0
	}
	d := until.Sub(s.now())
	if d <= 0 {
		delete(s.throttled, customer)
		return 0
	}
	return d
}

// Offboard deletes customer's subscription at Microsoft (when its QoE app
// still gets a token) and every call, stream, aggregate and subscription
// record stored for it. It is idempotent. Run it before the customer's
// QoE settings are erased: the deletion at Microsoft needs them.
func (s *Service) Offboard(ctx context.Context, customer string) error {
	_, err := s.OffboardItems(ctx, customer)
	return err
}

// OffboardItems is Offboard, saying what it did (fleet.OffboardReporter):
// whether the subscription was deleted at Microsoft, or could not be and
// expires by itself, and that the call data is deleted. A retry after the
// subscription was removed reports no subscription item, so the fleet
// keeps what the first attempt reported.
func (s *Service) OffboardItems(ctx context.Context, customer string) ([]fleet.OffboardItem, error) {
	unlock := s.lockCustomer(customer)
	defer unlock()
	var items []fleet.OffboardItem
	sub, err := s.removeSubscriptionOutcome(ctx, customer)
	if err != nil {
		return nil, fmt.Errorf("qoe: delete the subscription record of customer %q: %w", customer, err)
	}
	switch {
	case !sub.found:
	case sub.row.ID == "":
		items = append(items, fleet.OffboardItem{Item: "qoeSubscription", Result: fleet.OffboardNothing,
			Detail: "no call records subscription was created at Microsoft"})
	case sub.atMicrosoft == nil:
		items = append(items, fleet.OffboardItem{Item: "qoeSubscription", Result: fleet.OffboardDeleted,
			Detail: "the call records subscription " + sub.row.ID + " is deleted at Microsoft (Graph DELETE /subscriptions); no notification is sent any more"})
	default:
		exp := sub.row.ExpiresAt.UTC().Format(time.RFC3339)
		items = append(items, fleet.OffboardItem{Item: "qoeSubscription", Result: fleet.OffboardNotDone,
			Detail: "the call records subscription " + sub.row.ID + " could not be deleted at Microsoft (the QoE app got no token or Graph refused); it expires by itself at " + exp + " and tenantgate refuses its notifications until then",
			Action: "nothing is required; to stop the notifications before " + exp + ", the customer's admin deletes the client secret of the call records app " + sub.row.AppID + " (Microsoft Entra admin center: Identity > Applications > App registrations > All applications, that application ID, Certificates & secrets)"})
	}
	if err := s.cfg.Store.DeleteCustomer(ctx, customer); err != nil {
		return items, fmt.Errorf("qoe: delete the call data of customer %q: %w", customer, err)
	}
	s.forgetCustomer(customer)
	items = append(items, fleet.OffboardItem{Item: "callData", Result: fleet.OffboardDeleted,
		Detail: "every call record, stream, PSTN aggregate and subscription record is deleted"})
	return items, nil
}

func (s *Service) forgetCustomer(customer string) {
	s.subsMu.Lock()
	for id, c := range s.subs {
		if c.customer == customer {
			delete(s.subs, id)
		}
	}
	delete(s.checked, customer)
	s.subsMu.Unlock()
}

// Summary returns customer's call quality summary over the UTC days from
// through to.
func (s *Service) Summary(ctx context.Context, customer string, from, to time.Time) (Summary, error) {
	return s.cfg.Store.Summary(ctx, customer, from, to)
}

// Calls lists customer's calls.
func (s *Service) Calls(ctx context.Context, customer string, q CallQuery) (CallPage, error) {
	return s.cfg.Store.Calls(ctx, customer, q)
}

// PSTN returns customer's PSTN aggregates over the UTC days from through
// to.
func (s *Service) PSTN(ctx context.Context, customer string, from, to time.Time) (PSTNReport, error) {
	return s.cfg.Store.PSTN(ctx, customer, from, to)
}

// throttle records that customer may not call Graph before until.
func (s *Service) throttle(customer string, d time.Duration) {
	until := s.now().Add(d)
	s.throttleMu.Lock()
	if until.After(s.throttled[customer]) {
		s.throttled[customer] = until
	}
	s.throttleMu.Unlock()
}
