package usersync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/filter"
)

// countingTransport counts the HTTP requests sent to Graph.
type countingTransport struct {
	rt http.RoundTripper
	n  atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/v1.0/") {
		c.n.Add(1)
	}
	return c.rt.RoundTrip(r)
}

const teamsItaly = "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true"

// BenchmarkTeamsSync measures, on the 50,000-user demo tenant of the fake
// cloud (real MSAL tokens, loopback TLS, the fake rendering every page),
// in the same run:
//
//   - italy/tenantgate: the filter UsageLocation -eq 'IT' -and
//     EnterpriseVoiceEnabled -eq $true (1,666 users) through the Syncer:
//     /users with $filter, Teams configurations listed with the pushed
//     $filter isEnterpriseVoiceEnabled eq true, joined by ID, both
//     listings advancing in shared JSON batches.
//   - italy/naive: every user and every Teams configuration read ($top
//     999, plain net/http + encoding/json), joined and filtered in Go.
//   - all/entra-only and all/with-teams: a whole-tenant sync without and
//     with Teams configurations.
//
// http-requests/op counts HTTP round trips to Graph (a JSON batch is
// one); graph-requests/op counts the requests Graph serves and throttles
// (each inside a batch is one, the batch itself none); cpu-ms/op is the process's
// CPU time (user and system) per operation, the fake cloud's included,
// which a loaded machine distorts less than wall time.
func BenchmarkTeamsSync(b *testing.B) {
	c := newCloud(b)
	tn := c.connect(b, "contoso", benchUsers, teamsItaly)
	// graphRequests counts what Graph counts and throttles: every request,
	// each one inside a JSON batch included, the batch itself not.
	graphRequests := func() int {
		return c.srv.Count(m365test.Match{Tenant: tn.ID, Endpoint: m365test.EndpointUsers}) +
			c.srv.Count(m365test.Match{Tenant: tn.ID, Endpoint: m365test.EndpointTeamsUserConfigurations})
	}
	ct := &countingTransport{rt: c.srv.Transport()}
	src, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: ct})
	require.NoError(b, err)
	entraOnly, err := usersync.NewGraphSource(c.m, usersync.GraphOptions{Transport: ct, NoTeams: true})
	require.NoError(b, err)
	run := func(b *testing.B, src usersync.Source, f string, want int) {
		s := &usersync.Syncer{Source: src, Sink: &countSink{}, Logger: discardLogger,
			Filters: usersync.FilterFunc(func(_ context.Context, _ string) (string, error) { return f, nil })}
		ct.n.Store(0)
		g0 := graphRequests()
		cpu := processCPU()
		for b.Loop() {
			r := s.SyncCustomer(b.Context(), "contoso")
			require.NoError(b, r.Err)
			require.Equal(b, want, r.Matched, "matched")
		}
		b.ReportMetric(float64(ct.n.Load())/float64(b.N), "http-requests/op")
		b.ReportMetric(float64(graphRequests()-g0)/float64(b.N), "graph-requests/op")
		b.ReportMetric(float64(processCPU()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
	b.Run("italy/tenantgate", func(b *testing.B) { run(b, src, teamsItaly, 1_666) })
	b.Run("italy/naive", func(b *testing.B) {
		plan, err := filter.Compile(teamsItaly)
		require.NoError(b, err)
		client := &http.Client{Transport: ct}
		ct.n.Store(0)
		g0 := graphRequests()
		cpu := processCPU()
		for b.Loop() {
			tok, err := c.m.Credential("contoso").GetToken(b.Context(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
			require.NoError(b, err)
			require.Equal(b, 1_666, naiveJoin(b, client, tok.Token, plan), "naive plan matched")
		}
		b.ReportMetric(float64(ct.n.Load())/float64(b.N), "http-requests/op")
		b.ReportMetric(float64(graphRequests()-g0)/float64(b.N), "graph-requests/op")
		b.ReportMetric(float64(processCPU()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	})
	b.Run("all/entra-only", func(b *testing.B) { run(b, entraOnly, "", benchUsers+1) })
	b.Run("all/with-teams", func(b *testing.B) { run(b, src, "", benchUsers+1) })
}

// naiveJoin reads every user and every Teams configuration, joins them by
// ID and counts the users plan matches.
func naiveJoin(b *testing.B, client *http.Client, token string, plan *filter.Plan) int {
	get := func(u string, v any) string {
		req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		require.NoError(b, err)
		defer resp.Body.Close()
		require.Equal(b, 200, resp.StatusCode, u)
		var page struct {
			Next  string          `json:"@odata.nextLink"`
			Value json.RawMessage `json:"value"`
		}
		require.NoError(b, json.NewDecoder(resp.Body).Decode(&page))
		require.NoError(b, json.Unmarshal(page.Value, v))
		return page.Next
	}
	const graph = "https://graph.microsoft.com/v1.0"
	users := map[string]*usersync.User{}
	next := graph + "/users?" + url.Values{"$select": {strings.Join(usersync.Properties, ",")}, "$top": {strconv.Itoa(usersync.MaxPageSize)}}.Encode()
	for next != "" {
		var page []usersync.User
		next = get(next, &page)
		for i := range page {
			users[page[i].ID] = &page[i]
		}
	}
	next = graph + "/admin/teams/userConfigurations?$top=999"
	for next != "" {
		var page []struct {
			ID                       string   `json:"id"`
			AccountType              string   `json:"accountType"`
			IsEnterpriseVoiceEnabled bool     `json:"isEnterpriseVoiceEnabled"`
			FeatureTypes             []string `json:"featureTypes"`
			TelephoneNumbers         []struct {
				TelephoneNumber, AssignmentCategory string
			} `json:"telephoneNumbers"`
			EffectivePolicyAssignments []struct {
				PolicyType       string
				PolicyAssignment struct{ DisplayName string }
			} `json:"effectivePolicyAssignments"`
		}
		next = get(next, &page)
		for _, t := range page {
			u := users[t.ID]
			if u == nil {
				continue
			}
			cfg := &usersync.TeamsConfig{AccountType: t.AccountType, EnterpriseVoiceEnabled: t.IsEnterpriseVoiceEnabled, FeatureTypes: t.FeatureTypes}
			for _, n := range t.TelephoneNumbers {
				cfg.TelephoneNumbers = append(cfg.TelephoneNumbers, usersync.TelephoneNumber{Number: n.TelephoneNumber, Category: n.AssignmentCategory})
			}
			for _, p := range t.EffectivePolicyAssignments {
				if cfg.Policies == nil {
					cfg.Policies = map[string]string{}
				}
				cfg.Policies[p.PolicyType] = p.PolicyAssignment.DisplayName
			}
			u.Teams = cfg
		}
	}
	n := 0
	for _, u := range users {
		if plan.Match(u) {
			n++
		}
	}
	if len(users) != benchUsers+1 {
		panic(fmt.Sprintf("naive plan read %d users", len(users)))
	}
	return n
}

// processCPU returns the CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
