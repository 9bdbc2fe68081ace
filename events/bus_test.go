package events_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/internal/whverify"
)

// receiver is a webhook endpoint that verifies every delivery with an
// independent Standard Webhooks verifier.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	v      *whverify.Verifier
	mu     sync.Mutex
	got    []delivery
	fail   int // answer 500 to this many requests first
	called chan struct{}
}

type delivery struct {
	header http.Header
	body   []byte
	err    error // the verifier's verdict
}

func newReceiver(t *testing.T, secret string) *receiver {
	t.Helper()
	v, err := whverify.New(secret)
	require.NoError(t, err)
	r := &receiver{t: t, v: v, called: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		fail := r.fail > 0
		if fail {
			r.fail--
		}
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: body, err: v.Verify(req.Header, body)})
		r.mu.Unlock()
		r.called <- struct{}{}
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) wait(n int) []delivery {
	r.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]delivery(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.called:
		case <-deadline:
			require.FailNowf(r.t, "no delivery", "waited 30 s for %d deliveries", n)
		}
	}
}

func newBus(t *testing.T, db testdb.DB, opts events.Options) *events.Bus {
	t.Helper()
	opts.DB, opts.Dialect = db.DB, db.Dialect
	opts.AllowLoopbackHTTP = true
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Backoff == nil {
		opts.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	}
	b, err := events.New(t.Context(), opts)
	require.NoError(t, err)
	return b
}

// withRiver registers b's worker on a new River client over db and sets
// it as b's Inserter.
func withRiver(t *testing.T, db testdb.DB, b *events.Bus) {
	t.Helper()
	workers := river.NewWorkers()
	require.NoError(t, b.AddWorkers(workers))
	require.NoError(t, b.UseInserter(t.Context(), testdb.River(t, db, workers)))
}

func waitDelivery(t *testing.T, b *events.Bus, customer string, state events.DeliveryState) events.Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := b.Deliveries(t.Context(), events.Query{Customer: customer})
		require.NoError(t, err)
		if len(ds) > 0 && ds[0].State == state {
			return ds[0]
		}
		if time.Now().After(deadline) {
			require.FailNowf(t, "no delivery", "delivery log of %s never reached %s: %+v", customer, state, ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebhookDeliveredSignedDuringRotation(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			oldSecret, newSecret := events.GenerateSecret(), events.GenerateSecret()
			rcv := newReceiver(t, oldSecret) // the receiver still knows only the old secret
			b := newBus(t, db, events.Options{Endpoints: []events.Endpoint{{URL: rcv.srv.URL + "/hooks", Secrets: []string{newSecret, oldSecret}}}})
			withRiver(t, db, b)

			at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
			require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.ConnectionConnected, Time: at,
				Data: events.Data{Customer: "contoso", From: "notConnected", To: "connected"}}))
			got := rcv.wait(1)[0]
			require.NoError(t, got.err, "the verifier refused the delivery")
			assert.Len(t, strings.Fields(got.header.Get("webhook-signature")), 2, "webhook-signature: want one signature per secret")
			assert.True(t, strings.HasPrefix(got.header.Get("webhook-id"), "msg_"), "webhook-id = %q", got.header.Get("webhook-id"))
			assert.Equal(t, "application/json", got.header.Get("Content-Type"))
			var body map[string]any
			require.NoError(t, json.Unmarshal(got.body, &body))
			want := map[string]any{"type": "connection.connected", "timestamp": "2026-12-01T09:30:00Z",
				"data": map[string]any{"customer": "contoso", "from": "notConnected", "to": "connected"}}
			assert.Equal(t, mustJSON(t, want), mustJSON(t, body))
			d := waitDelivery(t, b, "contoso", events.DeliveryDelivered)
			assert.Equal(t, 1, d.Attempts, "delivery log = %+v", d)
			assert.Equal(t, 204, d.LastStatus, "delivery log = %+v", d)
			assert.Equal(t, "default", d.Endpoint, "delivery log = %+v", d)
			assert.Equal(t, events.ConnectionConnected, d.Type, "delivery log = %+v", d)
			assert.Equal(t, got.header.Get("webhook-id"), d.EventID, "the delivery log's event is the webhook-id")
			// A replay of the same delivery is refused by the receiver.
			assert.Error(t, rcv.v.Verify(got.header, got.body), "the verifier accepted a replay")
			// A tampered body is refused.
			v2, _ := whverify.New(oldSecret)
			assert.Error(t, v2.Verify(got.header, append(got.body, ' ')), "the verifier accepted a tampered body")
			// Job args in River's table hold neither secret.
			assertNoSecretInJobs(t, db, oldSecret, newSecret)
		})
	}
}

func assertNoSecretInJobs(t *testing.T, db testdb.DB, secrets ...string) {
	t.Helper()
	rows, err := db.DB.QueryContext(t.Context(), `SELECT CAST(args AS TEXT) FROM river_job`)
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var args string
		require.NoError(t, rows.Scan(&args))
		n++
		for _, s := range secrets {
			raw := strings.TrimPrefix(s, events.SecretPrefix)
			key, _ := base64.StdEncoding.DecodeString(raw)
			assert.False(t, strings.Contains(args, raw) || strings.Contains(args, "whsec_") || strings.Contains(args, string(key)),
				"a River job holds a signing secret: %s", args)
		}
		assert.NotContains(t, args, "127.0.0.1", "a River job holds the endpoint URL")
	}
	assert.NotZero(t, n, "no River job found")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestWebhookRetriedAfterFailure(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	secret := events.GenerateSecret()
	rcv := newReceiver(t, secret)
	rcv.fail = 1
	b := newBus(t, db, events.Options{Endpoints: []events.Endpoint{{Name: "ops", URL: rcv.srv.URL, Secrets: []string{secret}}}})
	withRiver(t, db, b)
	require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.SyncFailed, Data: events.Data{Customer: "fabrikam", Error: "Graph answered 503"}}))
	got := rcv.wait(2)
	assert.Equal(t, got[0].header.Get("webhook-id"), got[1].header.Get("webhook-id"), "a retry changed webhook-id")
	assert.Equal(t, string(got[0].body), string(got[1].body), "a retry changed the body")
	for i, g := range got {
		if g.err != nil && i == 1 { // the first was verified too; a replay check refuses the second id
			assert.ErrorContains(t, g.err, "replayed", "attempt %d", i+1)
		} else {
			assert.NoError(t, g.err, "attempt %d", i+1)
		}
	}
	d := waitDelivery(t, b, "fabrikam", events.DeliveryDelivered)
	assert.Equal(t, 2, d.Attempts, "delivery log = %+v, want delivered on attempt 2", d)
	assert.Equal(t, "ops", d.Endpoint, "delivery log = %+v", d)
}

func TestWebhookFailsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	secret := events.GenerateSecret()
	rcv := newReceiver(t, secret)
	rcv.fail = 100
	b := newBus(t, db, events.Options{MaxAttempts: 1, Endpoints: []events.Endpoint{{URL: rcv.srv.URL, Secrets: []string{secret}}}})
	withRiver(t, db, b)
	require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.SyncFailed, Data: events.Data{Customer: "litware"}}))
	d := waitDelivery(t, b, "litware", events.DeliveryFailed)
	assert.Equal(t, 1, d.Attempts, "delivery log = %+v", d)
	assert.Equal(t, 500, d.LastStatus, "delivery log = %+v", d)
	assert.Contains(t, d.LastError, "HTTP 500")
	assert.NotContains(t, d.LastError, "127.0.0.1", "the delivery log names the URL")
}

// Two replicas sharing one database both observe the same transition:
// it is recorded, delivered and handed to subscribers once.
func TestEmitOncePerKeyAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			secret := events.GenerateSecret()
			rcv := newReceiver(t, secret)
			ep := []events.Endpoint{{URL: rcv.srv.URL, Secrets: []string{secret}}}
			a, b := newBus(t, db, events.Options{Endpoints: ep}), newBus(t, db, events.Options{Endpoints: ep})
			withRiver(t, db, a)
			withRiver(t, db, b)
			var mu sync.Mutex
			seen := 0
			for _, bus := range []*events.Bus{a, b} {
				bus.Subscribe(func(context.Context, events.Event) { mu.Lock(); seen++; mu.Unlock() })
			}
			var wg sync.WaitGroup
			for i := range 8 {
				bus := a
				if i%2 == 1 {
					bus = b
				}
				wg.Go(func() {
					assert.NoError(t, bus.Emit(t.Context(), events.Event{Type: events.ConnectionFailed, Key: "state/1/7",
						Data: events.Data{Customer: "contoso", Action: "reInvite"}}))
				})
			}
			wg.Wait()
			waitDelivery(t, a, "contoso", events.DeliveryDelivered)
			// Emit records a fresh event and enqueues its deliveries
			// synchronously, and all eight Emits have returned: one
			// delivery, delivered at the first attempt, means no second
			// one can follow (no waiting for one that should not come).
			ds, err := a.Deliveries(t.Context(), events.Query{Customer: "contoso"})
			require.NoError(t, err)
			require.Len(t, ds, 1, "deliveries = %+v; want one, delivered at the first attempt", ds)
			require.Equal(t, 1, ds[0].Attempts, "deliveries = %+v; want one, delivered at the first attempt", ds)
			assert.Len(t, rcv.wait(1), 1, "deliveries")
			assert.Equal(t, 1, seen, "subscribers called")
			evs, err := a.Recent(t.Context(), events.Query{Customer: "contoso"})
			require.NoError(t, err)
			require.Len(t, evs, 1, "Recent: want one event")
			// The same key for another customer is another event.
			require.NoError(t, a.Emit(t.Context(), events.Event{Type: events.ConnectionFailed, Key: "state/1/7", Data: events.Data{Customer: "fabrikam"}}))
			evs, _ = a.Recent(t.Context(), events.Query{})
			assert.Len(t, evs, 2, "events in all")
		})
	}
}

// Deliveries recorded before the job runner exists are enqueued by
// UseInserter: the event table is the outbox.
func TestPendingDeliveriesFlushed(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	secret := events.GenerateSecret()
	rcv := newReceiver(t, secret)
	b := newBus(t, db, events.Options{Endpoints: []events.Endpoint{{URL: rcv.srv.URL, Secrets: []string{secret}}}})
	require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.CustomerOffboarded, Data: events.Data{Customer: "contoso"}}))
	d := waitDelivery(t, b, "contoso", events.DeliveryPending)
	assert.Zero(t, d.Attempts, "pending delivery = %+v", d)
	withRiver(t, db, b)
	waitDelivery(t, b, "contoso", events.DeliveryDelivered)
	assert.NoError(t, rcv.wait(1)[0].err)
}

func TestEmitRefusesBadEvents(t *testing.T) {
	t.Parallel()
	b := newBus(t, testdb.SQLite(t), events.Options{})
	for name, e := range map[string]events.Event{
		"unknown type": {Type: "connection.exploded", Data: events.Data{Customer: "c"}},
		"no customer":  {Type: events.SyncFailed},
	} {
		assert.Error(t, b.Emit(t.Context(), e), "%s: Emit accepted %+v", name, e)
	}
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	good := events.GenerateSecret()
	cases := map[string]struct {
		opts events.Options
		want string
	}{
		"no db":            {events.Options{Dialect: events.SQLite}, "Options.DB"},
		"no dialect":       {events.Options{DB: db.DB}, "Dialect"},
		"http remote":      {events.Options{DB: db.DB, Dialect: events.SQLite, AllowLoopbackHTTP: true, Endpoints: []events.Endpoint{{URL: "http://example.com/h", Secrets: []string{good}}}}, "https"},
		"http loopback":    {events.Options{DB: db.DB, Dialect: events.SQLite, Endpoints: []events.Endpoint{{URL: "http://127.0.0.1:9/h", Secrets: []string{good}}}}, "demo mode"},
		"no secret":        {events.Options{DB: db.DB, Dialect: events.SQLite, Endpoints: []events.Endpoint{{URL: "https://example.com/h"}}}, "no signing secret"},
		"secret no prefix": {events.Options{DB: db.DB, Dialect: events.SQLite, Endpoints: []events.Endpoint{{URL: "https://example.com/h", Secrets: []string{"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}}}}, "whsec_"},
		"secret short":     {events.Options{DB: db.DB, Dialect: events.SQLite, Endpoints: []events.Endpoint{{URL: "https://example.com/h", Secrets: []string{"whsec_c2hvcnQ="}}}}, "24 to 64 bytes"},
		"duplicate names":  {events.Options{DB: db.DB, Dialect: events.SQLite, Endpoints: []events.Endpoint{{URL: "https://a.example/h", Secrets: []string{good}}, {URL: "https://b.example/h", Secrets: []string{good}}}}, "two webhook endpoints"},
		"bad name":         {events.Options{DB: db.DB, Dialect: events.SQLite, Endpoints: []events.Endpoint{{Name: "a b", URL: "https://a.example/h", Secrets: []string{good}}}}, "endpoint name"},
	}
	for name, c := range cases {
		_, err := events.New(t.Context(), c.opts)
		assert.ErrorContains(t, err, c.want, name)
		if err != nil {
			assert.False(t, strings.Contains(err.Error(), good), "%s: the error shows the secret", name)
		}
	}
	_, err := events.New(t.Context(), events.Options{DB: db.DB, Dialect: events.SQLite, AllowLoopbackHTTP: true,
		Endpoints: []events.Endpoint{{URL: "http://localhost:8080/h", Secrets: []string{good}}}})
	assert.NoError(t, err, "loopback http in demo mode")
}
