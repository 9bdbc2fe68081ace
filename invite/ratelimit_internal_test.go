package invite

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	require.LessOrEqual(t, l.size(), 100, "the limiter's keys")
	// The newest keys are the ones kept.
	l.mu.Lock()
	_, newest := l.events[limitKey{ScopeRedeem, "client-999"}]
	_, oldest := l.events[limitKey{ScopeRedeem, "client-0"}]
	l.mu.Unlock()
	assert.True(t, newest, "the newest key is kept")
	assert.False(t, oldest, "the oldest key is dropped")
}
