package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkSyncItaly measures the whole stack behind the Users panel's
// Sync button on the demo tenant (50,000 users): POST the sync through the
// admin API, then poll until it ends, with the filter UsageLocation -eq
// 'IT' (5,000 users over Graph pages of 999, stored in SQLite). The first
// run adds the users; later runs find them unchanged.
func BenchmarkSyncItaly(b *testing.B) {
	d := startDemo(b, b.TempDir())
	connectWithoutBrowser(b, d)
	d.api(b, "PUT", "/api/customers/contoso/m365", `{"userFilter":"UsageLocation -eq 'IT'"}`, http.StatusOK, nil)
	var run struct {
		State string `json:"state"`
		Total int    `json:"total"`
	}
	for b.Loop() {
		d.api(b, "POST", "/api/customers/contoso/users/sync", "", http.StatusAccepted, &run)
		for run.State == "running" || run.State == "queued" {
			time.Sleep(5 * time.Millisecond)
			d.api(b, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
		}
		require.Equal(b, "succeeded", run.State, "sync run %+v", run)
		require.Equal(b, 5000, run.Total, "sync run's total")
	}
	b.ReportMetric(5000, "users/op")
}
