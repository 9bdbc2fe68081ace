package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLoginLimiterWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(func() time.Time { return now })
	for i := range loginMaxFailures {
		if w := l.wait("a"); w != 0 {
			t.Fatalf("failure %d: wait %v before the limit", i, w)
		}
		l.fail("a")
		now = now.Add(time.Minute)
	}
	// 10 failures at minutes 0..9; now is minute 10: blocked until minute 15.
	if w := l.wait("a"); w != 5*time.Minute {
		t.Errorf("wait %v, want 5m", w)
	}
	if w := l.wait("b"); w != 0 {
		t.Errorf("another client waits %v", w)
	}
	// The window slides: at minute 15 the first failure has left it.
	now = now.Add(5 * time.Minute)
	if w := l.wait("a"); w != 0 {
		t.Errorf("after the oldest failure left the window: wait %v", w)
	}
	l.fail("a")
	if w := l.wait("a"); w != time.Minute {
		t.Errorf("after one more failure: wait %v, want 1m (until the second leaves)", w)
	}
	// A success forgets the failures.
	l.succeed("a")
	if w := l.wait("a"); w != 0 || len(l.fails) != 0 {
		t.Errorf("after success: wait %v, %d clients remembered", w, len(l.fails))
	}
}

func TestLoginLimiterBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(func() time.Time { return now })
	l.maxClients = 3
	for i := range 3 {
		for range loginMaxFailures {
			l.fail(fmt.Sprint("c", i))
		}
		now = now.Add(time.Second)
	}
	l.fail("new")
	if len(l.fails) != 3 {
		t.Fatalf("%d clients remembered, want 3", len(l.fails))
	}
	if _, ok := l.fails["c0"]; ok {
		t.Error("the client with the oldest last failure was kept")
	}
	if l.wait("c1") == 0 || l.wait("c2") == 0 {
		t.Error("newer blocked clients were forgotten")
	}
	// Expired entries go first, however many.
	now = now.Add(loginWindow)
	l.fail("newer")
	if len(l.fails) != 1 {
		t.Errorf("%d clients after all expired, want 1", len(l.fails))
	}
}

// TestLoginRateLimited drives the portal's login form: after 10 wrong
// tokens from one address every attempt from it is refused with 429, a
// Retry-After and a message on the login page, even with the right token;
// other addresses log in normally.
func TestLoginRateLimited(t *testing.T) {
	d := startDemo(t, t.TempDir(), "-demo-users", "10")
	h := d.a.srv.Handler
	login := func(remote, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/login", strings.NewReader("token="+url.QueryEscape(token)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const attacker, admin = "198.51.100.9:40000", "203.0.113.5:40000"

	// Failures before a success do not block it, and the success resets them.
	for range loginMaxFailures - 1 {
		if w := login(admin, "wrong"); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token: %d", w.Code)
		}
	}
	if w := login(admin, d.token); w.Code != http.StatusSeeOther || len(w.Result().Cookies()) != 1 {
		t.Fatalf("right token after 9 failures: %d", w.Code)
	}
	if w := login(admin, "wrong"); w.Code != http.StatusUnauthorized {
		t.Errorf("wrong token after a success: %d, want 401 (failures reset)", w.Code)
	}

	for i := range loginMaxFailures {
		if w := login(attacker, fmt.Sprint("guess-", i)); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, w.Code)
		}
	}
	for _, tok := range []string{"guess-x"} {
		w := login(attacker, tok)
		secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
		if w.Code != http.StatusTooManyRequests || err != nil || secs < 1 || secs > int(loginWindow.Seconds()) {
			t.Errorf("attempt after 10 failures: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
		body := w.Body.String()
		if !strings.Contains(body, "Too many wrong admin tokens") || !strings.Contains(body, "Try again in 15 minutes") ||
			!strings.Contains(body, `name="token"`) || len(w.Result().Cookies()) != 0 {
			t.Errorf("429 page: cookies %v, body %s", w.Result().Cookies(), body)
		}
	}
	// The right token is checked before the limiter: the admin behind
	// the attacker's address still signs in.
	if w := login(attacker, d.token); w.Code != http.StatusSeeOther || len(w.Result().Cookies()) != 1 {
		t.Errorf("right token after 10 failures: %d, want 303 and a session", w.Code)
	}
	// Another address is unaffected.
	if w := login(admin, d.token); w.Code != http.StatusSeeOther {
		t.Errorf("other address, right token: %d", w.Code)
	}
}
