package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
)

// syncRun is the part of httpapi's SyncRun resource the tests read.
type syncRun struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// TestShutdownRecordsRunningSync shuts down during a user sync (Graph
// answers only after a minute): shutdown drains the sync before the store
// closes, so after a restart the run reads as failed by the shutdown
// ("cancelled"), neither running nor repaired as "interrupted".
func TestShutdownRecordsRunningSync(t *testing.T) {
	dir := t.TempDir()
	d := startDemo(t, dir, "-demo-users", "20")
	connectWithoutBrowser(t, d)
	d.a.fake.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Latency: time.Minute})
	var started syncRun
	d.api(t, "POST", "/api/customers/contoso/users/sync", "", http.StatusAccepted, &started)
	if started.State != "running" {
		t.Fatalf("started run %+v", started)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	begin := time.Now()
	if err := d.a.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(begin); waited > syncDrainTimeout {
		t.Errorf("shutdown took %v: the sync was not cancelled", waited)
	}

	d2 := startDemo(t, dir, "-demo-users", "20")
	var run syncRun
	d2.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	if run.ID != started.ID || run.State != "failed" || run.Error == nil || run.Error.Code != "cancelled" {
		t.Errorf("run after restart %+v (error %+v), want failed with code cancelled", run, run.Error)
	}
}
