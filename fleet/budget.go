package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantgate/tenantgate/internal/telemetry"
)

// Budget paces Graph requests under Microsoft Graph's throttling limits:
// per app per tenant and per app across all tenants, in resource units per
// window. Each tenant (each customer: the fleet's jobs put it in the
// request context with WithCustomer, and tenantgate's own Graph calls
// name their customer too) has its own pacer, so a throttled or busy
// customer waits alone; the app-wide pacer is shared. A 429 pauses only
// that customer for its Retry-After (or an exponential backoff when Graph
// sends none) and retries the request.
//
// Put Transport under every Graph client of the app, so that the budget
// covers all of a customer's Graph traffic: the user sync's
// (usersync.GraphOptions.Transport) and the Manager's own
// (m365access.Config.HTTPClient's Transport: Validate, keep-alive,
// consent checks, QoE subscriptions). Only Graph API requests (paths under
// /v1.0/ and /beta/) are paced and counted; token requests to Entra ID
// pass straight through. The zero value uses Graph's published limits.
//
// Several replicas of one app share its per-app budget: give each
// replica's Fleet its Budget in Config.Budget and each paces to AppUnits
// divided by the replicas that are live and busy (SetReplicas).
type Budget struct {
	// TenantUnits per TenantWindow is one tenant's budget; zero means
	// 8,000 per 10 s.
	TenantUnits  int
	TenantWindow time.Duration
	// AppUnits per AppWindow is the app's budget across tenants and
	// replicas; zero means 150,000 per 20 s. This process spends
	// AppUnits divided by the replica count SetReplicas last set (one
	// until then).
	AppUnits  int
	AppWindow time.Duration
	// Headroom is the share of each budget the pacers spend, leaving the
	// rest for other clients of the same app; zero means 0.9.
	Headroom float64
	// TimeScale divides every wait (pacing and Retry-After), for a fake
	// cloud with the same scale; zero means 1.
	TimeScale float64
	// Cost gives a request's resource units; nil means 1, and for a JSON
	// batch (POST .../$batch) the number of requests in it: Graph judges
	// each against the limits as if sent alone.
	Cost func(r *http.Request) int
	// MaxRetries bounds the retries of a throttled request before its 429
	// is returned; zero means 6.
	MaxRetries int

	once    sync.Once
	mu      sync.Mutex
	tenants map[string]*pacer
	app     *pacer

	requests, throttled atomic.Int64
	replicas            atomic.Int64
	lastUse             atomic.Int64 // Unix nanoseconds of the last Graph request
}

// holdApp holds every Graph request of this process for d.
func (b *Budget) holdApp(d time.Duration) {
	b.init()
	b.app.pause(d)
}

// usedSince reports whether a Graph request went through after t.
func (b *Budget) usedSince(t time.Time) bool { return b.lastUse.Load() > t.UnixNano() }

// BudgetStats counts what a Budget sent.
type BudgetStats struct {
	// Requests is every Graph attempt sent; Throttled those answered 429.
	Requests, Throttled int64
	// Replicas is the replica count the app budget is divided by: this
	// one and the other busy replicas the fleet last saw.
	Replicas int
}

// Stats returns the counters.
func (b *Budget) Stats() BudgetStats {
	return BudgetStats{Requests: b.requests.Load(), Throttled: b.throttled.Load(), Replicas: int(max(b.replicas.Load(), 1))}
}

// SetReplicas makes this process spend 1/n of the app's budget (n below
// one counts as one); a Fleet given the Budget calls it with the live
// replica count. Requests already waiting keep their place.
func (b *Budget) SetReplicas(n int) {
	b.init()
	n = max(n, 1)
	if b.replicas.Swap(int64(n)) == int64(n) {
		return
	}
	perUnit, burst := b.rate(float64(b.AppUnits)/float64(n), b.AppWindow)
	b.app.mu.Lock()
	b.app.perUnit, b.app.burst = perUnit, burst
	b.app.mu.Unlock()
}

func (b *Budget) init() {
	b.once.Do(func() {
		if b.TenantUnits <= 0 {
			b.TenantUnits = 8000
		}
		if b.TenantWindow <= 0 {
			b.TenantWindow = 10 * time.Second
		}
		if b.AppUnits <= 0 {
			b.AppUnits = 150_000
		}
		if b.AppWindow <= 0 {
			b.AppWindow = 20 * time.Second
		}
		if b.Headroom <= 0 || b.Headroom > 1 {
			b.Headroom = 0.9
		}
		if b.TimeScale <= 0 {
			b.TimeScale = 1
		}
		if b.MaxRetries <= 0 {
			b.MaxRetries = 6
		}
		b.tenants = map[string]*pacer{}
		n := max(b.replicas.Load(), 1)
		b.replicas.Store(n)
		b.app = &pacer{}
		b.app.perUnit, b.app.burst = b.rate(float64(b.AppUnits)/float64(n), b.AppWindow)
	})
}

// rate spends headroom of units per window: a burst of a twentieth of
// it, then the steady rate, so that no fixed window of the server sees
// more than the budget.
func (b *Budget) rate(units float64, window time.Duration) (perUnit, burst time.Duration) {
	spend := max(units*b.Headroom, 1)
	n := max(1, spend/20)
	scaled := float64(window) / b.TimeScale
	return time.Duration(scaled / (spend - n + 1)), time.Duration(n * scaled / (spend - n + 1))
}

func (b *Budget) newPacer(units int, window time.Duration) *pacer {
	p := &pacer{}
	p.perUnit, p.burst = b.rate(float64(units), window)
	return p
}

func (b *Budget) tenant(key string) *pacer {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.tenants[key]
	if p == nil {
		p = b.newPacer(b.TenantUnits, b.TenantWindow)
		b.tenants[key] = p
	}
	return p
}

// Transport returns a RoundTripper that paces and retries through next
// (nil: http.DefaultTransport).
func (b *Budget) Transport(next http.RoundTripper) http.RoundTripper {
	b.init()
	if next == nil {
		next = http.DefaultTransport
	}
	return &budgetTransport{b: b, next: next}
}

type budgetTransport struct {
	b    *Budget
	next http.RoundTripper
}

func (t *budgetTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b := t.b
	if !isGraphAPI(r) {
		return t.next.RoundTrip(r)
	}
	key, ok := CustomerFrom(r.Context())
	if !ok {
		key = telemetry.Customer(r.Context())
	}
	tp := b.tenant(key)
	b.lastUse.Store(time.Now().UnixNano())
	cost := batchCost(r)
	if b.Cost != nil {
		cost = max(b.Cost(r), 0)
	}
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		// The tenant first: a tenant waiting on its own budget holds no
		// share of the app's.
		if err := tp.wait(r.Context(), cost); err != nil {
			return nil, err
		}
		if err := b.app.wait(r.Context(), cost); err != nil {
			return nil, err
		}
		req := r
		if attempt > 0 {
			req = r.Clone(r.Context())
			if r.GetBody != nil {
				body, err := r.GetBody()
				if err != nil {
					return nil, err
				}
				req.Body = body
			} else if r.Body != nil && r.Body != http.NoBody {
				return nil, errors.New("fleet: cannot retry a throttled request whose body cannot be replayed")
			}
		}
		b.requests.Add(1)
		resp, err := t.next.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		b.throttled.Add(1)
		if attempt >= b.MaxRetries {
			return resp, nil
		}
		wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok {
			wait = backoff
			backoff = min(2*backoff, time.Minute)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		// Everything of this tenant waits; other tenants go on.
		tp.pause(time.Duration(float64(wait) / b.TimeScale))
	}
}

// isGraphAPI reports whether r is a Graph API request (a path under an
// API version), which Graph's throttling limits count; requests for
// tokens and metadata to Entra ID are not.
func isGraphAPI(r *http.Request) bool {
	p := r.URL.Path
	for _, v := range []string{"/v1.0", "/beta"} {
		if p == v || strings.HasPrefix(p, v+"/") {
			return true
		}
	}
	return false
}

// batchCost is the resource units of r by default: the requests of a
// JSON batch (read through GetBody, so the body stays unread), else 1.
func batchCost(r *http.Request) int {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/$batch") || r.GetBody == nil {
		return 1
	}
	body, err := r.GetBody()
	if err != nil {
		return 1
	}
	defer body.Close()
	var in struct {
		Requests []json.RawMessage `json:"requests"`
	}
	if err := json.NewDecoder(io.LimitReader(body, 4<<20)).Decode(&in); err != nil {
		return 1
	}
	return max(len(in.Requests), 1)
}

// retryAfter reads a Retry-After header: delay seconds, or an HTTP date
// (RFC 9110); ok is false when there is none or it does not parse.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// pacer is a virtual-clock rate limiter (GCRA): each unit moves the
// earliest next send by perUnit; up to burst may be ahead of now.
type pacer struct {
	perUnit, burst time.Duration

	mu   sync.Mutex
	next time.Time // theoretical arrival time
}

// wait blocks until cost units may be sent.
func (p *pacer) wait(ctx context.Context, cost int) error {
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(cost) * p.perUnit)
	delay := p.next.Sub(now) - p.burst
	p.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pause holds every later send for d.
func (p *pacer) pause(d time.Duration) {
	p.mu.Lock()
	if until := time.Now().Add(d + p.burst); p.next.Before(until) {
		p.next = until
	}
	p.mu.Unlock()
}
