package fleet_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/telemetry"
)

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// get sends a Graph GET for customer through rt and returns the status,
// 0 when the round trip failed. It only asserts: workers call it too.
func get(t *testing.T, rt http.RoundTripper, customer string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(fleet.WithCustomer(context.Background(), customer), "GET", "https://graph.example/v1.0/users", nil)
	resp, err := rt.RoundTrip(req)
	if !assert.NoError(t, err, "GET for %s", customer) {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBudgetPacesUnderFixedWindows: against a server that throttles like
// Graph (and m365test) do, in fixed windows per tenant and per app, with
// the same limits and time scale, a burst of requests by two customers
// draws (almost) no 429 and takes about the floor the app budget sets.
func TestBudgetPacesUnderFixedWindows(t *testing.T) {
	t.Parallel()
	// In a synctest bubble the clock is virtual: the fake server answers
	// at once and the budget's waits are the only time that passes, so
	// the durations below are exact, however loaded the machine.
	synctest.Test(t, func(t *testing.T) {
		// 40 units per 10 s per tenant, 60 per 20 s for the app, 100 times
		// faster: windows of 0.1 s and 0.2 s.
		b := &fleet.Budget{TenantUnits: 40, TenantWindow: 10 * time.Second, AppUnits: 60, AppWindow: 20 * time.Second, TimeScale: 100}
		type win struct {
			idx  int64
			used int
		}
		start := time.Now()
		var mu sync.Mutex
		wins := map[string]*win{}
		var throttled atomic.Int64
		charge := func(key string, w time.Duration, limit int) bool {
			idx := int64(time.Since(start) / w)
			x := wins[key]
			if x == nil || x.idx != idx {
				x = &win{idx: idx}
				wins[key] = x
			}
			if x.used >= limit {
				return false
			}
			x.used++
			return true
		}
		next := rtFunc(func(r *http.Request) (*http.Response, error) {
			c, _ := fleet.CustomerFrom(r.Context())
			mu.Lock()
			ok := charge("t/"+c, 100*time.Millisecond, 40) && charge("app", 200*time.Millisecond, 60)
			mu.Unlock()
			if !ok {
				throttled.Add(1)
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"1"}}, Body: http.NoBody}, nil
			}
			return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
		})
		rt := b.Transport(next)
		begin := time.Now()
		var wg sync.WaitGroup
		for _, c := range []string{"a", "b"} {
			for range 4 {
				wg.Go(func() {
					for range 30 {
						assert.Equal(t, 200, get(t, rt, c), "status")
					}
				})
			}
		}
		wg.Wait()
		took := time.Since(begin)
		// 240 requests at 0.9 * 60 per 0.2 s app-wide: about 0.85 s.
		floor := time.Duration(float64(240) / 60 * float64(200*time.Millisecond))
		assert.LessOrEqual(t, throttled.Load(), int64(240/100), "requests of 240 throttled, want under 1%")
		assert.GreaterOrEqual(t, took, floor*9/10, "took; the app budget's floor is %v", floor)
		assert.LessOrEqual(t, took, floor*2, "took; the app budget's floor is %v", floor)
		st := b.Stats()
		assert.GreaterOrEqual(t, st.Requests, int64(240), "stats %+v", st)
	})
}

// TestBudgetThrottledCustomerWaitsAlone: a customer whose requests draw
// 429 waits out its Retry-After and retries; another customer's requests
// meanwhile go through at once.
func TestBudgetThrottledCustomerWaitsAlone(t *testing.T) {
	t.Parallel()
	// In a synctest bubble the clock is virtual: the fake server answers
	// at once and the budget's waits are the only time that passes, so
	// the durations below are exact, however loaded the machine.
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		next := rtFunc(func(r *http.Request) (*http.Response, error) {
			c, _ := fleet.CustomerFrom(r.Context())
			if c == "slow" && calls.Add(1) <= 3 {
				// 20 Graph seconds: 200 ms at the scale below.
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"20"}}, Body: http.NoBody}, nil
			}
			return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
		})
		b := &fleet.Budget{TimeScale: 100}
		rt := b.Transport(next)
		done := make(chan time.Duration)
		go func() {
			begin := time.Now()
			assert.Equal(t, 200, get(t, rt, "slow"), "slow customer: status")
			done <- time.Since(begin)
		}()
		synctest.Wait() // the slow customer is paused in its Retry-After now
		begin := time.Now()
		for range 20 {
			require.Equal(t, 200, get(t, rt, "fast"), "fast customer: status")
		}
		assert.LessOrEqual(t, time.Since(begin), 100*time.Millisecond, "the other customer's time while one was throttled")
		slow := <-done
		assert.GreaterOrEqual(t, slow, 550*time.Millisecond, "the throttled customer's time, want its three Retry-Afters (0.6 s)")
		assert.LessOrEqual(t, slow, 2*time.Second, "the throttled customer's time, want its three Retry-Afters (0.6 s)")
		st := b.Stats()
		assert.Equal(t, int64(3), st.Throttled, "stats %+v", st)
	})
}

// TestBudgetScope: requests that are not Graph API calls (tokens from
// Entra ID) pass straight through, uncounted and unpaced; Graph requests
// that name their customer only through tenantgate's telemetry context
// (m365access's own calls, qoe's) get that customer's pacer, so a
// throttled customer's Validate does not hold back another's.
func TestBudgetScope(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		next := rtFunc(func(r *http.Request) (*http.Response, error) {
			if telemetry.Customer(r.Context()) == "slow" && calls.Add(1) <= 2 {
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"10"}}, Body: http.NoBody}, nil
			}
			return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
		})
		b := &fleet.Budget{TimeScale: 100}
		rt := b.Transport(next)
		// send returns the status, 0 when the round trip failed; it only
		// asserts, as the slow customer's goroutine calls it too.
		send := func(customer, url string) int {
			req, _ := http.NewRequestWithContext(telemetry.WithCustomer(context.Background(), customer), "GET", url, nil)
			resp, err := rt.RoundTrip(req)
			if !assert.NoError(t, err, "GET %s for %s", url, customer) {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for _, u := range []string{"https://login.example/tenant/oauth2/v2.0/token", "https://login.example/common/discovery/instance",
			"https://graph.example/v1.0x/users"} {
			assert.Equal(t, 200, send("fast", u), "%s: status", u)
		}
		st := b.Stats()
		assert.Zero(t, st.Requests, "requests that are not Graph API calls were counted: %+v", st)
		done := make(chan time.Duration)
		go func() {
			begin := time.Now()
			assert.Equal(t, 200, send("slow", "https://graph.example/v1.0/organization"), "slow customer: status")
			done <- time.Since(begin)
		}()
		synctest.Wait() // the slow customer is paused in its Retry-After now
		begin := time.Now()
		for range 10 {
			require.Equal(t, 200, send("fast", "https://graph.example/beta/organization"), "fast customer: status")
		}
		assert.LessOrEqual(t, time.Since(begin), 50*time.Millisecond, "the other customer's time while one was throttled")
		// Two Retry-Afters of 10 Graph seconds at scale 100.
		slow := <-done
		assert.GreaterOrEqual(t, slow, 200*time.Millisecond, "the throttled customer's time, want its two Retry-Afters (0.2 s)")
		assert.LessOrEqual(t, slow, time.Second, "the throttled customer's time, want its two Retry-Afters (0.2 s)")
		st = b.Stats()
		assert.Equal(t, int64(13), st.Requests, "stats %+v: requests", st)
		assert.Equal(t, int64(2), st.Throttled, "stats %+v: throttled", st)
	})
}

// TestBudgetRetryAfterDate: Retry-After as an HTTP date is honoured too.
func TestBudgetRetryAfterDate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		next := rtFunc(func(r *http.Request) (*http.Response, error) {
			if calls.Add(1) == 1 {
				at := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {at}}, Body: http.NoBody}, nil
			}
			return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
		})
		rt := (&fleet.Budget{}).Transport(next)
		begin := time.Now()
		require.Equal(t, 200, get(t, rt, "c"), "status")
		// The date has whole seconds: 29 to 30 s.
		took := time.Since(begin)
		assert.GreaterOrEqual(t, took, 29*time.Second, "waited, want the 30 s the date names")
		assert.LessOrEqual(t, took, 31*time.Second, "waited, want the 30 s the date names")
	})
}

// TestBudgetSplitsTheAppBudget: with the app budget divided among three
// replicas, a burst takes three times as long as with one.
func TestBudgetSplitsTheAppBudget(t *testing.T) {
	t.Parallel()
	run := func(replicas int) time.Duration {
		var took time.Duration
		synctest.Test(t, func(t *testing.T) {
			b := &fleet.Budget{AppUnits: 100, AppWindow: 20 * time.Second, TimeScale: 100}
			b.SetReplicas(replicas)
			rt := b.Transport(rtFunc(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
			}))
			begin := time.Now()
			for i := range 200 {
				get(t, rt, fmt.Sprint("c", i%7))
			}
			took = time.Since(begin)
		})
		return took
	}
	one, three := run(1), run(3)
	// 200 units at 90 per 0.2 s: about 0.43 s alone, 1.3 s as a third.
	assert.GreaterOrEqual(t, one, 350*time.Millisecond, "one replica, want about 0.43 s")
	assert.LessOrEqual(t, one, 500*time.Millisecond, "one replica, want about 0.43 s")
	r := float64(three) / float64(one)
	assert.GreaterOrEqual(t, r, 2.7, "three replicas: %v against one replica's %v; want 3x", three, one)
	assert.LessOrEqual(t, r, 3.3, "three replicas: %v against one replica's %v; want 3x", three, one)
}

// TestBudgetCountsBatchRequests: a JSON batch costs one unit per request
// in it (Graph throttles each as if sent alone), so a batch of 20 waits
// for 20 units of the tenant's budget.
func TestBudgetCountsBatchRequests(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		next := rtFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
		})
		// 20 units per 10 s for the tenant, no headroom: after a burst of
		// one unit, a unit every 10/20 s.
		b := &fleet.Budget{TenantUnits: 20, TenantWindow: 10 * time.Second, Headroom: 1}
		rt := b.Transport(next)
		var reqs []string
		for i := range 20 {
			reqs = append(reqs, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/users?$top=1"}`, i))
		}
		batch := `{"requests":[` + strings.Join(reqs, ",") + `]}`
		send := func() time.Duration {
			begin := time.Now()
			req, _ := http.NewRequestWithContext(fleet.WithCustomer(context.Background(), "c"), "POST", "https://graph.example/v1.0/$batch", strings.NewReader(batch))
			resp, err := rt.RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()
			return time.Since(begin)
		}
		send() // spends the tenant's 20 units
		assert.GreaterOrEqual(t, send(), 9*time.Second, "a second batch of 20 went early; the tenant's 20 units per 10 s were spent")
		assert.Equal(t, 200, get(t, rt, "other"), "status")
	})
}
