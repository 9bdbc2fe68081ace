package usersync_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/filter"
)

// setFilter changes the customer's user filter.
func (c *cloud) setFilter(t testing.TB, customer, f string) {
	t.Helper()
	if _, err := c.m.SaveSettings(t.Context(), customer, m365access.SettingsUpdate{UserFilter: &f}); err != nil {
		t.Fatal(err)
	}
}

func byUPN(users []usersync.User, upn string) *usersync.User {
	for i := range users {
		if users[i].UserPrincipalName == upn {
			return &users[i]
		}
	}
	return nil
}

// TestSyncTeamsDemo syncs the 50,000-user demo tenant with Teams filters
// and checks the counts the demo rule predicts, and user 00024's record.
func TestSyncTeamsDemo(t *testing.T) {
	t.Parallel()
	c := newCloud(t)
	c.connect(t, "contoso", 50_000, "")
	for _, tt := range []struct {
		filter string
		want   int
		mode   usersync.TeamsMode
	}{
		{"EnterpriseVoiceEnabled -eq $true", 16_667, usersync.TeamsList},
		{"LineUri -like 'tel:+39*'", 1_666, usersync.TeamsList},
		{"UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true", 1_666, usersync.TeamsList},
		{"OnlineVoiceRoutingPolicy -eq 'VRP-IT'", 1_666, usersync.TeamsList}, // every Italian user is even
		// 1,000 users in Milan's Sales department: 50 batches beat 51 pages.
		{"Department -eq 'Sales' -and City -eq 'Milan' -and EnterpriseVoiceEnabled -eq $true", 333, usersync.TeamsBatch},
	} {
		c.setFilter(t, "contoso", tt.filter)
		sink := &usersync.MemorySink{}
		r := c.syncer(t, sink, 0).SyncCustomer(t.Context(), "contoso")
		if r.Err != nil || r.Added != tt.want || sink.Len("contoso") != tt.want || r.Teams.Mode != tt.mode {
			t.Errorf("%s: added %d, stored %d, mode %q, err %v; want %d, %q", tt.filter, r.Added, sink.Len("contoso"), r.Teams.Mode, r.Err, tt.want, tt.mode)
		}
		p, _ := filter.Compile(tt.filter)
		for _, u := range sink.Users("contoso") {
			if !p.Match(&u) {
				t.Fatalf("%s: stored %s, which does not match", tt.filter, u.UserPrincipalName)
			}
		}
		// Pages count the /users pages read, whatever the join held back.
		if tt.filter == "EnterpriseVoiceEnabled -eq $true" && r.Pages != 51 {
			t.Errorf("%s: %d pages, want the 51 /users pages", tt.filter, r.Pages)
		}
		if u := byUPN(sink.Users("contoso"), "user00024@contoso.onmicrosoft.com"); tt.want == 1_666 && u == nil {
			t.Errorf("%s: user 00024 not synced", tt.filter)
		}
	}

	c.setFilter(t, "contoso", "")
	sink := &usersync.MemorySink{}
	r := c.syncer(t, sink, 0).SyncCustomer(t.Context(), "contoso")
	if r.Err != nil || r.Added != 50_001 || r.Teams.Mode != usersync.TeamsList || r.Teams.Requests != 51 {
		t.Fatalf("all users: added %d, teams %+v, err %v", r.Added, r.Teams, r.Err)
	}
	u := byUPN(sink.Users("contoso"), "user00024@contoso.onmicrosoft.com")
	if u == nil || u.Teams == nil {
		t.Fatalf("user 00024 = %+v", u)
	}
	if u.Teams.LineURI() != "tel:+39020000024" || u.Teams.Policies["OnlineVoiceRoutingPolicy"] != "VRP-IT" ||
		u.Teams.Policies["TenantDialPlan"] != "DP-IT" || u.Teams.Policies["TeamsCallingPolicy"] != "AllowCalling" ||
		!u.Teams.EnterpriseVoiceEnabled || u.Teams.AccountType != "user" || len(u.Teams.FeatureTypes) != 3 {
		t.Errorf("user 00024 Teams = %+v", *u.Teams)
	}
	if a := byUPN(sink.Users("contoso"), "admin@contoso.onmicrosoft.com"); a == nil || a.Teams == nil || a.Teams.EnterpriseVoiceEnabled || a.Teams.LineURI() != "" {
		t.Errorf("admin = %+v", a)
	}
}

// TestSyncTeamsRefusedFilter: the fake refuses a $filter on
// telephoneNumbers; the sync reads without it, gets the right users, and
// does not send it again for that customer.
func TestSyncTeamsRefusedFilter(t *testing.T) {
	t.Parallel()
	c := newCloud(t)
	tn := c.connect(t, "fab", 3000, "LineUri -like 'tel:+39*' -or LineUri -like 'tel:+44*'")
	sink := &usersync.MemorySink{}
	s := c.syncer(t, sink, 0)
	for round := range 2 {
		r := s.SyncCustomer(t.Context(), "fab")
		// i % 3 == 0 and i % 10 == 4 (IT) or 1 (GB): 100 + 100 users.
		if r.Err != nil || sink.Len("fab") != 200 || r.Teams.Refused == "" || r.Teams.Filter != "" {
			t.Fatalf("round %d: stored %d, teams %+v, err %v", round, sink.Len("fab"), r.Teams, r.Err)
		}
	}
	if n := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsUserConfigurations, Tenant: tn.ID, Status: http.StatusBadRequest}); n != 1 {
		t.Errorf("the refused filter was sent %d times, want once", n)
	}
	// A filter the fake accepts is evaluated by Graph.
	c.setFilter(t, "fab", "EnterpriseVoiceEnabled -eq $true -and AccountEnabled -eq $true")
	r := s.SyncCustomer(t.Context(), "fab")
	if r.Err != nil || r.Teams.Filter != "isEnterpriseVoiceEnabled eq true" || r.Teams.Refused != "" || sink.Len("fab") != 950 {
		t.Errorf("accepted filter: stored %d, teams %+v, err %v", sink.Len("fab"), r.Teams, r.Err)
	}
}

// TestSyncTeamsChanges: a change to a user's Teams configuration alone
// counts as a changed user.
func TestSyncTeamsChanges(t *testing.T) {
	t.Parallel()
	c := newCloud(t)
	tn := c.connect(t, "nw", 300, "")
	sink := &usersync.MemorySink{}
	s := c.syncer(t, sink, 0)
	if r := s.SyncCustomer(t.Context(), "nw"); r.Err != nil || r.Added != 301 {
		t.Fatalf("first sync: %+v %v", r.Counts, r.Err)
	}
	upn := "user00025@nw.onmicrosoft.com"
	cfg, err := c.srv.TeamsUserConfiguration(tn.ID, upn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.IsEnterpriseVoiceEnabled = true
	cfg.TelephoneNumbers = []m365test.TeamsTelephoneNumber{{TelephoneNumber: "+34910000025", AssignmentCategory: "primary"}}
	if err := c.srv.SetTeamsUserConfiguration(tn.ID, upn, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.srv.SetTeamsUserConfiguration(tn.ID, "user00024@nw.onmicrosoft.com", nil); err != nil {
		t.Fatal(err)
	}
	r := s.SyncCustomer(t.Context(), "nw")
	if r.Err != nil || r.Changed != 2 || r.Unchanged != 299 || r.Added+r.Removed != 0 {
		t.Errorf("after two Teams changes: %+v, err %v; want 2 changed", r.Counts, r.Err)
	}
	users := sink.Users("nw")
	if u := byUPN(users, upn); u == nil || u.Teams.LineURI() != "tel:+34910000025" {
		t.Errorf("user 25 = %+v", u)
	}
	if u := byUPN(users, "user00024@nw.onmicrosoft.com"); u == nil || u.Teams != nil {
		t.Errorf("user 24 without configuration = %+v", u)
	}
	// A user whose configuration was removed reads null: with a Teams
	// filter pushed to Graph it is excluded, as the filter says.
	c.setFilter(t, "nw", "EnterpriseVoiceEnabled -eq $true")
	if r := s.SyncCustomer(t.Context(), "nw"); r.Err != nil || sink.Len("nw") != 100 {
		t.Errorf("voice users: stored %d, err %v; want 100 (user 24 lost voice, user 25 gained it)", sink.Len("nw"), r.Err)
	}
	// Six users in Milan's Sales department. This source listed the
	// tenant in one page, so it lists again; a new source, which assumes
	// a large tenant, fetches the six configurations in one JSON batch.
	c.setFilter(t, "nw", "Department -eq 'Sales' -and City -eq 'Milan'")
	r = s.SyncCustomer(t.Context(), "nw")
	if r.Err != nil || sink.Len("nw") != 6 || r.Teams.Mode != usersync.TeamsList || r.Teams.Requests != 1 {
		t.Fatalf("Milan's Sales: stored %d, teams %+v, err %v; want 6 by listing one page", sink.Len("nw"), r.Teams, r.Err)
	}
	r = c.syncer(t, sink, 0).SyncCustomer(t.Context(), "nw")
	if r.Err != nil || sink.Len("nw") != 6 || r.Unchanged != 6 || r.Teams.Mode != usersync.TeamsBatch || r.Teams.Requests != 1 {
		t.Fatalf("Milan's Sales, new source: stored %d, %+v, teams %+v, err %v; want 6 unchanged by one batch", sink.Len("nw"), r.Counts, r.Teams, r.Err)
	}
	if u := byUPN(sink.Users("nw"), "user00054@nw.onmicrosoft.com"); u == nil || u.Teams.LineURI() != "tel:+39020000054" || u.Teams.Policies["OnlineVoiceRoutingPolicy"] != "VRP-IT" {
		t.Errorf("user 54 by batch = %+v", u)
	}
}

// TestSyncTeamsPermission: without TeamsUserConfiguration.Read.All the
// sync fails with the action to grant consent and keeps the stored users.
func TestSyncTeamsPermission(t *testing.T) {
	t.Parallel()
	c := newCloud(t)
	tn := c.connect(t, "np", 50, "")
	sink := &usersync.MemorySink{}
	s := c.syncer(t, sink, 0)
	if r := s.SyncCustomer(t.Context(), "np"); r.Err != nil {
		t.Fatal(r.Err)
	}
	remove := c.srv.InjectFault(m365test.Fault{Tenant: tn.ID, Endpoint: m365test.EndpointTeamsUserConfigurations, Status: http.StatusForbidden})
	defer remove()
	r := s.SyncCustomer(t.Context(), "np")
	var me *m365access.Error
	if !errors.As(r.Err, &me) || me.HTTPStatus != http.StatusForbidden || sink.Len("np") != 51 {
		t.Errorf("forbidden: err %v, action %q, stored %d", r.Err, r.Action, sink.Len("np"))
	}
}

// pairedCloud is a 5,000-user tenant whose Teams listing the source has
// already paged (one sync of every user), so a filtered sync lists the
// Teams configurations instead of fetching them by ID; /users pages hold
// 100 users.
func pairedCloud(t *testing.T) (*cloud, *m365test.Tenant, *usersync.Syncer, *usersync.MemorySink) {
	t.Helper()
	c := newCloud(t)
	tn := c.connect(t, "pc", 5000, "")
	src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	sink := &usersync.MemorySink{}
	s := &usersync.Syncer{Source: src, Sink: sink, Logger: discardLogger, Filters: c.m}
	if r := s.SyncCustomer(t.Context(), "pc"); r.Err != nil || r.Added != 5001 || r.Teams.Requests != 6 {
		t.Fatalf("every user: added %d, teams %+v, err %v", r.Added, r.Teams, r.Err)
	}
	return c, tn, s, sink
}

// checkStored checks that the sink holds want users, each matching f.
func checkStored(t *testing.T, sink *usersync.MemorySink, customer, f string, want int) {
	t.Helper()
	p, err := filter.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	users := sink.Users(customer)
	if len(users) != want {
		t.Errorf("%s: stored %d users, want %d", f, len(users), want)
	}
	for _, u := range users {
		if !p.Match(&u) {
			t.Fatalf("%s: stored %s, which does not match", f, u.UserPrincipalName)
		}
	}
}

// TestSyncTeamsPaired: a filtered sync that lists the Teams
// configurations advances /users and the listing in shared JSON batches:
// the first /users page alone (its $count picks the plan), then one
// batch per round while both listings are open.
func TestSyncTeamsPaired(t *testing.T) {
	t.Parallel()
	c, tn, s, sink := pairedCloud(t)
	const f = "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true"
	c.setFilter(t, "pc", f)
	batches := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointBatch, Tenant: tn.ID})
	r := s.SyncCustomer(t.Context(), "pc")
	// 500 Italian users (i % 10 == 4) in 5 pages; 1,667 voice users
	// (i % 3 == 0) in 2 Teams pages; i % 30 == 24: 166 users.
	if r.Err != nil || r.Matched != 166 || r.Pages != 5 || r.Teams.Mode != usersync.TeamsList ||
		r.Teams.Filter != "isEnterpriseVoiceEnabled eq true" || r.Teams.Requests != 2 || r.Teams.Shared != 2 {
		t.Fatalf("matched %d, pages %d, teams %+v, err %v", r.Matched, r.Pages, r.Teams, r.Err)
	}
	checkStored(t, sink, "pc", f, 166)
	if n := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointBatch, Tenant: tn.ID}) - batches; n != 2 {
		t.Errorf("%d batches, want 2 (users pages 2 and 3 with Teams pages 1 and 2)", n)
	}
	if u := byUPN(sink.Users("pc"), "user00024@pc.onmicrosoft.com"); u == nil || u.Teams.LineURI() != "tel:+39020000024" ||
		u.Teams.Policies["OnlineVoiceRoutingPolicy"] != "VRP-IT" {
		t.Errorf("user 00024 = %+v", u)
	}
	// The query listed: the next sync sends the first /users page (with
	// its $count) in the first batch, with the first Teams page.
	batches = c.srv.Count(m365test.Match{Endpoint: m365test.EndpointBatch, Tenant: tn.ID})
	users := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Tenant: tn.ID})
	r = s.SyncCustomer(t.Context(), "pc")
	if r.Err != nil || r.Matched != 166 || r.Estimate != 500 || r.Pages != 5 || r.Teams.Requests != 2 || r.Teams.Shared != 2 {
		t.Fatalf("second sync: matched %d, estimate %d, pages %d, teams %+v, err %v", r.Matched, r.Estimate, r.Pages, r.Teams, r.Err)
	}
	checkStored(t, sink, "pc", f, 166)
	if nb, nu := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointBatch, Tenant: tn.ID})-batches,
		c.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Tenant: tn.ID})-users; nb != 2 || nu != 5 {
		t.Errorf("second sync: %d batches, %d /users requests; want 2 and 5", nb, nu)
	}
}

// TestSyncTeamsPairedThrottled: a 429 inside a batch is that request's
// alone; it is sent again (after its Retry-After) and the sync is right.
func TestSyncTeamsPairedThrottled(t *testing.T) {
	t.Parallel()
	c, tn, s, sink := pairedCloud(t)
	const f = "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true"
	c.setFilter(t, "pc", f)
	defer c.srv.InjectFault(m365test.Fault{Tenant: tn.ID, Endpoint: m365test.EndpointTeamsUserConfigurations,
		Status: http.StatusTooManyRequests, RetryAfter: time.Second, Times: 1})()
	r := s.SyncCustomer(t.Context(), "pc")
	if r.Err != nil || r.Matched != 166 || r.Teams.Requests != 3 || r.Teams.Shared != 3 {
		t.Fatalf("matched %d, teams %+v, err %v; want 166 and 3 Teams requests in batches (one throttled)", r.Matched, r.Teams, r.Err)
	}
	checkStored(t, sink, "pc", f, 166)
	if n := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsUserConfigurations, Tenant: tn.ID, Status: http.StatusTooManyRequests}); n != 1 {
		t.Errorf("%d throttled Teams requests, want 1", n)
	}
}

// TestSyncTeamsPairedRefused: Graph refuses the Teams $filter inside a
// batch (400 in a 200 batch); the listing restarts without it, the users
// are right, and the filter is not sent again for that customer.
func TestSyncTeamsPairedRefused(t *testing.T) {
	t.Parallel()
	c, tn, s, sink := pairedCloud(t)
	const f = "UsageLocation -eq 'IT' -and LineUri -like 'tel:+39*'"
	c.setFilter(t, "pc", f)
	for round := range 2 {
		r := s.SyncCustomer(t.Context(), "pc")
		if r.Err != nil || r.Added+r.Unchanged != 166 || r.Teams.Refused == "" || r.Teams.Filter != "" || r.Teams.Mode != usersync.TeamsList {
			t.Fatalf("round %d: added %d, unchanged %d, teams %+v, err %v", round, r.Added, r.Unchanged, r.Teams, r.Err)
		}
		checkStored(t, sink, "pc", f, 166)
	}
	if n := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsUserConfigurations, Tenant: tn.ID, Status: http.StatusBadRequest}); n != 1 {
		t.Errorf("the refused filter was sent %d times, want once", n)
	}
}
