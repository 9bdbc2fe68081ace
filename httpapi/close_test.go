package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/m365test"
)

// TestCloseThenStopDrains: after Close no sync starts; stopping the fleet
// cancels the running sync, whose run record then says it was interrupted
// (and will be retried), never left running.
func TestCloseThenStopDrains(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	defer e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Latency: time.Minute})()
	run := decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if r := decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200); r.State == runRunning {
			break
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "the sync never ran")
		}
	}
	hd, err := New(e.cfg)
	require.NoError(t, err)
	e.h = http.StripPrefix("/m365", hd)
	require.NoError(t, hd.Close(context.Background()), "Close")
	w := e.do(t, "POST", "/customers/a/users/sync", tokenA, nil)
	assert.Equal(t, codeShuttingDown, problemOf(t, w, http.StatusServiceUnavailable).Code, "sync after Close")
	assert.NotEmpty(t, w.Header().Get("Retry-After"), "no Retry-After")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	require.NoError(t, e.fleet.Stop(ctx), "fleet Stop")
	got, ok, err := e.fleet.LatestSync(context.Background(), "a")
	require.NoError(t, err)
	require.True(t, ok, "no sync run recorded")
	require.Equal(t, run.ID, got.ID, "run after stopping %+v", got)
	require.Equal(t, runRetrying, got.State, "run after stopping %+v", got)
	require.NotNil(t, got.FinishedAt, "run after stopping %+v", got)
	require.NotNil(t, got.Error, "run after stopping %+v", got)
	require.Equal(t, "interrupted", got.Error.Code, "run after stopping %+v (error %+v)", got, got.Error)
	// Close again is harmless; reads still work.
	assert.NoError(t, hd.Close(context.Background()), "second Close")
	decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200)
}
