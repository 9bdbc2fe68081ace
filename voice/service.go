package voice

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/typednil"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync"
)

// Access is what the Service uses of an *m365access.Manager, which
// satisfies it.
type Access interface {
	GetSettings(ctx context.Context, customer string) (m365access.Settings, error)
	Endpoints(ctx context.Context, customer string) (m365access.CloudEndpoints, error)
	Credential(customer string) azcore.TokenCredential
}

// Emitter reports lifecycle events; an *events.Bus satisfies it.
type Emitter interface {
	Emit(ctx context.Context, e events.Event) error
}

// Auditor records who did what; an *audit.Log satisfies it.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Config configures New. Access and Store are required; every other zero
// value is a documented default.
type Config struct {
	// Access reads the customer's settings and gets Graph tokens.
	Access Access
	// Store keeps inventories, ranges, holds and operations.
	Store *Store
	// HTTPClient's transport carries the Graph requests, under Graph's
	// middleware pipeline; put the fleet's Budget under it (or call
	// UseBudget). Nil means http.DefaultClient.
	HTTPClient *http.Client
	// Events receives voice.assigned, voice.released, voice.failed,
	// voice.range.low and voice.range.exhausted; nil emits nothing.
	Events Emitter
	// Audit records every step of every operation with its actor; nil
	// records nothing.
	Audit Auditor
	// Customers lists the customers whose inventory the periodic refresh
	// reads; nil means those with ranges or numbers stored.
	Customers func(ctx context.Context) ([]string, error)
	// RefreshInterval is how often every inventory is read again; zero
	// means 6 hours.
	RefreshInterval time.Duration
	// PollInterval is the first wait before following a number operation
	// (Retry-After wins when Microsoft sends one); each further wait
	// doubles, up to PollMaxInterval. Zero means 3 s, about how long Microsoft takes.
	PollInterval time.Duration
	// PollMaxInterval caps one wait; zero means 30 s.
	PollMaxInterval time.Duration
	// PollTimeout bounds how long one number operation is followed
	// before its step fails; zero means 10 minutes.
	PollTimeout time.Duration
	// ReservationTTL is how long "next" holds a number for an operation
	// that never finishes (a finished one drops it); zero means 24 hours.
	ReservationTTL time.Duration
	// PolicyCacheTTL is how long policy IDs (getPolicyId) are kept per
	// tenant; zero means an hour.
	PolicyCacheTTL time.Duration
	// MaxAttempts bounds a job's attempts after transient failures
	// (throttling, Graph 5xx); zero means 8.
	MaxAttempts int
	// Users reads the users a profile's plan selects, with the user
	// sync's filter pushdown; nil means a usersync.GraphSource over
	// HTTPClient's transport (and the fleet's Budget).
	Users usersync.Source
	// PlanTTL is how long a plan keeps; zero means 24 hours.
	PlanTTL time.Duration
	// PlanFreshness is how old a plan's read of Microsoft may be when it
	// is applied before it is read again; zero means 15 minutes.
	PlanFreshness time.Duration
	// ApplyLanes bounds the jobs one apply runs at once (each a share of
	// its users), so one customer's big plan holds only that many of the
	// fleet's job slots; zero means 2.
	ApplyLanes int
	// ApplyConcurrency is how many users one lane works at once; zero
	// means 16.
	ApplyConcurrency int
	// RangeLowPercent and RangeLowFree say when a range is running low
	// (voice.range.low, once per crossing): when its free numbers are at
	// most the larger of RangeLowPercent percent of the range's numbers
	// the tenant holds and RangeLowFree. Zero means 10 percent and 5
	// numbers; a negative value leaves that part out (both negative: only
	// an exhausted range is reported).
	RangeLowPercent int
	RangeLowFree    int
	// Logger receives the package's logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service provisions Teams Phone for the customers: inventory, ranges,
// setting and releasing users' voice as durable operations, readiness.
// It is safe for concurrent use.
type Service struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	http atomic.Pointer[http.Client]
	jobs atomic.Pointer[inserterBox]

	mu       sync.Mutex
	policies map[string]policyEntry // customer \x00 type \x00 lower(name)
	sources  map[string]usersync.Source
	// rangeChecks is when each customer's range levels were last
	// checked by checkRangeLevelsSoon.
	rangeChecks map[string]time.Time
	parent      atomic.Pointer[http.RoundTripper] // under Graph's pipeline

	stats struct{ requests, writes, polls atomic.Int64 }
}

type inserterBox struct{ fleet.Inserter }

type policyEntry struct {
	id      string
	expires time.Time
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
	if cfg.Audit != nil && typednil.Is(cfg.Audit) {
		errs = append(errs, errors.New("audit is a typed nil"))
	}
	if cfg.PollInterval < 0 || cfg.PollMaxInterval < 0 || cfg.PollTimeout < 0 || cfg.ReservationTTL < 0 || cfg.RefreshInterval < 0 {
		errs = append(errs, errors.New("negative durations"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("voice: invalid config: %w", errors.Join(errs...))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.RefreshInterval, 6*time.Hour)
	def(&cfg.PollInterval, 3*time.Second)
	def(&cfg.PollMaxInterval, 30*time.Second)
	def(&cfg.PollTimeout, 10*time.Minute)
	def(&cfg.ReservationTTL, 24*time.Hour)
	def(&cfg.PolicyCacheTTL, time.Hour)
	def(&cfg.PlanTTL, 24*time.Hour)
	def(&cfg.PlanFreshness, 15*time.Minute)
	if cfg.RangeLowPercent == 0 {
		cfg.RangeLowPercent = 10
	}
	if cfg.RangeLowFree == 0 {
		cfg.RangeLowFree = 5
	}
	if cfg.ApplyLanes <= 0 {
		cfg.ApplyLanes = 2
	}
	if cfg.ApplyConcurrency <= 0 {
		cfg.ApplyConcurrency = 16
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, log: cfg.Logger, now: cfg.Now, policies: map[string]policyEntry{}}
	var base http.RoundTripper
	if cfg.HTTPClient != nil {
		base = cfg.HTTPClient.Transport
	}
	if err := s.setTransport(base); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) setTransport(t http.RoundTripper) error {
	gc, err := graphhttp.NewClient(graphhttp.Options{Transport: t, Timeout: 60 * time.Second})
	if err != nil {
		return fmt.Errorf("voice: %w", err)
	}
	s.http.Store(gc)
	if t == nil {
		t = http.DefaultTransport
	}
	s.parent.Store(&t)
	s.mu.Lock()
	s.sources = nil // built again over the new transport
	s.mu.Unlock()
	return nil
}

// parentTransport is the transport under Graph's pipeline (the Budget's,
// once UseBudget ran).
func (s *Service) parentTransport() http.RoundTripper {
	if t := s.parent.Load(); t != nil {
		return *t
	}
	return http.DefaultTransport
}

// Stats are the Service's counters since it started.
type Stats struct {
	// GraphRequests counts the requests sent to Graph (retries inside the
	// pipeline count once); Writes those that change something (POSTs);
	// Polls those that followed a number operation.
	GraphRequests, Writes, Polls int64
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{GraphRequests: s.stats.requests.Load(), Writes: s.stats.writes.Load(), Polls: s.stats.polls.Load()}
}

var errNoInserter = errors.New("voice: no job inserter yet: plug the Service into the fleet (fleet.Config.Plugins) or call UseInserter")

// The fleet plugin steps the Service implements.
var (
	_ fleet.PluginWorkers      = (*Service)(nil)
	_ fleet.PluginPeriodicJobs = (*Service)(nil)
	_ fleet.PluginOffboard     = (*Service)(nil)
	_ fleet.PluginBudget       = (*Service)(nil)
	_ fleet.PluginInserter     = (*Service)(nil)
)

func (s *Service) insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	b := s.jobs.Load()
	if b == nil {
		return nil, errNoInserter
	}
	return b.Insert(ctx, args, opts)
}

// Ranges returns customer's ranges.
func (s *Service) Ranges(ctx context.Context, customer string) ([]Range, error) {
	return s.cfg.Store.ranges(ctx, customer)
}

// RangeStats returns customer's ranges with the count of free, assigned,
// reserved and quarantined numbers in each.
func (s *Service) RangeStats(ctx context.Context, customer string) ([]RangeStats, error) {
	return s.cfg.Store.rangeStats(ctx, customer, s.now())
}

// PutRanges replaces customer's ranges. Bad or overlapping ranges are
// refused with every problem (each a *FieldError) and nothing changes.
func (s *Service) PutRanges(ctx context.Context, customer string, rs []Range) ([]Range, error) {
	checked, err := checkRanges(rs)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.putRanges(ctx, customer, checked); err != nil {
		return nil, fmt.Errorf("voice: store the ranges of customer %q: %w", customer, err)
	}
	return checked, nil
}

// Numbers lists customer's inventory as last read from Microsoft.
func (s *Service) Numbers(ctx context.Context, customer string, q NumberQuery) (NumberPage, error) {
	if q.Type != "" && !q.Type.Valid() {
		return NumberPage{}, refuse(CodeInvalid, "type", "must be directRouting, callingPlan or operatorConnect")
	}
	return s.cfg.Store.numbers(ctx, customer, q, s.now())
}

// Refresh reads customer's whole number inventory from Microsoft (pages
// of 1,000) and replaces the stored one; it returns how many numbers the
// tenant holds.
func (s *Service) Refresh(ctx context.Context, customer string) (int, error) {
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return 0, err
	}
	at := s.now()
	var rows []numberRow
	if err := g.listNumbers(ctx, "", func(p []graphNumber) error {
		for _, n := range p {
			rows = append(rows, rowOf(n))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	if err := s.cfg.Store.replaceNumbers(ctx, customer, rows, at); err != nil {
		return 0, fmt.Errorf("voice: store the inventory of customer %q: %w", customer, err)
	}
	s.checkRangeLevels(ctx, customer)
	return len(rows), nil
}

// RequestRefresh queues a Refresh of customer's inventory as a job.
func (s *Service) RequestRefresh(ctx context.Context, customer string) error {
	_, err := s.insert(ctx, RefreshArgs{Customer: customer}, nil)
	return err
}

// policyID returns the ID of the policy of type t named name, from the
// tenant's cache or getPolicyId.
func (s *Service) policyID(ctx context.Context, g *graph, t, name string) (string, bool, error) {
	key := g.customer + "\x00" + t + "\x00" + strings.ToLower(name)
	s.mu.Lock()
	e, ok := s.policies[key]
	s.mu.Unlock()
	if ok && s.now().Before(e.expires) {
		return e.id, true, nil
	}
	id, ok, err := g.policyID(ctx, t, name)
	if err != nil || !ok {
		return "", ok, err
	}
	s.mu.Lock()
	s.policies[key] = policyEntry{id: id, expires: s.now().Add(s.cfg.PolicyCacheTTL)}
	s.mu.Unlock()
	return id, true, nil
}

// Operation returns one of customer's operations.
func (s *Service) Operation(ctx context.Context, customer, id string) (*Operation, error) {
	op, _, err := s.cfg.Store.operation(ctx, customer, id)
	return op, err
}

// Operations lists customer's operations, newest first.
func (s *Service) Operations(ctx context.Context, customer string, q OperationQuery) (OperationPage, error) {
	return s.cfg.Store.operations(ctx, customer, q)
}

// Cancel cancels a queued or running operation: its steps not yet
// started never run. A number operation already submitted to Microsoft
// runs to its end there; the next inventory refresh shows it.
func (s *Service) Cancel(ctx context.Context, customer, id, actor string) (*Operation, error) {
	ok, err := s.cfg.Store.cancelOperation(ctx, customer, id, s.now())
	if err != nil {
		return nil, err
	}
	op, p, err := s.cfg.Store.operation(ctx, customer, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return op, &Error{Code: CodeOperationFinished, Detail: "the operation is " + string(op.State)}
	}
	if p.Reserved && p.Number != "" {
		_ = s.cfg.Store.unhold(ctx, customer, p.Number, op.ID)
	}
	s.audit(ctx, op, actor, "voice.cancel", audit.Succeeded, "operation "+op.ID+" cancelled")
	return op, nil
}

// Unfence lifts the fence offboarding put on the customer's voice data
// (fleet.Unfencer): it was created again.
func (s *Service) Unfence(ctx context.Context, customer string) error {
	return s.cfg.Store.Unfence(ctx, customer)
}

// Offboard erases customer's inventory, ranges, holds and operations. It
// changes nothing at Microsoft.
func (s *Service) Offboard(ctx context.Context, customer string) error {
	s.mu.Lock()
	for k := range s.policies {
		if strings.HasPrefix(k, customer+"\x00") {
			delete(s.policies, k)
		}
	}
	s.mu.Unlock()
	return s.cfg.Store.DeleteCustomer(ctx, customer)
}

func (s *Service) audit(ctx context.Context, op *Operation, actor, action string, outcome audit.Outcome, detail string) {
	if s.cfg.Audit == nil {
		return
	}
	if actor == "" {
		actor = "tenantgate"
	}
	if err := s.cfg.Audit.Append(ctx, audit.Entry{Actor: actor, Action: action, Customer: op.Customer, Outcome: outcome, Detail: detail}); err != nil {
		s.log.WarnContext(ctx, "voice: audit entry not written", "customer", op.Customer, "operation", op.ID, "err", err)
	}
}
