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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoginLimiterWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(func() time.Time { return now })
	for i := range loginMaxFailures {
		require.Zero(t, l.wait("a"), "failure %d: wait before the limit", i)
		l.fail("a")
		now = now.Add(time.Minute)
	}
	// 10 failures at minutes 0..9; now is minute 10: blocked until minute 15.
	assert.Equal(t, 5*time.Minute, l.wait("a"))
	assert.Zero(t, l.wait("b"), "another client waits")
	// The window slides: at minute 15 the first failure has left it.
	now = now.Add(5 * time.Minute)
	assert.Zero(t, l.wait("a"), "after the oldest failure left the window")
	l.fail("a")
	assert.Equal(t, time.Minute, l.wait("a"), "after one more failure: until the second leaves")
	// A success forgets the failures.
	l.succeed("a")
	assert.Zero(t, l.wait("a"), "after success: wait")
	assert.Empty(t, l.fails, "after success: clients remembered")
}

func TestLoginLimiterBounded(t *testing.T) {
	t.Parallel()
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
	require.Len(t, l.fails, 3, "clients remembered")
	assert.NotContains(t, l.fails, "c0", "the client with the oldest last failure was kept")
	assert.NotZero(t, l.wait("c1"), "a newer blocked client was forgotten")
	assert.NotZero(t, l.wait("c2"), "a newer blocked client was forgotten")
	// Expired entries go first, however many.
	now = now.Add(loginWindow)
	l.fail("newer")
	assert.Len(t, l.fails, 1, "clients after all expired")
}

// TestLoginRateLimited drives the portal's login form: after 10 wrong
// tokens from one address every attempt from it is refused with 429, a
// Retry-After and a message on the login page, even with the right token;
// other addresses log in normally.
func TestLoginRateLimited(t *testing.T) {
	t.Parallel()
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
		require.Equal(t, http.StatusUnauthorized, login(admin, "wrong").Code, "wrong token")
	}
	w := login(admin, d.token)
	require.Equal(t, http.StatusSeeOther, w.Code, "right token after 9 failures")
	require.Len(t, w.Result().Cookies(), 1, "right token after 9 failures: cookies")
	assert.Equal(t, http.StatusUnauthorized, login(admin, "wrong").Code, "wrong token after a success (failures reset)")

	for i := range loginMaxFailures {
		require.Equal(t, http.StatusUnauthorized, login(attacker, fmt.Sprint("guess-", i)).Code, "guess %d", i)
	}
	for _, tok := range []string{"guess-x"} {
		w := login(attacker, tok)
		assert.Equal(t, http.StatusTooManyRequests, w.Code, "attempt after 10 failures")
		secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
		if assert.NoError(t, err, "attempt after 10 failures: Retry-After %q", w.Header().Get("Retry-After")) {
			assert.GreaterOrEqual(t, secs, 1, "Retry-After")
			assert.LessOrEqual(t, secs, int(loginWindow.Seconds()), "Retry-After")
		}
		body := w.Body.String()
		assert.Contains(t, body, "Too many wrong admin tokens", "429 page")
		assert.Contains(t, body, "Try again in 15 minutes", "429 page")
		assert.Contains(t, body, `name="token"`, "429 page")
		assert.Empty(t, w.Result().Cookies(), "429 page: cookies")
	}
	// The right token is checked before the limiter: the admin behind
	// the attacker's address still signs in.
	w = login(attacker, d.token)
	assert.Equal(t, http.StatusSeeOther, w.Code, "right token after 10 failures")
	assert.Len(t, w.Result().Cookies(), 1, "right token after 10 failures: a session")
	// Another address is unaffected.
	assert.Equal(t, http.StatusSeeOther, login(admin, d.token).Code, "other address, right token")
}
