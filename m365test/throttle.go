package m365test

import (
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Throttle makes the fake throttle Graph as Microsoft does: per app per
// tenant and per app across all tenants, each a budget of resource units
// per window. A request past either budget gets 429 TooManyRequests with
// Retry-After (whole seconds of Graph time until the window ends), and
// costs nothing. Windows are fixed: they start when the Server starts.
type Throttle struct {
	// TenantUnits per TenantWindow is the budget of one app in one tenant;
	// zero means 8,000 per 10 s (Graph's figure for tenants over 500
	// users).
	TenantUnits  int
	TenantWindow time.Duration
	// AppUnits per AppWindow is the budget of one app across all tenants;
	// zero means 150,000 per 20 s.
	AppUnits  int
	AppWindow time.Duration
	// TimeScale compresses time: a window lasts Window/TimeScale of real
	// time, so tests need not wait real seconds. Retry-After still states
	// Graph seconds: a client divides it by the same scale. Zero means 1.
	TimeScale float64
	// Cost gives a request's resource units; nil means 1 for every
	// request (a GET of users with $select costs 1).
	Cost func(r *http.Request) int
}

// ThrottleStats counts the Graph requests the throttle judged.
type ThrottleStats struct {
	// Requests is every Graph request judged; Throttled those answered
	// 429, of which TenantThrottled hit a tenant budget and AppThrottled
	// the app-wide one.
	Requests, Throttled, TenantThrottled, AppThrottled int64
	// First and Last are when the first and the latest Graph request was
	// judged (zero before any).
	First, Last time.Time
}

// throttleState is the live throttle of a Server.
type throttleState struct {
	cfg   Throttle
	start time.Time

	mu      sync.Mutex
	windows map[string]*window // by "app" or "app/tenant"

	requests, tenantHits, appHits atomic.Int64
	first, last                   atomic.Int64 // Unix nanoseconds
}

type window struct {
	index int64
	used  int
}

func newThrottle(cfg Throttle) *throttleState {
	if cfg.TenantUnits <= 0 {
		cfg.TenantUnits = 8000
	}
	if cfg.TenantWindow <= 0 {
		cfg.TenantWindow = 10 * time.Second
	}
	if cfg.AppUnits <= 0 {
		cfg.AppUnits = 150_000
	}
	if cfg.AppWindow <= 0 {
		cfg.AppWindow = 20 * time.Second
	}
	if cfg.TimeScale <= 0 {
		cfg.TimeScale = 1
	}
	return &throttleState{cfg: cfg, start: time.Now(), windows: map[string]*window{}}
}

// SetThrottle replaces the Graph throttle (nil switches it off) and
// resets its windows and counters.
func (s *Server) SetThrottle(t *Throttle) {
	var st *throttleState
	if t != nil {
		st = newThrottle(*t)
	}
	s.throttle.Store(st)
}

// ThrottleStats returns the throttle's counters (zero without a throttle).
func (s *Server) ThrottleStats() ThrottleStats {
	t := s.throttle.Load()
	if t == nil {
		return ThrottleStats{}
	}
	th, ah := t.tenantHits.Load(), t.appHits.Load()
	st := ThrottleStats{Requests: t.requests.Load(), Throttled: th + ah, TenantThrottled: th, AppThrottled: ah}
	if f := t.first.Load(); f != 0 {
		st.First, st.Last = time.Unix(0, f), time.Unix(0, t.last.Load())
	}
	return st
}

// admit charges the request to the app's budgets, or returns the 429 to
// answer.
func (t *throttleState) admit(r *http.Request, clientID, tenant string) *graphError {
	t.requests.Add(1)
	now := time.Now().UnixNano()
	t.first.CompareAndSwap(0, now)
	for {
		l := t.last.Load()
		if l >= now || t.last.CompareAndSwap(l, now) {
			break
		}
	}
	cost := 1
	if t.cfg.Cost != nil {
		cost = max(t.cfg.Cost(r), 0)
	}
	scale := t.cfg.TimeScale
	elapsed := time.Since(t.start)
	tw := time.Duration(float64(t.cfg.TenantWindow) / scale)
	aw := time.Duration(float64(t.cfg.AppWindow) / scale)
	ti, ai := int64(elapsed/tw), int64(elapsed/aw)

	t.mu.Lock()
	tk, ak := clientID+"/"+tenant, clientID
	tw8 := t.windowLocked(tk, ti)
	aw8 := t.windowLocked(ak, ai)
	var wait time.Duration
	switch {
	case tw8.used+cost > t.cfg.TenantUnits:
		wait = time.Duration(ti+1)*tw - elapsed
		t.tenantHits.Add(1)
	case aw8.used+cost > t.cfg.AppUnits:
		wait = time.Duration(ai+1)*aw - elapsed
		t.appHits.Add(1)
	default:
		tw8.used += cost
		aw8.used += cost
	}
	t.mu.Unlock()
	if wait == 0 {
		return nil
	}
	graphWait := time.Duration(math.Ceil(float64(wait)*scale/float64(time.Second))) * time.Second
	// The body of the throttling guidance page's example.
	return &graphError{status: http.StatusTooManyRequests, code: "TooManyRequests",
		msg: "Please retry again later.", retryAfter: max(graphWait, time.Second),
		inner: map[string]any{"code": "429", "status": "429", "message": "Please retry after"}}
}

func (t *throttleState) windowLocked(key string, index int64) *window {
	w := t.windows[key]
	if w == nil {
		w = &window{index: index}
		t.windows[key] = w
	}
	if w.index != index {
		w.index, w.used = index, 0
	}
	return w
}
