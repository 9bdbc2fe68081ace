package main

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
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

// clientAddr names the client of r for the login limit: its IP address,
// or for IPv6 its /64 network (one host usually owns a whole /64). It
// trusts no forwarding header: behind a reverse proxy every client shares
// the proxy's address, so a host that puts one in front must derive the
// client address from its proxy's header here.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}
