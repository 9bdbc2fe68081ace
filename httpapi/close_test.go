package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/usersync"
)

// signalTransport closes started when the first Graph users request goes
// out (the token is acquired by then).
type signalTransport struct {
	next    http.RoundTripper
	once    sync.Once
	started chan struct{}
}

func (s *signalTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/v1.0/users") {
		s.once.Do(func() { close(s.started) })
	}
	return s.next.RoundTrip(r)
}

func TestCloseDrainsRunningSync(t *testing.T) {
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	tr := &signalTransport{next: e.srv.Transport(), started: make(chan struct{})}
	src, err := usersync.NewGraphSource(e.m, usersync.GraphOptions{Transport: tr, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Syncer = &usersync.Syncer{Source: src, Sink: e.sink, Logger: e.cfg.Syncer.Logger}
	hd, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Handler(hd)
	e.h = http.StripPrefix("/m365", h)

	// Graph answers only after a minute: the run is in flight when Close
	// comes.
	defer e.srv.InjectFault(m365test.Fault{Endpoint: m365test.EndpointUsers, Latency: time.Minute})()
	run := decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	select {
	case <-tr.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the sync never called Graph")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hd.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The final state is in the store when Close returns.
	rec, err := e.store.Get(context.Background(), runKey("a"))
	if err != nil {
		t.Fatal(err)
	}
	var stored syncRunJSON
	if err := json.Unmarshal(rec.Data, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.ID != run.ID || stored.State != runFailed || stored.FinishedAt == nil ||
		stored.Error == nil || stored.Error.Code != "cancelled" {
		t.Fatalf("stored run after Close %+v (error %+v)", stored, stored.Error)
	}
	// The API says so too, and refuses new runs.
	if got := decode[syncRunJSON](t, e.do(t, "GET", "/customers/a/users/sync", tokenA, nil), 200); got.State != runFailed {
		t.Errorf("run after Close %+v", got)
	}
	w := e.do(t, "POST", "/customers/a/users/sync", tokenA, nil)
	if p := problemOf(t, w, http.StatusServiceUnavailable); p.Code != codeShuttingDown {
		t.Errorf("sync after Close: %s", p.Code)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Close again is harmless.
	if err := hd.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseBoundedByContext(t *testing.T) {
	e := newEnv(t, nil)
	hd, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A run that does not stop when cancelled (a stuck sink, say).
	hd.runs.wg.Add(1)
	defer hd.runs.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := hd.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close with an ended context: %v", err)
	}
}
