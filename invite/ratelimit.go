package invite

import (
	"sync"
	"time"
)

// Limit allows Count events per sliding window of length Per. The zero
// Limit means the default of the field it sets; a negative Count disables
// the limit.
type Limit struct {
	Count int
	Per   time.Duration
}

// RateLimits bounds how often invitations are sent and how often a client
// may present unknown links. The zero value uses the defaults below.
//
// The limits are kept in the memory of the Service: with several replicas
// each enforces them on its own (so the effective limit is multiplied by
// the number of replicas).
type RateLimits struct {
	// PerCustomer bounds sends (Create, Send, Resend) per customer.
	// Default: 5 per hour.
	PerCustomer Limit
	// PerRecipient bounds sends per recipient address, across customers.
	// Default: 5 per hour.
	PerRecipient Limit
	// RedeemFailures bounds unknown or malformed links presented by one
	// client (the clientKey of Redeem, for example the IP address); once
	// exceeded, every Redeem from that client is refused until the window
	// passes. Links that belong to an invitation never count and are
	// never refused: the limit stops guessing, not the customer. Default:
	// 10 per 15 minutes.
	RedeemFailures Limit
	// StartsPerInvitation bounds how often one invitation's link may start
	// a sign-in (Start): each start stores a pending sign-in, so an
	// unbounded link holder could grow the database. Default: 10 per 15
	// minutes.
	StartsPerInvitation Limit
	// MaxKeys bounds how many keys (clients, customers, recipients,
	// invitations) the limits remember together; when full, the key whose
	// latest event is oldest is forgotten first. Default: 10,000.
	MaxKeys int
}

func (l Limit) orDefault(count int, per time.Duration) Limit {
	if l.Count == 0 {
		l.Count = count
	}
	if l.Per <= 0 {
		l.Per = per
	}
	return l
}

func (r RateLimits) withDefaults() RateLimits {
	r.PerCustomer = r.PerCustomer.orDefault(5, time.Hour)
	r.PerRecipient = r.PerRecipient.orDefault(5, time.Hour)
	r.RedeemFailures = r.RedeemFailures.orDefault(10, 15*time.Minute)
	r.StartsPerInvitation = r.StartsPerInvitation.orDefault(10, 15*time.Minute)
	if r.MaxKeys <= 0 {
		r.MaxKeys = defaultMaxKeys
	}
	return r
}

// defaultMaxKeys is RateLimits.MaxKeys when unset.
const defaultMaxKeys = 10000

// limiter keeps a sliding-window log of events per (scope, key). It holds
// at most Count timestamps per key, forgets keys whose window passed and
// remembers at most maxKeys keys.
type limiter struct {
	mu        sync.Mutex
	events    map[limitKey]*window
	lastSweep time.Time
	maxKeys   int
}

type limitKey struct{ scope, key string }

// window is the log of one key: the times of its recent events, oldest
// first, and the length of the window they count in.
type window struct {
	per time.Duration
	ev  []time.Time
}

// limitReq is one limit to check for one key.
type limitReq struct {
	scope string
	key   string
	limit Limit
}

func newLimiter(maxKeys int) *limiter {
	return &limiter{events: make(map[limitKey]*window), maxKeys: maxKeys}
}

// window returns the log of r's key with the events before now-Per dropped.
func (l *limiter) window(now time.Time, r limitReq) *window {
	k := limitKey{r.scope, r.key}
	w := l.events[k]
	if w == nil {
		if len(l.events) >= l.maxKeys {
			l.evict(now)
		}
		w = &window{per: r.limit.Per}
		l.events[k] = w
	}
	w.per = r.limit.Per
	i := 0
	for i < len(w.ev) && !w.ev[i].Add(w.per).After(now) {
		i++
	}
	if i > 0 {
		w.ev = append(w.ev[:0], w.ev[i:]...)
	}
	return w
}

// check returns a *RateLimitError if any of reqs is exhausted at now.
// When record is true and none is exhausted, it counts one event for each.
func (l *limiter) check(now time.Time, record bool, reqs ...limitReq) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	for _, r := range reqs {
		if r.limit.Count < 0 {
			continue
		}
		w := l.window(now, r)
		if n := len(w.ev); n >= r.limit.Count {
			wait := w.ev[n-r.limit.Count].Add(w.per).Sub(now)
			return &RateLimitError{Scope: r.scope, RetryAfter: wait}
		}
	}
	if record {
		for _, r := range reqs {
			if r.limit.Count >= 0 {
				w := l.window(now, r)
				w.ev = append(w.ev, now)
			}
		}
	}
	return nil
}

// add counts one event for r without checking it, keeping at most Count.
func (l *limiter) add(now time.Time, r limitReq) {
	if r.limit.Count < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.window(now, r)
	w.ev = append(w.ev, now)
	if len(w.ev) > r.limit.Count {
		w.ev = append(w.ev[:0], w.ev[len(w.ev)-r.limit.Count:]...)
	}
}

// sweep forgets, at most once a minute, every key whose events all left
// its window, so idle keys do not pile up.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	for k, w := range l.events {
		if len(w.ev) == 0 || !w.ev[len(w.ev)-1].Add(w.per).After(now) {
			delete(l.events, k)
		}
	}
}

// evict makes room for one more key: it forgets every key whose events
// all left its window and, if still full, the key whose latest event is
// oldest (or that has none).
func (l *limiter) evict(now time.Time) {
	var oldest limitKey
	var oldestAt time.Time
	found := false
	for k, w := range l.events {
		if len(w.ev) == 0 || !w.ev[len(w.ev)-1].Add(w.per).After(now) {
			delete(l.events, k)
			continue
		}
		if last := w.ev[len(w.ev)-1]; !found || last.Before(oldestAt) {
			oldest, oldestAt, found = k, last, true
		}
	}
	if len(l.events) >= l.maxKeys && found {
		delete(l.events, oldest)
	}
}

// size returns how many keys the limiter remembers.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}
