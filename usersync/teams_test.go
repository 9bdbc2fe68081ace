package usersync_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/filter"
)

// setFilter changes the customer's user filter.
func (c *cloud) setFilter(t testing.TB, customer, f string) {
	t.Helper()
	_, err := c.m.SaveSettings(t.Context(), customer, m365access.SettingsUpdate{UserFilter: &f})
	require.NoError(t, err)
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
		assert.NoError(t, r.Err, tt.filter)
		assert.Equal(t, tt.want, r.Added, "%s: added", tt.filter)
		assert.Equal(t, tt.want, sink.Len("contoso"), "%s: stored", tt.filter)
		assert.Equal(t, tt.mode, r.Teams.Mode, "%s: Teams mode", tt.filter)
		p, _ := filter.Compile(tt.filter)
		for _, u := range sink.Users("contoso") {
			require.True(t, p.Match(&u), "%s: stored %s, which does not match", tt.filter, u.UserPrincipalName)
		}
		// Pages count the /users pages read, whatever the join held back.
		if tt.filter == "EnterpriseVoiceEnabled -eq $true" {
			assert.Equal(t, 51, r.Pages, "%s: pages, want the /users pages", tt.filter)
		}
		if tt.want == 1_666 {
			assert.NotNil(t, byUPN(sink.Users("contoso"), "user00024@contoso.onmicrosoft.com"), "%s: user 00024 not synced", tt.filter)
		}
	}

	c.setFilter(t, "contoso", "")
	sink := &usersync.MemorySink{}
	r := c.syncer(t, sink, 0).SyncCustomer(t.Context(), "contoso")
	require.NoError(t, r.Err, "all users")
	require.Equal(t, 50_001, r.Added, "all users: added")
	require.Equal(t, usersync.TeamsList, r.Teams.Mode, "all users: Teams mode")
	require.Equal(t, 51, r.Teams.Requests, "all users: Teams requests")
	u := byUPN(sink.Users("contoso"), "user00024@contoso.onmicrosoft.com")
	require.NotNil(t, u, "user 00024")
	require.NotNil(t, u.Teams, "user 00024's Teams")
	assert.Equal(t, "tel:+39020000024", u.Teams.LineURI(), "user 00024's line URI")
	assert.Equal(t, "VRP-IT", u.Teams.Policies["OnlineVoiceRoutingPolicy"], "user 00024's OnlineVoiceRoutingPolicy")
	assert.Equal(t, "DP-IT", u.Teams.Policies["TenantDialPlan"], "user 00024's TenantDialPlan")
	assert.Equal(t, "AllowCalling", u.Teams.Policies["TeamsCallingPolicy"], "user 00024's TeamsCallingPolicy")
	assert.True(t, u.Teams.EnterpriseVoiceEnabled, "user 00024's EnterpriseVoiceEnabled")
	assert.Equal(t, "user", u.Teams.AccountType, "user 00024's AccountType")
	assert.Len(t, u.Teams.FeatureTypes, 3, "user 00024's FeatureTypes")
	a := byUPN(sink.Users("contoso"), "admin@contoso.onmicrosoft.com")
	if assert.NotNil(t, a, "admin") && assert.NotNil(t, a.Teams, "admin's Teams") {
		assert.False(t, a.Teams.EnterpriseVoiceEnabled, "admin's EnterpriseVoiceEnabled")
		assert.Empty(t, a.Teams.LineURI(), "admin's line URI")
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
		require.NoError(t, r.Err, "round %d", round)
		require.Equal(t, 200, sink.Len("fab"), "round %d: stored", round)
		require.NotEmpty(t, r.Teams.Refused, "round %d: Teams filter refused", round)
		require.Empty(t, r.Teams.Filter, "round %d: Teams filter", round)
	}
	assert.Equal(t, 1, c.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsUserConfigurations, Tenant: tn.ID, Status: http.StatusBadRequest}),
		"times the refused filter was sent")
	// A filter the fake accepts is evaluated by Graph.
	c.setFilter(t, "fab", "EnterpriseVoiceEnabled -eq $true -and AccountEnabled -eq $true")
	r := s.SyncCustomer(t.Context(), "fab")
	assert.NoError(t, r.Err, "accepted filter")
	assert.Equal(t, "isEnterpriseVoiceEnabled eq true", r.Teams.Filter, "accepted filter: Teams filter")
	assert.Empty(t, r.Teams.Refused, "accepted filter: refused")
	assert.Equal(t, 950, sink.Len("fab"), "accepted filter: stored")
}

// TestSyncTeamsChanges: a change to a user's Teams configuration alone
// counts as a changed user.
func TestSyncTeamsChanges(t *testing.T) {
	t.Parallel()
	c := newCloud(t)
	tn := c.connect(t, "nw", 300, "")
	sink := &usersync.MemorySink{}
	s := c.syncer(t, sink, 0)
	r := s.SyncCustomer(t.Context(), "nw")
	require.NoError(t, r.Err, "first sync")
	require.Equal(t, 301, r.Added, "first sync: added")
	upn := "user00025@nw.onmicrosoft.com"
	cfg, err := c.srv.TeamsUserConfiguration(tn.ID, upn)
	require.NoError(t, err)
	cfg.IsEnterpriseVoiceEnabled = true
	cfg.TelephoneNumbers = []m365test.TeamsTelephoneNumber{{TelephoneNumber: "+34910000025", AssignmentCategory: "primary"}}
	require.NoError(t, c.srv.SetTeamsUserConfiguration(tn.ID, upn, &cfg))
	require.NoError(t, c.srv.SetTeamsUserConfiguration(tn.ID, "user00024@nw.onmicrosoft.com", nil))
	r = s.SyncCustomer(t.Context(), "nw")
	assert.NoError(t, r.Err, "after two Teams changes")
	assert.Equal(t, 2, r.Changed, "after two Teams changes: changed")
	assert.Equal(t, 299, r.Unchanged, "after two Teams changes: unchanged")
	assert.Zero(t, r.Added+r.Removed, "after two Teams changes: added and removed")
	users := sink.Users("nw")
	if u := byUPN(users, upn); assert.NotNil(t, u, "user 25") {
		assert.Equal(t, "tel:+34910000025", u.Teams.LineURI(), "user 25's line URI")
	}
	if u := byUPN(users, "user00024@nw.onmicrosoft.com"); assert.NotNil(t, u, "user 24") {
		assert.Nil(t, u.Teams, "user 24 without configuration")
	}
	// A user whose configuration was removed reads null: with a Teams
	// filter pushed to Graph it is excluded, as the filter says.
	c.setFilter(t, "nw", "EnterpriseVoiceEnabled -eq $true")
	r = s.SyncCustomer(t.Context(), "nw")
	assert.NoError(t, r.Err, "voice users")
	assert.Equal(t, 100, sink.Len("nw"), "voice users stored (user 24 lost voice, user 25 gained it)")
	// Six users in Milan's Sales department. This source listed the
	// tenant in one page, so it lists again; a new source, which assumes
	// a large tenant, fetches the six configurations in one JSON batch.
	c.setFilter(t, "nw", "Department -eq 'Sales' -and City -eq 'Milan'")
	r = s.SyncCustomer(t.Context(), "nw")
	require.NoError(t, r.Err, "Milan's Sales")
	require.Equal(t, 6, sink.Len("nw"), "Milan's Sales: stored")
	require.Equal(t, usersync.TeamsList, r.Teams.Mode, "Milan's Sales: Teams mode")
	require.Equal(t, 1, r.Teams.Requests, "Milan's Sales: Teams requests")
	r = c.syncer(t, sink, 0).SyncCustomer(t.Context(), "nw")
	require.NoError(t, r.Err, "Milan's Sales, new source")
	require.Equal(t, 6, sink.Len("nw"), "Milan's Sales, new source: stored")
	require.Equal(t, 6, r.Unchanged, "Milan's Sales, new source: unchanged")
	require.Equal(t, usersync.TeamsBatch, r.Teams.Mode, "Milan's Sales, new source: Teams mode")
	require.Equal(t, 1, r.Teams.Requests, "Milan's Sales, new source: Teams requests")
	if u := byUPN(sink.Users("nw"), "user00054@nw.onmicrosoft.com"); assert.NotNil(t, u, "user 54 by batch") {
		assert.Equal(t, "tel:+39020000054", u.Teams.LineURI(), "user 54's line URI")
		assert.Equal(t, "VRP-IT", u.Teams.Policies["OnlineVoiceRoutingPolicy"], "user 54's OnlineVoiceRoutingPolicy")
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
	require.NoError(t, s.SyncCustomer(t.Context(), "np").Err)
	remove := c.srv.InjectFault(m365test.Fault{Tenant: tn.ID, Endpoint: m365test.EndpointTeamsUserConfigurations, Status: http.StatusForbidden})
	defer remove()
	r := s.SyncCustomer(t.Context(), "np")
	var me *m365access.Error
	if assert.ErrorAs(t, r.Err, &me, "forbidden") {
		assert.Equal(t, http.StatusForbidden, me.HTTPStatus, "forbidden: HTTP status (action %q)", r.Action)
	}
	assert.Equal(t, 51, sink.Len("np"), "forbidden: stored")
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
	require.NoError(t, err)
	sink := &usersync.MemorySink{}
	s := &usersync.Syncer{Source: src, Sink: sink, Logger: discardLogger, Filters: c.m}
	r := s.SyncCustomer(t.Context(), "pc")
	require.NoError(t, r.Err, "every user")
	require.Equal(t, 5001, r.Added, "every user: added")
	require.Equal(t, 6, r.Teams.Requests, "every user: Teams requests")
	return c, tn, s, sink
}

// checkStored checks that the sink holds want users, each matching f.
func checkStored(t *testing.T, sink *usersync.MemorySink, customer, f string, want int) {
	t.Helper()
	p, err := filter.Compile(f)
	require.NoError(t, err)
	users := sink.Users(customer)
	assert.Len(t, users, want, "%s: stored users", f)
	for _, u := range users {
		require.True(t, p.Match(&u), "%s: stored %s, which does not match", f, u.UserPrincipalName)
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
	require.NoError(t, r.Err)
	require.Equal(t, 166, r.Matched, "matched")
	require.Equal(t, 5, r.Pages, "pages")
	require.Equal(t, usersync.TeamsList, r.Teams.Mode, "Teams mode")
	require.Equal(t, "isEnterpriseVoiceEnabled eq true", r.Teams.Filter, "Teams filter")
	require.Equal(t, 2, r.Teams.Requests, "Teams requests")
	require.Equal(t, 2, r.Teams.Shared, "Teams requests shared")
	checkStored(t, sink, "pc", f, 166)
	assert.Equal(t, 2, c.srv.Count(m365test.Match{Endpoint: m365test.EndpointBatch, Tenant: tn.ID})-batches,
		"batches (users pages 2 and 3 with Teams pages 1 and 2)")
	if u := byUPN(sink.Users("pc"), "user00024@pc.onmicrosoft.com"); assert.NotNil(t, u, "user 00024") {
		assert.Equal(t, "tel:+39020000024", u.Teams.LineURI(), "user 00024's line URI")
		assert.Equal(t, "VRP-IT", u.Teams.Policies["OnlineVoiceRoutingPolicy"], "user 00024's OnlineVoiceRoutingPolicy")
	}
	// The query listed: the next sync sends the first /users page (with
	// its $count) in the first batch, with the first Teams page.
	batches = c.srv.Count(m365test.Match{Endpoint: m365test.EndpointBatch, Tenant: tn.ID})
	users := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Tenant: tn.ID})
	r = s.SyncCustomer(t.Context(), "pc")
	require.NoError(t, r.Err, "second sync")
	require.Equal(t, 166, r.Matched, "second sync: matched")
	require.EqualValues(t, 500, r.Estimate, "second sync: estimate")
	require.Equal(t, 5, r.Pages, "second sync: pages")
	require.Equal(t, 2, r.Teams.Requests, "second sync: Teams requests")
	require.Equal(t, 2, r.Teams.Shared, "second sync: Teams requests shared")
	checkStored(t, sink, "pc", f, 166)
	assert.Equal(t, 2, c.srv.Count(m365test.Match{Endpoint: m365test.EndpointBatch, Tenant: tn.ID})-batches, "second sync: batches")
	assert.Equal(t, 5, c.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers, Tenant: tn.ID})-users, "second sync: /users requests")
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
	require.NoError(t, r.Err)
	require.Equal(t, 166, r.Matched, "matched")
	// 3 Teams requests in batches, one throttled.
	require.Equal(t, 3, r.Teams.Requests, "Teams requests")
	require.Equal(t, 3, r.Teams.Shared, "Teams requests in batches")
	checkStored(t, sink, "pc", f, 166)
	assert.Equal(t, 1, c.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsUserConfigurations, Tenant: tn.ID, Status: http.StatusTooManyRequests}),
		"throttled Teams requests")
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
		require.NoError(t, r.Err, "round %d", round)
		require.Equal(t, 166, r.Added+r.Unchanged, "round %d: added and unchanged", round)
		require.NotEmpty(t, r.Teams.Refused, "round %d: Teams filter refused", round)
		require.Empty(t, r.Teams.Filter, "round %d: Teams filter", round)
		require.Equal(t, usersync.TeamsList, r.Teams.Mode, "round %d: Teams mode", round)
		checkStored(t, sink, "pc", f, 166)
	}
	assert.Equal(t, 1, c.srv.Count(m365test.Match{Endpoint: m365test.EndpointTeamsUserConfigurations, Tenant: tn.ID, Status: http.StatusBadRequest}),
		"times the refused filter was sent")
}
