package fleet_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
)

// BenchmarkCustomers lists a page of 50 of 200 enrolled customers (the
// fleet API's GET /customers), with a needs-action filter.
func BenchmarkCustomers(b *testing.B) {
	var ids []string
	for i := range 200 {
		ids = append(ids, fmt.Sprintf("c%03d", i))
	}
	f, err := fleet.New(context.Background(), fleet.Config{SQLitePath: filepath.Join(b.TempDir(), "river.db"),
		Access: newFakeAccess(ids...), Store: newStoreTB(b), Logger: quiet})
	require.NoError(b, err)
	for _, c := range ids {
		require.NoError(b, f.Enroll(context.Background(), c, ""))
	}
	for _, opts := range []fleet.ListOptions{{Limit: 50}, {Limit: 50, NeedsAction: true}} {
		b.Run(fmt.Sprintf("needsAction=%v", opts.NeedsAction), func(b *testing.B) {
			for b.Loop() {
				_, err := f.Customers(context.Background(), opts)
				require.NoError(b, err)
			}
		})
	}
}

// BenchmarkBudget: with Graph's limits one tenant is paced to 90% of
// 8,000 units per 10 s (1.39 ms a request); with limits far away the
// Budget's own cost per request shows.
func BenchmarkBudget(b *testing.B) {
	ok := rtFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	req, _ := http.NewRequestWithContext(fleet.WithCustomer(context.Background(), "c1"), "GET", "https://graph.example/v1.0/users", nil)
	for _, bc := range []struct {
		name   string
		budget *fleet.Budget
	}{
		{"graph-limits-one-tenant", &fleet.Budget{}},
		{"overhead", &fleet.Budget{TenantUnits: 1 << 40, AppUnits: 1 << 40}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rt := bc.budget.Transport(ok)
			for b.Loop() {
				resp, err := rt.RoundTrip(req)
				require.NoError(b, err)
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkCheckNow asks for a health check on demand through River on
// SQLite (the fleet is not started, so after the first insert each one is
// the unique duplicate a repeated click costs).
func BenchmarkCheckNow(b *testing.B) {
	f, err := fleet.New(context.Background(), fleet.Config{SQLitePath: filepath.Join(b.TempDir(), "river.db"),
		Access: newFakeAccess("c1"), Store: newStoreTB(b), Logger: quiet, PlanInterval: time.Hour})
	require.NoError(b, err)
	for b.Loop() {
		_, err := f.CheckNow(context.Background(), "c1")
		require.NoError(b, err)
	}
}
