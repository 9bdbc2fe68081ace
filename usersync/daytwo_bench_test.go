package usersync_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync"
)

// BenchmarkDayTwo is the day-two sync of a 50,000-user m365test tenant in
// which 1% of the users (500, chosen at random) changed since the last
// round: a delta round against a full read, both into a MemorySink that
// holds the first sync. The changes are made with the timer stopped.
// requests/op are the Graph requests for users; teams-requests/op those
// for Teams Phone System configurations (the -teams cases join them: a
// full read lists them all, a delta round fetches the changed users'
// by ID).
func BenchmarkDayTwo(b *testing.B) {
	c := newCloudLifetime(b, time.Hour)
	tn := c.connect(b, "contoso", benchUsers, "")
	r := rand.New(rand.NewPCG(1, 2))
	title := 0
	change := func(b *testing.B) {
		b.StopTimer()
		defer b.StartTimer()
		title++
		for _, i := range r.Perm(benchUsers)[:benchUsers/100] {
			require.NoError(b, tn.UpdateUser(fmt.Sprintf("user%05d@%s", i, tn.Domain()),
				map[string]any{"jobTitle": fmt.Sprintf("Title %d", title)}))
		}
	}
	for _, teams := range []bool{false, true} {
		src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: c.srv.Transport(), NoTeams: !teams})
		require.NoError(b, err)
		for _, delta := range []bool{false, true} {
			name := "full"
			if delta {
				name = "delta"
			}
			if teams {
				name += "-teams"
			}
			b.Run(name, func(b *testing.B) {
				sink := &usersync.MemorySink{}
				s := &usersync.Syncer{Source: src, Sink: sink, Logger: discardLogger,
					Delta: usersync.DeltaOptions{Enabled: delta, FullEvery: 1 << 30, FullAfter: 1 << 62}}
				require.NoError(b, s.SyncCustomer(b.Context(), "contoso").Err)
				var requests, teamsRequests, changed int
				for b.Loop() {
					change(b)
					res := s.SyncCustomer(b.Context(), "contoso")
					require.NoError(b, res.Err)
					require.Equal(b, map[bool]usersync.Round{false: usersync.RoundFull, true: usersync.RoundDelta}[delta], res.Round,
						"round (%s)", res.Reason)
					requests += res.Requests
					teamsRequests += res.Teams.Requests
					changed += res.Changed
				}
				b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
				b.ReportMetric(float64(teamsRequests)/float64(b.N), "teams-requests/op")
				b.ReportMetric(float64(changed)/float64(b.N), "changed/op")
			})
		}
	}
}
