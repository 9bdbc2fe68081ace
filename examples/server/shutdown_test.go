package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
// answers only after a minute): shutdown drains the fleet before the store
// closes, cancelling the sync, which records itself interrupted, never
// left running; River retries the job after the restart and the same run
// succeeds.
func TestShutdownRecordsRunningSync(t *testing.T) {
	dir := t.TempDir()
	d := startDemo(t, dir, "-demo-users", "20")
	connectWithoutBrowser(t, d)
	d.a.fake.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Latency: time.Minute})
	var started syncRun
	d.api(t, "POST", "/api/customers/contoso/users/sync", "", http.StatusAccepted, &started)
	for deadline := time.Now().Add(20 * time.Second); started.State != "running"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			require.FailNow(t, "the sync never ran", "%+v", started)
		}
		d.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &started)
	}

	// Shutdown waits syncDrainTimeout for the sync, then cancels it; left
	// alone, the sync would wait out Graph's minute. The bound sits between
	// the two, with room for a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	begin := time.Now()
	require.NoError(t, d.a.shutdown(ctx))
	assert.LessOrEqual(t, time.Since(begin), 40*time.Second, "shutdown: the sync was not cancelled after the %v drain", syncDrainTimeout)

	d2 := startDemo(t, dir, "-demo-users", "20")
	var run syncRun
	d2.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	assert.Equal(t, started.ID, run.ID, "run after restart: the same run")
	assert.Contains(t, []string{"retrying", "running", "succeeded"}, run.State, "run after restart %+v (error %+v), want it retrying", run, run.Error)
	for deadline := time.Now().Add(60 * time.Second); run.State != "succeeded"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			require.FailNow(t, "the interrupted sync was not retried to success", "%+v", run)
		}
		d2.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	}
	assert.Equal(t, started.ID, run.ID, "retried run, want the interrupted one")
}
