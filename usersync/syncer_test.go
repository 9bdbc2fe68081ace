package usersync_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync"
)

// revoked is what m365access returns for a refresh token revoked by a
// password reset (AADSTS50173; m365access's tests check its parsing).
func revoked(customer string) error {
	return &m365access.Error{Op: "refresh token", Customer: customer, HTTPStatus: http.StatusBadRequest,
		OAuthError: "invalid_grant", Codes: []int{50173}, Description: "AADSTS50173: The provided grant has expired due to it being revoked.",
		Action: m365access.ActionReInvite}
}

func TestSyncThreeCustomersOneRevokedOneThrottled(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	healthy := fg.addTenant("healthy", 2500)
	fg.addTenant("revoked", 1200)
	throttled := fg.addTenant("throttled", 2100)

	sink := &usersync.MemorySink{}
	src, err := fg.source(usersync.GraphOptions{}, nil)
	require.NoError(t, err)
	s := &usersync.Syncer{Source: src, Sink: sink, Concurrency: 3, Logger: discardLogger}
	customers := []string{"healthy", "revoked", "throttled"}

	// First pass: all healthy, everything added.
	for i, r := range s.Sync(t.Context(), customers...) {
		require.NoError(t, r.Err, "first pass %s", customers[i])
		want := map[string]int{"healthy": 2500, "revoked": 1200, "throttled": 2100}[r.Customer]
		assert.Equal(t, want, r.Added, "first pass %s: added", r.Customer)
		assert.Zero(t, r.Changed, "first pass %s: changed", r.Customer)
		assert.Zero(t, r.Unchanged, "first pass %s: unchanged", r.Customer)
		assert.Zero(t, r.Removed, "first pass %s: removed", r.Customer)
		assert.Equal(t, int64(want), r.Estimate, "first pass %s: estimate", r.Customer)
		assert.Equal(t, want, sink.Len(r.Customer), "first pass %s: users in the sink", r.Customer)
	}
	before := map[string][]usersync.User{}
	for _, c := range customers {
		before[c] = sink.Users(c)
	}

	// Second pass: the healthy tenant shrank and changed; one token was
	// revoked; the other tenant throttles from its second page on, beyond
	// the retries.
	healthy.set(func(c *tenantConfig) { c.n, c.changeMod = 2000, 7 })
	throttled.set(func(c *tenantConfig) {
		c.status, c.code, c.failAt = http.StatusTooManyRequests, "TooManyRequests", int(throttled.pages.Load())+1
	})
	throttledReqs := throttled.requests.Load()
	src, err = fg.source(usersync.GraphOptions{MaxRetries: 2}, map[string]error{"revoked": revoked("revoked")})
	require.NoError(t, err)
	s = &usersync.Syncer{Source: src, Sink: sink, Concurrency: 3}
	results := s.Sync(t.Context(), customers...)

	h := results[0]
	require.NoError(t, h.Err, "healthy")
	changed := (2000 + 6) / 7 // i % 7 == 0 for i < 2000
	assert.Zero(t, h.Added, "healthy: added")
	assert.Equal(t, changed, h.Changed, "healthy: changed")
	assert.Equal(t, 2000-changed, h.Unchanged, "healthy: unchanged")
	assert.Equal(t, 500, h.Removed, "healthy: removed")
	assert.Equal(t, 3, h.Pages, "healthy: pages")
	assert.Equal(t, 2000, sink.Len("healthy"), "healthy: users in the sink")

	r := results[1]
	var me *m365access.Error
	if assert.ErrorAs(t, r.Err, &me, "revoked: want the *m365access.Error") {
		assert.True(t, me.HasCode(50173), "revoked: err = %v, want AADSTS50173", r.Err)
	}
	assert.Equal(t, m365access.ActionReInvite, r.Action, "revoked: action")
	assert.Zero(t, r.Pages, "revoked: pages")
	assert.Zero(t, r.Removed, "revoked: removed")

	th := results[2]
	if assert.ErrorAs(t, th.Err, &me, "throttled: want *m365access.Error") {
		assert.Equal(t, http.StatusTooManyRequests, me.HTTPStatus, "throttled: HTTP status")
		assert.Equal(t, "TooManyRequests", me.GraphCode, "throttled: Graph code")
	}
	assert.Equal(t, m365access.ActionWaitAndRetry, th.Action, "throttled: action")
	assert.Equal(t, 1, th.Pages, "throttled: pages read")
	assert.Equal(t, 999, th.Unchanged, "throttled: unchanged")
	assert.Zero(t, th.Removed, "throttled: removed")
	// 1 good page, then the failing request and its 2 retries.
	assert.EqualValues(t, 4, throttled.requests.Load()-throttledReqs, "throttled: requests (1 page + 1 + 2 retries)")

	for _, c := range []string{"revoked", "throttled"} {
		// A failed pass changes no user.
		assert.Equal(t, before[c], sink.Users(c), "%s: users after the failed pass", c)
	}
}

func TestSyncForbiddenNeedsConsent(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	tn := fg.addTenant("c1", 10)
	tn.set(func(c *tenantConfig) { c.status, c.code = http.StatusForbidden, "Authorization_RequestDenied" })
	src, err := fg.source(usersync.GraphOptions{}, nil)
	require.NoError(t, err)
	s := &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}}
	r := s.SyncCustomer(t.Context(), "c1")
	var me *m365access.Error
	require.ErrorAs(t, r.Err, &me)
	require.Equal(t, 403, me.HTTPStatus, "HTTP status")
	require.Equal(t, m365access.ActionGrantConsent, r.Action, "action")
	assert.EqualValues(t, 1, tn.requests.Load(), "requests a 403 sent (not retried)")
}

func TestSyncFilter(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	fg.addTenant("c1", 3000)
	src, err := fg.source(usersync.GraphOptions{}, nil)
	require.NoError(t, err)
	tests := []struct {
		name   string
		filter string
		q      usersync.Query
		read   int
		want   int
	}{
		{"all", "", usersync.Query{}, 3000, 3000},
		{"server side", "UsageLocation -eq 'IT'", usersync.Query{Filter: "usageLocation eq 'IT'"}, 300, 300},
		{"advanced", "UsageLocation -eq 'IT'", usersync.Query{Filter: "usageLocation eq 'IT'", Advanced: true}, 300, 300},
		{"client side remainder", "UsageLocation -eq 'IT' -and DisplayName -like '*5*'",
			usersync.Query{Filter: "usageLocation eq 'IT'", Match: func(u *usersync.User) bool {
				return strings.Contains(u.DisplayName, "5")
			}}, 300, 300 - countWithout5(3000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &usersync.MemorySink{}
			var compiled []string
			s := &usersync.Syncer{
				Source: src, Sink: sink,
				Filters: usersync.FilterFunc(func(context.Context, string) (string, error) { return tt.filter, nil }),
				Compile: func(text string) (usersync.Query, error) {
					compiled = append(compiled, text)
					return tt.q, nil
				},
			}
			r := s.SyncCustomer(t.Context(), "c1")
			require.NoError(t, r.Err)
			assert.Equal(t, tt.read, r.Read, "read")
			assert.Equal(t, tt.want, r.Matched, "matched")
			assert.Equal(t, tt.want, r.Added, "added")
			assert.Equal(t, tt.want, sink.Len("c1"), "stored")
			if tt.filter != "" {
				assert.Equal(t, []string{tt.filter}, compiled, "compiled")
			}
			for _, u := range sink.Users("c1") {
				if tt.q.Filter != "" {
					require.Equal(t, "IT", u.UsageLocation, "stored user outside the filter: %+v", u)
				}
				if tt.q.Match != nil {
					require.True(t, tt.q.Match(&u), "stored user outside the filter: %+v", u)
				}
			}
		})
	}
}

// countWithout5 counts the IT users (i % 10 == 4) below n whose display
// name "User %05d" has no digit 5.
func countWithout5(n int) int {
	c := 0
	for i := 4; i < n; i += 10 {
		if !strings.Contains(strings.TrimPrefix(userName(i), "User "), "5") {
			c++
		}
	}
	return c
}

func userName(i int) string {
	t := fakeTenant{}
	return t.demoUser(i, tenantConfig{}).DisplayName
}

func TestSyncBadFilter(t *testing.T) {
	t.Parallel()
	src := usersync.SourceFunc(func(context.Context, string, usersync.Query, func(usersync.Page) error) error {
		assert.Fail(t, "source read despite a bad filter")
		return nil
	})
	s := &usersync.Syncer{
		Source: src, Sink: &usersync.MemorySink{},
		Filters: usersync.FilterFunc(func(context.Context, string) (string, error) { return "Foo -eq", nil }),
		Compile: func(string) (usersync.Query, error) {
			return usersync.Query{}, errors.New("expected a value after -eq")
		},
	}
	r := s.SyncCustomer(t.Context(), "c1")
	var fe *usersync.FilterError
	require.ErrorAs(t, r.Err, &fe)
	require.Equal(t, "c1", fe.Customer, "FilterError's customer")
	require.Equal(t, m365access.ActionFixFilter, r.Action, "action")
}

func TestSyncCancelKeepsSnapshot(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	tn := fg.addTenant("c1", 3000)
	src, err := fg.source(usersync.GraphOptions{}, nil)
	require.NoError(t, err)
	sink := &usersync.MemorySink{}
	s := &usersync.Syncer{Source: src, Sink: sink}
	require.NoError(t, s.SyncCustomer(t.Context(), "c1").Err)
	before := sink.Users("c1")

	// A complete pass would change 1,000 users and remove 2,000.
	tn.set(func(c *tenantConfig) { c.n, c.changeMod = 1000, 1 })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var events []usersync.Progress
	var mu sync.Mutex
	s = &usersync.Syncer{Source: src, Sink: sink, OnProgress: func(p usersync.Progress) {
		mu.Lock()
		events = append(events, p)
		mu.Unlock()
		cancel()
	}}
	r := s.SyncCustomer(ctx, "c1")
	require.ErrorIs(t, r.Err, context.Canceled)
	require.Equal(t, m365access.ActionNone, r.Action, "action")
	after := sink.Users("c1")
	require.Len(t, after, len(before), "users the cancelled pass left")
	require.Equal(t, before, after, "users after the cancelled pass")
	// One page event (999 read, 1000 estimated), then done.
	if assert.Len(t, events, 2, "progress events") {
		assert.Equal(t, 1, events[0].Pages, "page event: pages")
		assert.Equal(t, 999, events[0].Read, "page event: read")
		assert.EqualValues(t, 1000, events[0].Estimate, "page event: estimate")
		assert.False(t, events[0].Done, "page event: done")
		assert.True(t, events[1].Done, "last event: done")
	}
}

func TestSyncInProgress(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	src := usersync.SourceFunc(func(ctx context.Context, c string, q usersync.Query, fn func(usersync.Page) error) error {
		close(started)
		<-release
		return fn(usersync.Page{Users: []usersync.User{{ID: "1"}}, Estimate: -1})
	})
	s := &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}}
	done := make(chan usersync.Result)
	go func() { done <- s.SyncCustomer(t.Context(), "c1") }()
	<-started
	assert.ErrorIs(t, s.SyncCustomer(t.Context(), "c1").Err, usersync.ErrInProgress, "second concurrent sync")
	close(release)
	r := <-done
	assert.NoError(t, r.Err, "first sync")
	assert.Equal(t, 1, r.Added, "first sync: added")
}

func TestGraphSourceRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	fg.addTenant("c1", 5)
	src, err := fg.source(usersync.GraphOptions{AllowedHosts: []string{"graph.microsoft.com"}}, nil)
	require.NoError(t, err)
	err = src.Read(t.Context(), "c1", usersync.Query{}, func(usersync.Page) error { return nil })
	require.ErrorContains(t, err, "AllowedHosts", "want the allowed hosts error")
}

// TestSyncCompiledFilter runs filters through the default compiler
// (usersync/filter): the pushed-down part goes to Graph, the rest runs
// on the returned users.
func TestSyncCompiledFilter(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	fg.addTenant("c1", 3000)
	src, err := fg.source(usersync.GraphOptions{}, nil)
	require.NoError(t, err)
	tests := []struct {
		filter     string
		read, want int
	}{
		{"UsageLocation -eq 'IT'", 300, 300},
		{"{ usagelocation -EQ \"IT\" }", 300, 300},
		{"UsageLocation -eq 'IT' -and DisplayName -like '*5*'", 300, 300 - countWithout5(3000)},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			sink := &usersync.MemorySink{}
			s := &usersync.Syncer{Source: src, Sink: sink, Logger: discardLogger,
				Filters: usersync.FilterFunc(func(context.Context, string) (string, error) { return tt.filter, nil })}
			r := s.SyncCustomer(t.Context(), "c1")
			require.NoError(t, r.Err)
			assert.Equal(t, tt.read, r.Read, "read")
			assert.Equal(t, tt.want, r.Matched, "matched")
			assert.Equal(t, tt.want, sink.Len("c1"), "stored")
		})
	}
	s := &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}, Logger: discardLogger,
		Filters: usersync.FilterFunc(func(context.Context, string) (string, error) { return "SipAddress -eq 'sip:a@b'", nil })}
	r := s.SyncCustomer(t.Context(), "c1")
	var fe *usersync.FilterError
	assert.ErrorAs(t, r.Err, &fe, "Teams-only attribute")
	assert.Equal(t, m365access.ActionFixFilter, r.Action, "Teams-only attribute: action")
	assert.Zero(t, r.Pages, "Teams-only attribute: pages")
}
