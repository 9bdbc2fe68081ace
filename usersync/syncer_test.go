package usersync_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

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
	if err != nil {
		t.Fatal(err)
	}
	s := &usersync.Syncer{Source: src, Sink: sink, Concurrency: 3, Logger: discardLogger}
	customers := []string{"healthy", "revoked", "throttled"}

	// First pass: all healthy, everything added.
	for i, r := range s.Sync(t.Context(), customers...) {
		if r.Err != nil {
			t.Fatalf("first pass %s: %v", customers[i], r.Err)
		}
		want := map[string]int{"healthy": 2500, "revoked": 1200, "throttled": 2100}[r.Customer]
		if r.Added != want || r.Changed != 0 || r.Unchanged != 0 || r.Removed != 0 || r.Estimate != int64(want) {
			t.Errorf("first pass %s: %+v, want %d added and estimated", r.Customer, r, want)
		}
		if got := sink.Len(r.Customer); got != want {
			t.Errorf("first pass %s: sink holds %d users, want %d", r.Customer, got, want)
		}
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
	if err != nil {
		t.Fatal(err)
	}
	s = &usersync.Syncer{Source: src, Sink: sink, Concurrency: 3}
	results := s.Sync(t.Context(), customers...)

	h := results[0]
	if h.Err != nil {
		t.Fatalf("healthy: %v", h.Err)
	}
	changed := (2000 + 6) / 7 // i % 7 == 0 for i < 2000
	if h.Added != 0 || h.Changed != changed || h.Unchanged != 2000-changed || h.Removed != 500 || h.Pages != 3 {
		t.Errorf("healthy: %+v, want 0 added, %d changed, %d unchanged, 500 removed, 3 pages", h.Counts, changed, 2000-changed)
	}
	if got := sink.Len("healthy"); got != 2000 {
		t.Errorf("healthy: sink holds %d users, want 2000", got)
	}

	r := results[1]
	var me *m365access.Error
	if !errors.As(r.Err, &me) || !me.HasCode(50173) {
		t.Errorf("revoked: err = %v, want the *m365access.Error with AADSTS50173", r.Err)
	}
	if r.Action != m365access.ActionReInvite {
		t.Errorf("revoked: action %q, want %q", r.Action, m365access.ActionReInvite)
	}
	if r.Pages != 0 || r.Removed != 0 {
		t.Errorf("revoked: %+v, want no pages and nothing removed", r)
	}

	th := results[2]
	if !errors.As(th.Err, &me) || me.HTTPStatus != http.StatusTooManyRequests || me.GraphCode != "TooManyRequests" {
		t.Errorf("throttled: err = %v, want *m365access.Error 429 TooManyRequests", th.Err)
	}
	if th.Action != m365access.ActionWaitAndRetry {
		t.Errorf("throttled: action %q, want %q", th.Action, m365access.ActionWaitAndRetry)
	}
	if th.Pages != 1 || th.Unchanged != 999 || th.Removed != 0 {
		t.Errorf("throttled: %+v, want 1 page read, 999 unchanged, nothing removed", th)
	}
	// 1 good page, then the failing request and its 2 retries.
	if got := throttled.requests.Load() - throttledReqs; got != 4 {
		t.Errorf("throttled: %d requests, want 4 (1 page + 1 + 2 retries)", got)
	}

	for _, c := range []string{"revoked", "throttled"} {
		after := sink.Users(c)
		if len(after) != len(before[c]) {
			t.Errorf("%s: sink holds %d users after the failed pass, want the previous %d", c, len(after), len(before[c]))
			continue
		}
		for i := range after {
			if !reflect.DeepEqual(after[i], before[c][i]) {
				t.Errorf("%s: user %d changed by a failed pass: %+v -> %+v", c, i, before[c][i], after[i])
				break
			}
		}
	}
}

func TestSyncForbiddenNeedsConsent(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	tn := fg.addTenant("c1", 10)
	tn.set(func(c *tenantConfig) { c.status, c.code = http.StatusForbidden, "Authorization_RequestDenied" })
	src, err := fg.source(usersync.GraphOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}}
	r := s.SyncCustomer(t.Context(), "c1")
	var me *m365access.Error
	if !errors.As(r.Err, &me) || me.HTTPStatus != 403 || r.Action != m365access.ActionGrantConsent {
		t.Fatalf("err = %v, action %q; want 403 with action %q", r.Err, r.Action, m365access.ActionGrantConsent)
	}
	if got := tn.requests.Load(); got != 1 {
		t.Errorf("403 sent %d requests, want 1 (not retried)", got)
	}
}

func TestSyncFilter(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	fg.addTenant("c1", 3000)
	src, err := fg.source(usersync.GraphOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
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
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Read != tt.read || r.Matched != tt.want || r.Added != tt.want || sink.Len("c1") != tt.want {
				t.Errorf("read %d matched %d added %d stored %d; want read %d, %d matched", r.Read, r.Matched, r.Added, sink.Len("c1"), tt.read, tt.want)
			}
			if tt.filter != "" && (len(compiled) != 1 || compiled[0] != tt.filter) {
				t.Errorf("compiled %q, want [%q]", compiled, tt.filter)
			}
			for _, u := range sink.Users("c1") {
				if tt.q.Filter != "" && u.UsageLocation != "IT" || tt.q.Match != nil && !tt.q.Match(&u) {
					t.Fatalf("stored user outside the filter: %+v", u)
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
		t.Error("source read despite a bad filter")
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
	if !errors.As(r.Err, &fe) || fe.Customer != "c1" || r.Action != m365access.ActionFixFilter {
		t.Fatalf("err = %v, action %q; want *FilterError with %q", r.Err, r.Action, m365access.ActionFixFilter)
	}
}

func TestSyncCancelKeepsSnapshot(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	tn := fg.addTenant("c1", 3000)
	src, err := fg.source(usersync.GraphOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &usersync.MemorySink{}
	s := &usersync.Syncer{Source: src, Sink: sink}
	if r := s.SyncCustomer(t.Context(), "c1"); r.Err != nil {
		t.Fatal(r.Err)
	}
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
	if !errors.Is(r.Err, context.Canceled) || r.Action != m365access.ActionNone {
		t.Fatalf("err = %v, action %q; want context.Canceled, no action", r.Err, r.Action)
	}
	after := sink.Users("c1")
	if len(after) != len(before) {
		t.Fatalf("cancelled pass left %d users, want the previous %d", len(after), len(before))
	}
	for i := range after {
		if !reflect.DeepEqual(after[i], before[i]) {
			t.Fatalf("cancelled pass changed user %d", i)
		}
	}
	if len(events) != 2 || events[0].Pages != 1 || events[0].Read != 999 || events[0].Estimate != 1000 || events[0].Done || !events[1].Done {
		t.Errorf("progress events %+v, want one page event (999 read, 1000 estimated) then done", events)
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
	if r := s.SyncCustomer(t.Context(), "c1"); !errors.Is(r.Err, usersync.ErrInProgress) {
		t.Errorf("second concurrent sync: err = %v, want ErrInProgress", r.Err)
	}
	close(release)
	if r := <-done; r.Err != nil || r.Added != 1 {
		t.Errorf("first sync: %+v", r)
	}
}

func TestGraphSourceRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	fg := newFakeGraph()
	defer fg.Close()
	fg.addTenant("c1", 5)
	src, err := fg.source(usersync.GraphOptions{AllowedHosts: []string{"graph.microsoft.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = src.Read(t.Context(), "c1", usersync.Query{}, func(usersync.Page) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "AllowedHosts") {
		t.Fatalf("err = %v, want the allowed hosts error", err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
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
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Read != tt.read || r.Matched != tt.want || sink.Len("c1") != tt.want {
				t.Errorf("read %d, matched %d, stored %d; want %d read, %d matched", r.Read, r.Matched, sink.Len("c1"), tt.read, tt.want)
			}
		})
	}
	s := &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}, Logger: discardLogger,
		Filters: usersync.FilterFunc(func(context.Context, string) (string, error) { return "SipAddress -eq 'sip:a@b'", nil })}
	r := s.SyncCustomer(t.Context(), "c1")
	var fe *usersync.FilterError
	if !errors.As(r.Err, &fe) || r.Action != m365access.ActionFixFilter || r.Pages != 0 {
		t.Errorf("Teams-only attribute: err %v, action %q, %d pages; want *FilterError, %q, no page", r.Err, r.Action, r.Pages, m365access.ActionFixFilter)
	}
}
