package usersync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"

	"github.com/tenantgate/tenantgate/internal/telemetry"
	"github.com/tenantgate/tenantgate/m365access"
)

// FilterSource gives a customer's user filter text (Get-CsOnlineUser
// syntax); an *m365access.Manager satisfies it with the filter saved in
// the customer's settings. An empty filter selects every user.
type FilterSource interface {
	UserFilter(ctx context.Context, customer string) (string, error)
}

// FilterFunc adapts a function to FilterSource.
type FilterFunc func(ctx context.Context, customer string) (string, error)

// UserFilter calls f.
func (f FilterFunc) UserFilter(ctx context.Context, customer string) (string, error) {
	return f(ctx, customer)
}

// DefaultConcurrency is how many customers a Syncer syncs at once when
// Syncer.Concurrency is unset.
const DefaultConcurrency = 8

// Syncer syncs the users of many customers at once from a Source into a
// Sink. Customers run concurrently (at most Concurrency at a time), the
// pages of one customer sequentially. A failing customer never stops the
// others: each gets its own Result. Set the fields before the first call;
// a Syncer is safe for concurrent use afterwards.
type Syncer struct {
	// Source reads the users, normally a *GraphSource. Required.
	Source Source
	// Sink stores them. Required.
	Sink Sink
	// Filters gives each customer's filter text; nil syncs every user.
	Filters FilterSource
	// Compile turns filter text into a Query (the Graph $filter and the
	// client-side remainder); nil means CompileFilter.
	Compile func(filter string) (Query, error)
	// Concurrency is how many customers sync at once; zero or negative
	// means DefaultConcurrency.
	Concurrency int
	// OnProgress, if set, receives a Progress event after every page and
	// when a customer finishes. It is called from the customers'
	// goroutines, concurrently: it must be safe for concurrent use, and
	// fast (it runs on the sync path).
	OnProgress func(Progress)
	// Logger receives one record per finished customer; nil means
	// slog.Default(). Records hold no secrets.
	Logger *slog.Logger
	// Delta configures delta rounds: syncs after the first that read only
	// what changed since the last one (see DeltaSource and DeltaSink).
	// The zero value reads every user every time.
	Delta DeltaOptions

	mu      sync.Mutex
	running map[string]bool
}

// Progress is a progress event of one customer's sync.
type Progress struct {
	Customer string
	Pages    int   // pages read so far
	Read     int   // users read from the source so far
	Matched  int   // of those, users that passed the client-side filter
	Estimate int64 // total the query selects per the source, -1 if unknown
	Done     bool  // the customer's sync finished (see its Result)
}

// Result is the outcome of one customer's sync.
type Result struct {
	Customer string
	// Counts are the sink's counts. After a failure Removed is zero and
	// the others count what was stored before the failure.
	Counts
	Pages    int   // pages read
	Read     int   // users read from the source
	Matched  int   // users passed to the sink
	Estimate int64 // the source's estimate of the total, -1 if unknown
	// Teams says how the Teams configurations were read, including a
	// Teams filter Graph refused (then evaluated client-side).
	Teams TeamsRead
	// Round is the kind of read the sync made, and Reason why the planner
	// chose it (for example "no delta link stored").
	Round  Round
	Reason string
	// Requests counts the Graph requests for users: pages, and the
	// request for a delta link.
	Requests int
	Started  time.Time
	Duration time.Duration
	// Err is why the sync failed, nil on success: typically an
	// *m365access.Error (revoked token, missing consent, throttling
	// beyond the retries) or a *FilterError; a cancelled context gives
	// the context's error.
	Err error
	// Action is what a person must do about Err, m365access.ActionNone
	// when nothing or nothing known.
	Action m365access.Action
}

// Sync syncs the given customers and returns one Result per customer, in
// the order given. It returns when all are done; cancelling ctx stops the
// running ones (they remove nothing) and skips the rest.
func (s *Syncer) Sync(ctx context.Context, customers ...string) []Result {
	limit := s.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	results := make([]Result, len(customers))
	var g errgroup.Group
	g.SetLimit(limit)
	for i, c := range customers {
		g.Go(func() error {
			results[i] = s.SyncCustomer(ctx, c)
			return nil // one customer's failure must not stop the others
		})
	}
	_ = g.Wait()
	return results
}

// SyncCustomer syncs one customer's users: reads them all, then commits,
// which removes the users the pass did not see. On any failure it aborts
// the pass and the sink keeps every user of the last committed pass.
// opts change this call only (progress, filter, kind of read). While a
// sync of the customer runs through this Syncer, another gives
// ErrInProgress.
func (s *Syncer) SyncCustomer(ctx context.Context, customer string, opts ...SyncOption) (res Result) {
	o := newSyncOptions(s, opts)
	res = Result{Customer: customer, Estimate: -1, Started: time.Now()}
	ctx, span := telemetry.Start(ctx, "usersync.SyncCustomer", customer)
	defer func() {
		res.Duration = time.Since(res.Started)
		res.Action = actionOf(res.Err)
		recordSync(ctx, span, res)
		s.progress(o, Progress{Customer: customer, Pages: res.Pages, Read: res.Read,
			Matched: res.Matched, Estimate: res.Estimate, Done: true})
		s.log(res)
	}()
	if err := ctx.Err(); err != nil {
		res.Err = err
		return res
	}
	if s.Source == nil || s.Sink == nil {
		res.Err = errors.New("usersync: Syncer.Source and Syncer.Sink are required (for example a *GraphSource and a *sqlsink.Sink)")
		return res
	}
	if !s.claim(customer) {
		res.Err = ErrInProgress
		return res
	}
	defer s.release(customer)

	q, text, err := s.query(ctx, customer, o.filters)
	if err != nil {
		res.Err = err
		return res
	}
	plan, err := s.planRound(ctx, customer, text, q, o.round)
	if err != nil {
		res.Err = wrapf(err, "usersync: read the checkpoint of customer %q", customer)
		return res
	}
	res.Round, res.Reason = plan.round, plan.reason
	if plan.round == RoundDelta {
		if expired := s.deltaRound(ctx, customer, q, plan, &res, o); !expired {
			return res
		}
		plan.round, plan.track = RoundFull, true
		res.Round = RoundFull
	}
	var link string
	fullAt := time.Now()
	if plan.track {
		// Taken before the read: changes made during the read come again
		// in the next round, and applying a change twice is harmless.
		res.Requests++
		if link, err = s.Source.(DeltaSource).LatestDelta(ctx, customer, q); err != nil {
			res.Err = err
			return res
		}
	}
	pass, err := s.Sink.Begin(ctx, customer)
	if err != nil {
		res.Err = fmt.Errorf("usersync: begin pass of customer %q: %w", customer, err)
		return res
	}
	var matched []User
	err = s.read(ctx, customer, q, func(p Page) error {
		res.Pages++
		res.Requests++
		res.Read += len(p.Users)
		res.Estimate = p.Estimate
		res.Teams = p.Teams
		batch := p.Users
		if q.Match != nil {
			matched = matched[:0]
			for i := range p.Users {
				if q.Match(&p.Users[i]) {
					matched = append(matched, p.Users[i])
				}
			}
			batch = matched
		}
		res.Matched += len(batch)
		if len(batch) > 0 {
			c, err := pass.Put(ctx, batch)
			if err != nil {
				return fmt.Errorf("usersync: store users of customer %q: %w", customer, err)
			}
			res.Counts = res.Counts.Add(c)
		}
		s.progress(o, Progress{Customer: customer, Pages: res.Pages, Read: res.Read,
			Matched: res.Matched, Estimate: res.Estimate})
		return nil
	})
	if err == nil {
		err = ctx.Err() // a pass cut short must not commit
	}
	if err != nil {
		res.Err = err
		// Abort even when ctx is done: the pass must end either way.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if aerr := pass.Abort(actx); aerr != nil {
			res.Err = errors.Join(err, fmt.Errorf("usersync: abort pass of customer %q: %w", customer, aerr))
		}
		return res
	}
	if cpass, ok := pass.(CheckpointPass); ok && plan.keep {
		cpass.SetCheckpoint(Checkpoint{DeltaLink: link, Query: plan.key, FullAt: fullAt, FullRequests: res.Pages})
	}
	c, err := pass.Commit(ctx)
	if err != nil {
		res.Err = fmt.Errorf("usersync: commit pass of customer %q: %w", customer, err)
		return res
	}
	res.Removed = c.Removed
	return res
}

// read reads q from the Source: once, or for a split query each of its
// subqueries in turn, passing on every user once (by ID). A split query's
// estimate is the sum of its subqueries' counts so far (an overestimate
// where they overlap).
func (s *Syncer) read(ctx context.Context, customer string, q Query, fn func(Page) error) error {
	if len(q.Split) == 0 {
		return s.Source.Read(ctx, customer, q, fn)
	}
	seen := make(map[string]struct{})
	var kept []User
	var base int64
	for _, sq := range q.Split {
		sub := Query{Filter: sq.Filter, Advanced: sq.Advanced, Select: q.Select, Teams: q.Teams, TeamsFilter: q.TeamsFilter}
		last := int64(-1)
		err := s.Source.Read(ctx, customer, sub, func(p Page) error {
			kept = kept[:0]
			for i := range p.Users {
				id := p.Users[i].ID
				if _, dup := seen[id]; dup {
					continue
				}
				seen[id] = struct{}{}
				kept = append(kept, p.Users[i])
			}
			est := int64(-1)
			switch {
			case p.Estimate >= 0:
				last = p.Estimate
				est = base + p.Estimate
			case base > 0:
				est = base
			}
			out := p
			out.Users, out.Estimate = kept, est
			return fn(out)
		})
		if err != nil {
			return err
		}
		if last >= 0 {
			base += last
		}
	}
	return nil
}

// recordSync records a finished sync's metrics and ends its span.
func recordSync(ctx context.Context, span trace.Span, res Result) {
	m := telemetry.Metrics()
	outcome := "succeeded"
	code := ""
	switch {
	case errors.Is(res.Err, ErrInProgress):
		outcome, code = "skipped", "inProgress"
	case res.Err != nil:
		outcome, code = "failed", string(res.Action)
	}
	m.Syncs.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
	m.SyncDuration.Record(ctx, res.Duration.Seconds(), metric.WithAttributes(attribute.String("outcome", outcome)))
	if res.Err == nil {
		m.SyncUsers.Add(ctx, int64(res.Matched), metric.WithAttributes(attribute.String("customer", res.Customer)))
	}
	span.SetAttributes(attribute.Int("tenantgate.sync.read", res.Read), attribute.Int("tenantgate.sync.matched", res.Matched))
	telemetry.End(span, res.Err, code)
}

// query reads and compiles the customer's filter; it also returns the
// filter text.
func (s *Syncer) query(ctx context.Context, customer string, filters FilterSource) (Query, string, error) {
	if filters == nil {
		return Query{}, "", nil
	}
	text, err := filters.UserFilter(ctx, customer)
	if err != nil {
		return Query{}, "", fmt.Errorf("usersync: read user filter of customer %q: %w", customer, err)
	}
	if text == "" {
		return Query{}, "", nil
	}
	compile := s.Compile
	if compile == nil {
		compile = CompileFilter
	}
	q, err := compile(text)
	if err != nil {
		return Query{}, "", &FilterError{Customer: customer, Err: err}
	}
	return q, text, nil
}

func (s *Syncer) claim(customer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[customer] {
		return false
	}
	if s.running == nil {
		s.running = make(map[string]bool)
	}
	s.running[customer] = true
	return true
}

func (s *Syncer) release(customer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, customer)
}

func (s *Syncer) progress(o *syncOptions, p Progress) {
	if s.OnProgress != nil {
		s.OnProgress(p)
	}
	if o.progress != nil {
		o.progress(p)
	}
}

func (s *Syncer) log(r Result) {
	l := s.Logger
	if l == nil {
		l = slog.Default()
	}
	attrs := []any{
		slog.String("customer", r.Customer),
		slog.Int("pages", r.Pages), slog.Int("read", r.Read), slog.Int("matched", r.Matched),
		slog.Int("added", r.Added), slog.Int("changed", r.Changed),
		slog.Int("unchanged", r.Unchanged), slog.Int("removed", r.Removed),
		slog.Duration("duration", r.Duration),
		slog.String("round", string(r.Round)), slog.String("round_reason", r.Reason), slog.Int("requests", r.Requests),
	}
	if r.Teams.Mode != TeamsNone {
		attrs = append(attrs, slog.String("teams_mode", string(r.Teams.Mode)), slog.Int("teams_requests", r.Teams.Requests))
	}
	if r.Teams.Refused != "" {
		attrs = append(attrs, slog.String("teams_filter_refused", r.Teams.Refused))
	}
	if r.Err != nil {
		attrs = append(attrs, slog.Any("error", r.Err), slog.String("action", string(r.Action)))
		l.Warn("usersync: customer sync failed", attrs...)
		return
	}
	l.Info("usersync: customer synced", attrs...)
}
