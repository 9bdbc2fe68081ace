package qoe

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// ReceiverLimits bound the work the unauthenticated receiver (Handler)
// does for one request and for one client, so that a flood of forged
// notifications costs a bounded number of database round trips, log
// lines and connections. The zero value is the documented defaults.
type ReceiverLimits struct {
	// MaxNotifications caps the notifications of one POST; a longer
	// collection is answered 413 and nothing of it is queued. Graph
	// delivers change notifications in small batches (one to a few
	// dozen); zero means 100.
	MaxNotifications int
	// MaxConcurrent caps the POSTs the receiver works on at once; a POST
	// waits for a free slot within its 2.5 s acknowledgement budget, then
	// is answered 503 with Retry-After and Graph delivers it again. Each
	// holds a connection of the Store's pool only for its one lookup, so
	// the API's reads and the jobs keep connections during a flood. Zero
	// means 16.
	MaxConcurrent int
	// PerClient is the sustained number of POSTs per second accepted
	// from one client (see ClientKey), with bursts of twice as many; a
	// POST over it is answered 429 with Retry-After before its body is
	// read. Zero means 50; negative means no per-client limit (a test
	// that sends everything from one address).
	PerClient float64
	// ClientKey names the client of a request; nil means the IP address
	// of RemoteAddr. Behind a reverse proxy, return the address it
	// forwards (and only from a proxy you trust).
	ClientKey func(r *http.Request) string
}

// Defaults of ReceiverLimits.
const (
	defaultMaxNotifications = 100
	defaultMaxConcurrent    = 16
	defaultPerClient        = 50
	// maxClients bounds the per-client buckets kept; when full, the
	// buckets that are full again (idle clients) are dropped, and if none
	// is, all are (a flood from many addresses then meets MaxConcurrent).
	maxClients = 10000
)

func (l ReceiverLimits) withDefaults() ReceiverLimits {
	if l.MaxNotifications <= 0 {
		l.MaxNotifications = defaultMaxNotifications
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = defaultMaxConcurrent
	}
	if l.PerClient == 0 {
		l.PerClient = defaultPerClient
	}
	if l.ClientKey == nil {
		l.ClientKey = remoteIP
	}
	return l
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientLimiter is a token bucket per client.
type clientLimiter struct {
	rate  float64 // tokens per second; <= 0 means unlimited
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newClientLimiter(rate float64, now func() time.Time) *clientLimiter {
	return &clientLimiter{rate: rate, burst: 2 * rate, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token of client's bucket; when there is none it returns
// false and how long until there is one.
func (l *clientLimiter) allow(client string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[client]
	if b == nil {
		if len(l.buckets) >= maxClients {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[client] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (l *clientLimiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxClients {
		clear(l.buckets)
	}
}
