package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/httpapi"
)

// The portal login's limits: at most loginMaxFailures wrong tokens per
// client address within loginWindow, remembering at most loginMaxClients
// addresses.
const (
	loginMaxFailures = 10
	loginWindow      = 15 * time.Minute
	loginMaxClients  = 10000
)

// loginLimiter limits failed portal logins per client address (a sliding
// window, in memory). Once an address has max failures within window,
// every attempt from it, right token or wrong, is refused until its oldest
// failure leaves the window; a successful login forgets its failures. It
// remembers at most maxClients addresses: when full, the address whose
// last failure is oldest is forgotten first.
type loginLimiter struct {
	max        int
	window     time.Duration
	maxClients int
	now        func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time // by client: failure times, oldest first, at most max
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{max: loginMaxFailures, window: loginWindow, maxClients: loginMaxClients, now: now,
		fails: map[string][]time.Time{}}
}

// wait returns how long client must wait before it may try again; 0 means
// it may try now.
func (l *loginLimiter) wait(client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.prune(client, now)
	if len(f) < l.max {
		return 0
	}
	return f[0].Add(l.window).Sub(now)
}

// fail records a failed login of client.
func (l *loginLimiter) fail(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.prune(client, now)
	if f == nil && len(l.fails) >= l.maxClients {
		l.evict(now)
	}
	f = append(f, now)
	if len(f) > l.max {
		f = f[len(f)-l.max:]
	}
	l.fails[client] = f
}

// succeed forgets client's failures.
func (l *loginLimiter) succeed(client string) {
	l.mu.Lock()
	delete(l.fails, client)
	l.mu.Unlock()
}

// prune drops client's failures that left the window and returns the
// rest. l.mu must be held.
func (l *loginLimiter) prune(client string, now time.Time) []time.Time {
	f := l.fails[client]
	i := 0
	for i < len(f) && !now.Before(f[i].Add(l.window)) {
		i++
	}
	if i == len(f) {
		delete(l.fails, client)
		return nil
	}
	f = f[i:]
	l.fails[client] = f
	return f
}

// evict makes room for one more client: it drops every client whose
// failures all left the window and, if still full, the one whose last
// failure is oldest. l.mu must be held.
func (l *loginLimiter) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for c, f := range l.fails {
		last := f[len(f)-1]
		if !now.Before(last.Add(l.window)) {
			delete(l.fails, c)
			continue
		}
		if oldest == "" || last.Before(oldestAt) {
			oldest, oldestAt = c, last
		}
	}
	if len(l.fails) >= l.maxClients {
		delete(l.fails, oldest)
	}
}

// limitBearer counts requests with a wrong bearer token in the login
// limiter, so guessing the admin token through the API (or the outbox)
// is limited exactly like guessing it in the login form: once a client
// address has loginMaxFailures failures within loginWindow, every request
// from it that carries a wrong Authorization header is refused with 429
// until the oldest failure leaves the window (the right token passes). Requests without the header (the
// portal's own pages, with the session cookie) pass through.
func (p *portal) limitBearer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			h.ServeHTTP(w, r)
			return
		}
		// The token is checked first: the right token always passes, so
		// wrong guesses from an address the admin shares (a NAT, a proxy
		// without -trusted-proxies) cannot lock the admin out. Guessing
		// gains nothing from it: a token of at least 24 random characters
		// is out of reach at any rate, and wrong guesses past the limit
		// are refused before any other work.
		if p.auth.authenticated(r) {
			h.ServeHTTP(w, r)
			return
		}
		client := p.a.clientIP.Key(r)
		if wait := p.limit.wait(client); wait > 0 {
			p.a.log.Warn("admin API bearer token rate limited", "client", client)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(httpapi.Problem{Type: "about:blank", Title: "Too Many Requests", Status: http.StatusTooManyRequests,
				Code: "rate_limited", Detail: fmt.Sprintf("too many wrong admin tokens from this address (%d within %d minutes); try again in %s",
					loginMaxFailures, int(loginWindow.Minutes()), waitText(wait))})
			return
		}
		p.limit.fail(client)
		p.a.log.Info("admin API bearer token refused", "client", client)
		h.ServeHTTP(w, r)
	})
}
