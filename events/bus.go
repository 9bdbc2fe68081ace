package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/migrate"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Emitter is what code that reports events needs; a *Bus satisfies it.
type Emitter interface {
	Emit(ctx context.Context, e Event) error
}

// Inserter enqueues River jobs; a *river.Client satisfies it. It is the
// same type as fleet.Inserter (both alias one interface literal), so a Bus
// is a fleet plugin without this package importing fleet.
type Inserter = interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Options configures a Bus. DB and Dialect are required; every other
// zero value is a documented default.
type Options struct {
	// DB is the database events and deliveries are recorded in, normally
	// the tokenstore's; New creates its tables. Close does not close it.
	DB *sql.DB
	// Dialect is DB's dialect.
	Dialect Dialect
	// Endpoints receive every event as a signed webhook. Empty means
	// in-process subscribers only.
	Endpoints []Endpoint
	// Inserter enqueues delivery jobs; see UseInserter when the River
	// client is created after the Bus (as the fleet's is).
	Inserter Inserter
	// AllowLoopbackHTTP accepts http:// endpoint URLs to loopback
	// addresses (demos, tests). Otherwise endpoints must be https.
	AllowLoopbackHTTP bool
	// HTTPClient sends deliveries. Nil means a client with a 15 s
	// timeout that does not follow redirects.
	HTTPClient *http.Client
	// MaxAttempts bounds a delivery's attempts. Default: 12 (about two
	// days with Backoff's default).
	MaxAttempts int
	// Backoff is the wait after failed attempt n (1-based). Default:
	// DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Logger receives the package's logs (no secrets, no URLs). Default:
	// slog.Default().
	Logger *slog.Logger
	// NoMigrate makes New check that the tables are current instead of
	// migrating them (see package migrate).
	NoMigrate bool
}

// Bus records events, calls subscribers and enqueues webhook deliveries.
// It is safe for concurrent use.
type Bus struct {
	st        *store
	endpoints map[string]endpoint
	names     []string
	http      *http.Client
	maxTries  int
	backoff   func(int) time.Duration
	log       *slog.Logger
	metrics   *metrics

	mu       sync.RWMutex
	inserter Inserter
	subs     map[int]func(context.Context, Event)
	nextSub  int
}

// New checks opts, creates the tables and returns a Bus.
func New(ctx context.Context, opts Options) (*Bus, error) {
	var errs []error
	if opts.DB == nil {
		errs = append(errs, errNoDB)
	}
	if !opts.Dialect.Valid() {
		errs = append(errs, fmt.Errorf("events: unknown Options.Dialect %v", opts.Dialect))
	}
	b := &Bus{endpoints: map[string]endpoint{}, http: opts.HTTPClient, maxTries: opts.MaxAttempts,
		backoff: opts.Backoff, log: opts.Logger, inserter: opts.Inserter, subs: map[int]func(context.Context, Event){}}
	for _, e := range opts.Endpoints {
		ep, err := checkEndpoint(e, opts.AllowLoopbackHTTP)
		if err != nil {
			errs = append(errs, fmt.Errorf("events: %w", err))
			continue
		}
		if _, dup := b.endpoints[ep.name]; dup {
			errs = append(errs, fmt.Errorf("events: two webhook endpoints are named %q", ep.name))
			continue
		}
		b.endpoints[ep.name] = ep
		b.names = append(b.names, ep.name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if b.http == nil {
		b.http = &http.Client{Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if b.maxTries <= 0 {
		b.maxTries = 12
	}
	if b.backoff == nil {
		b.backoff = DefaultBackoff
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if err := migrate.Apply(ctx, opts.DB, opts.Dialect, opts.NoMigrate, Migrations()); err != nil {
		return nil, fmt.Errorf("events: migrate %s schema: %w", opts.Dialect, err)
	}
	b.st = &store{db: opts.DB, d: opts.Dialect}
	b.metrics = newMetrics()
	return b, nil
}

// DefaultBackoff waits 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h between
// attempts, as Standard Webhooks senders commonly do.
func DefaultBackoff(attempt int) time.Duration {
	steps := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour}
	if attempt >= 1 && attempt <= len(steps) {
		return steps[attempt-1]
	}
	return 10 * time.Hour
}

// PluginName names the Bus among the fleet's plugins.
func (b *Bus) PluginName() string { return "events" }

// UseInserter sets the job runner that deliveries are enqueued on, for a
// River client created after the Bus (its Workers need AddWorkers first),
// and enqueues the deliveries recorded while there was none. A Bus in
// fleet.Config.Plugins is given the fleet's client this way. A failure to
// enqueue the recorded deliveries is logged, not returned: they stay
// recorded and the next Flush (or start) enqueues them.
func (b *Bus) UseInserter(ctx context.Context, ins Inserter) error {
	if ins == nil {
		return errors.New("events: UseInserter needs a non-nil Inserter")
	}
	b.mu.Lock()
	b.inserter = ins
	b.mu.Unlock()
	if err := b.Flush(ctx); err != nil {
		b.log.WarnContext(ctx, "events: webhook deliveries recorded before this start could not be queued yet; the next start or Flush queues them", "err", err.Error())
	}
	return nil
}

// Subscribe calls fn, synchronously, for every event this process emits
// (not for those another replica emits). fn must return quickly. The
// returned func unsubscribes.
func (b *Bus) Subscribe(fn func(context.Context, Event)) (unsubscribe func()) {
	b.mu.Lock()
	id := b.nextSub
	b.nextSub++
	b.subs[id] = fn
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

// Emit records e, calls the subscribers and enqueues its webhook
// deliveries. An event whose Key the customer already has is dropped
// (nil error). e.Data.Customer and a valid e.Type are required; e.ID and
// e.Time are set when empty. Data.Error is scrubbed. A failure to
// enqueue a delivery is logged and left for Flush: the event stays
// recorded.
func (b *Bus) Emit(ctx context.Context, e Event) error {
	if !e.Type.Valid() {
		return fmt.Errorf("events: unknown event type %q", e.Type)
	}
	if e.Data.Customer == "" {
		return errors.New("events: an event needs Data.Customer")
	}
	if e.ID == "" {
		e.ID = NewID()
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.Key == "" {
		e.Key = e.ID
	}
	e.Data.Error = Scrub(e.Data.Error)
	body, err := e.Payload()
	if err != nil {
		return fmt.Errorf("events: encode %s: %w", e.Type, err)
	}
	ctx = context.WithoutCancel(ctx)
	fresh, err := b.st.insertEvent(ctx, e, body, b.names)
	if err != nil {
		return fence.Wrap(fmt.Errorf("events: record %s of customer %q: %w", e.Type, e.Data.Customer, err), "events: record "+string(e.Type)+" of customer "+strconv.Quote(e.Data.Customer))
	}
	if !fresh {
		b.log.DebugContext(ctx, "events: duplicate dropped", "type", string(e.Type), "customer", e.Data.Customer)
		return nil
	}
	b.metrics.emitted(ctx, e.Type)
	b.log.InfoContext(ctx, "events: "+string(e.Type), "customer", e.Data.Customer, "id", e.ID, "action", e.Data.Action)
	b.mu.RLock()
	subs := make([]func(context.Context, Event), 0, len(b.subs))
	for _, id := range sortedKeys(b.subs) {
		subs = append(subs, b.subs[id])
	}
	ins := b.inserter
	b.mu.RUnlock()
	for _, fn := range subs {
		fn(ctx, e)
	}
	if ins == nil {
		return nil
	}
	for _, name := range b.names {
		b.enqueue(ctx, ins, pendingDelivery{EventID: e.ID, Endpoint: name, Customer: e.Data.Customer, Type: string(e.Type), Body: string(body)})
	}
	return nil
}

// Flush enqueues deliveries recorded but not yet enqueued (no job runner
// at the time, or enqueuing failed). Jobs are unique per event and
// endpoint, so replicas flushing together enqueue each once.
func (b *Bus) Flush(ctx context.Context) error {
	b.mu.RLock()
	ins := b.inserter
	b.mu.RUnlock()
	if ins == nil || len(b.names) == 0 {
		return nil
	}
	for {
		ps, err := b.st.pending(ctx, 100)
		if err != nil {
			return fmt.Errorf("events: pending deliveries: %w", err)
		}
		if len(ps) == 0 {
			return nil
		}
		for _, p := range ps {
			if err := b.enqueue(ctx, ins, p); err != nil {
				return err
			}
		}
	}
}

func (b *Bus) enqueue(ctx context.Context, ins Inserter, p pendingDelivery) error {
	args := DeliverArgs{EventID: p.EventID, Endpoint: p.Endpoint, Customer: p.Customer, Type: Type(p.Type), Body: p.Body, Replay: p.Replay}
	_, err := ins.Insert(ctx, args, &river.InsertOpts{MaxAttempts: b.maxTries, UniqueOpts: river.UniqueOpts{ByArgs: true}})
	if err != nil {
		b.log.WarnContext(ctx, "events: enqueuing a webhook delivery failed; Flush retries it",
			"customer", p.Customer, "event", p.EventID, "endpoint", p.Endpoint, "err", err.Error())
		return fmt.Errorf("events: enqueue delivery of %s: %w", p.EventID, err)
	}
	if err := b.st.setDelivery(ctx, p.EventID, p.Endpoint, DeliveryQueued, 0, 0, ""); err != nil {
		return fmt.Errorf("events: delivery log: %w", err)
	}
	return nil
}

// Recent returns the latest events, newest first: the first page of
// ListEvents.
func (b *Bus) Recent(ctx context.Context, q Query) ([]Event, error) {
	p, err := b.ListEvents(ctx, q)
	return p.Events, err
}

// ListEvents returns a page of events, newest first; ErrBadCursor for a
// Query.After it did not issue for the same filters.
func (b *Bus) ListEvents(ctx context.Context, q Query) (EventPage, error) {
	p, err := b.st.events(ctx, q)
	if errors.Is(err, ErrBadCursor) {
		return EventPage{}, err
	}
	if err != nil {
		return EventPage{}, fmt.Errorf("events: list events: %w", err)
	}
	return p, nil
}

// Deliveries returns the delivery log, newest first: the first page of
// ListDeliveries.
func (b *Bus) Deliveries(ctx context.Context, q Query) ([]Delivery, error) {
	p, err := b.ListDeliveries(ctx, q)
	return p.Deliveries, err
}

// ListDeliveries returns a page of the delivery log, newest first;
// ErrBadCursor for a Query.After it did not issue for the same filters.
func (b *Bus) ListDeliveries(ctx context.Context, q Query) (DeliveryPage, error) {
	p, err := b.st.deliveries(ctx, q)
	if errors.Is(err, ErrBadCursor) {
		return DeliveryPage{}, err
	}
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("events: list deliveries: %w", err)
	}
	return p, nil
}

// Endpoints returns the names of the configured webhook endpoints.
func (b *Bus) Endpoints() []string { return slices.Clone(b.names) }

func sortedKeys(m map[int]func(context.Context, Event)) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
