package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestCloseThenStopDrains: after Close no sync starts; stopping the fleet
// cancels the running sync, whose run record then says it was interrupted
// (and will be retried), never left running.
func TestCloseThenStopDrains(t *testing.T) {
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	defer e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Latency: time.Minute})()
	run := decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if r := decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200); r.State == runRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync never ran")
		}
	}
	hd, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h = http.StripPrefix("/m365", hd)
	if err := hd.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	w := e.do(t, "POST", "/customers/a/users/sync", tokenA, nil)
	if p := problemOf(t, w, http.StatusServiceUnavailable); p.Code != codeShuttingDown {
		t.Errorf("sync after Close: %s", p.Code)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := e.fleet.Stop(ctx); err != nil {
		t.Fatalf("fleet Stop: %v", err)
	}
	got, ok, err := e.fleet.LatestSync(context.Background(), "a")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got.ID != run.ID || got.State != runRetrying || got.FinishedAt == nil || got.Error == nil || got.Error.Code != "interrupted" {
		t.Fatalf("run after stopping %+v (error %+v)", got, got.Error)
	}
	// Close again is harmless; reads still work.
	if err := hd.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200)
}
