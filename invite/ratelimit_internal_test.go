package invite

import (
	"fmt"
	"testing"
	"time"
)

// The limiter remembers at most maxKeys keys however many clients guess:
// a spray of addresses cannot grow the process's memory without bound.
func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	l := newLimiter(100)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim := Limit{Count: 3, Per: time.Hour}
	for i := range 1000 {
		l.add(now.Add(time.Duration(i)*time.Millisecond), limitReq{scope: ScopeRedeem, key: fmt.Sprint("client-", i), limit: lim})
	}
	if n := l.size(); n > 100 {
		t.Fatalf("the limiter holds %d keys, bound 100", n)
	}
	// The newest keys are the ones kept.
	l.mu.Lock()
	_, newest := l.events[limitKey{ScopeRedeem, "client-999"}]
	_, oldest := l.events[limitKey{ScopeRedeem, "client-0"}]
	l.mu.Unlock()
	if !newest || oldest {
		t.Errorf("newest kept %v, oldest kept %v", newest, oldest)
	}
}
