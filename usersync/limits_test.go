package usersync_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync"
)

// upnFilter is a filter naming n users of tenant by UserPrincipalName,
// joined by -or, users first, first+step, ...
func upnFilter(domain string, first, step, n int) (string, []string) {
	var terms, upns []string
	for k := range n {
		upn := fmt.Sprintf("user%05d@%s", first+k*step, domain)
		terms = append(terms, "UserPrincipalName -eq '"+upn+"'")
		upns = append(upns, upn)
	}
	slices.Sort(upns)
	return strings.Join(terms, " -or "), upns
}

// TestSyncPastGraphQueryLimits: a filter naming 60 users is past Graph's
// query limits in one request (60 in values; a URL over 2,048 characters
// as an advanced query); the fake refuses such a request as Graph does,
// and the sync still stores exactly those 60 users, read as several
// queries merged by user ID. Plain (NoCount) and advanced reads both.
func TestSyncPastGraphQueryLimits(t *testing.T) {
	t.Parallel()
	c := newCloud(t)
	f, want := upnFilter("sixty.onmicrosoft.com", 3, 7, 60)
	c.connect(t, "sixty", 1000, f)
	for _, noCount := range []bool{false, true} {
		t.Run(fmt.Sprintf("noCount=%v", noCount), func(t *testing.T) {
			src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), NoCount: noCount})
			require.NoError(t, err)
			sink := &usersync.MemorySink{}
			before := c.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers})
			r := (&usersync.Syncer{Source: src, Sink: sink, Filters: c.m, Logger: discardLogger}).SyncCustomer(t.Context(), "sixty")
			require.NoError(t, r.Err)
			var got []string
			for _, u := range sink.Users("sixty") {
				got = append(got, u.UserPrincipalName)
			}
			slices.Sort(got)
			assert.Equal(t, want, got, "stored users: want exactly the 60 named")
			assert.GreaterOrEqual(t, c.srv.Count(m365test.Match{Endpoint: m365test.EndpointUsers})-before, 4,
				"/users requests: the 60 values need at least 4 queries of 15")
		})
	}
}

// TestFakeRefusesOneQueryOf60 shows the request the split avoids: the 60
// values as one query (the old plan) is refused with Graph's error.
func TestFakeRefusesOneQueryOf60(t *testing.T) {
	t.Parallel()
	c := newCloud(t)
	f, _ := upnFilter("refused.onmicrosoft.com", 0, 1, 60)
	c.connect(t, "refused", 100, "")
	q, err := usersync.CompileFilter(f)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(q.Split), 4, "CompileFilter of 60 values: subqueries")
	var parts []string
	for _, sq := range q.Split {
		parts = append(parts, "("+sq.Filter+")")
	}
	one := usersync.Query{Filter: strings.Join(parts, " or ")}
	for _, noCount := range []bool{false, true} {
		src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), NoCount: noCount})
		require.NoError(t, err)
		err = src.Read(t.Context(), "refused", one, func(usersync.Page) error { return nil })
		if !assert.Error(t, err, "noCount=%v: the fake accepted one query of 60 values", noCount) {
			continue
		}
		t.Logf("noCount=%v: %v", noCount, err)
	}
}
