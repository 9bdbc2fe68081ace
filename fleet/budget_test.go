package fleet_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
)

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func get(t *testing.T, rt http.RoundTripper, customer string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(fleet.WithCustomer(context.Background(), customer), "GET", "https://graph.example/v1.0/users", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestBudgetPacesUnderFixedWindows: against a server that throttles like
// Graph (and m365test) do, in fixed windows per tenant and per app, with
// the same limits and time scale, a burst of requests by two customers
// draws (almost) no 429 and takes about the floor the app budget sets.
func TestBudgetPacesUnderFixedWindows(t *testing.T) {
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
						if resp := get(t, rt, c); resp.StatusCode != 200 {
							t.Errorf("status %d", resp.StatusCode)
						}
					}
				})
			}
		}
		wg.Wait()
		took := time.Since(begin)
		// 240 requests at 0.9 * 60 per 0.2 s app-wide: about 0.85 s.
		floor := time.Duration(float64(240) / 60 * float64(200*time.Millisecond))
		if n := throttled.Load(); n > 240/100 {
			t.Errorf("%d of 240 requests throttled, want under 1%%", n)
		}
		if took < floor*9/10 || took > floor*2 {
			t.Errorf("took %v; the app budget's floor is %v", took, floor)
		}
		if st := b.Stats(); st.Requests < 240 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestBudgetThrottledCustomerWaitsAlone: a customer whose requests draw
// 429 waits out its Retry-After and retries; another customer's requests
// meanwhile go through at once.
func TestBudgetThrottledCustomerWaitsAlone(t *testing.T) {
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
			if resp := get(t, rt, "slow"); resp.StatusCode != 200 {
				t.Errorf("slow customer: status %d", resp.StatusCode)
			}
			done <- time.Since(begin)
		}()
		time.Sleep(50 * time.Millisecond) // the slow customer is paused now
		begin := time.Now()
		for range 20 {
			if resp := get(t, rt, "fast"); resp.StatusCode != 200 {
				t.Fatalf("fast customer: status %d", resp.StatusCode)
			}
		}
		if took := time.Since(begin); took > 100*time.Millisecond {
			t.Errorf("the other customer took %v while one was throttled", took)
		}
		if slow := <-done; slow < 550*time.Millisecond || slow > 2*time.Second {
			t.Errorf("the throttled customer took %v, want its three Retry-Afters (0.6 s)", slow)
		}
		if st := b.Stats(); st.Throttled != 3 {
			t.Errorf("stats %+v", st)
		}
	})
}
