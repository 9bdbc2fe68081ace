package qoe_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
)

// raceEnabled is set by race_test.go under the race detector.
var raceEnabled bool

// burst sends one notification per record, conc at a time, delivering
// again after a 503 as Graph does, and returns the latency of every
// answer and how many were 503 (queueing over its 2.5 s budget).
func burst(t testing.TB, e *env, ids []string, conc int) ([]time.Duration, int) {
	sub := e.srv.Subscriptions()[0]
	var lat []time.Duration
	busy := 0
	var wg sync.WaitGroup
	next := make(chan int)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	var mu sync.Mutex
	var errs []string
	for range conc {
		wg.Go(func() {
			for i := range next {
				body, _ := json.Marshal(map[string]any{"value": []any{map[string]any{
					"subscriptionId": sub.ID, "clientState": sub.ClientState, "changeType": "created", "tenantId": e.tenant.ID,
					"resource": "communications/callRecords/" + ids[i], "resourceData": map[string]any{"id": ids[i]},
				}}})
				var resp *http.Response
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					start := time.Now()
					resp, err = client.Post(e.recv.URL+"/qoe/notifications", "application/json", strings.NewReader(string(body)))
					d := time.Since(start)
					if err == nil {
						resp.Body.Close()
					}
					mu.Lock()
					lat = append(lat, d)
					if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
						busy++
					}
					mu.Unlock()
					if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
						break
					}
				}
				if err != nil || resp.StatusCode != http.StatusAccepted {
					mu.Lock()
					errs = append(errs, fmt.Sprint(err, resp))
					mu.Unlock()
				}
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	require.Empty(t, errs, "notifications not acknowledged")
	return lat, busy
}

func quantile(lat []time.Duration, q float64) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// storeCalls puts n demo call records in the fake without notifying.
func storeCalls(t testing.TB, e *env, k0, n int) []string {
	ids := make([]string, n)
	for i := range n {
		id, err := e.srv.StoreCallRecord(e.tenant.ID, m365test.DemoCall(e.tenant, k0+i, time.Now()))
		require.NoError(t, err)
		ids[i] = id
	}
	return ids
}

// BenchmarkNotificationBurst: 1,000 change notifications, 50 at a time
// (Graph delivers in parallel), each acknowledged after its job is
// queued; then every call is fetched, classified and stored once. It
// reports the p50, p99 and slowest acknowledgement and the end-to-end
// processing rate (notifications sent to calls stored).
func BenchmarkNotificationBurst(b *testing.B) {
	for _, be := range backends(b) {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be, envOptions{})
			require.NoError(b, e.svc.EnsureSubscription(b.Context(), customer))
			const n = 1000
			var p50, p99, worst time.Duration
			var rate float64
			k, retried := 0, 0
			for b.Loop() {
				b.StopTimer()
				ids := storeCalls(b, e, k, n)
				k += n
				before := e.svc.Stats()
				b.StartTimer()
				start := time.Now()
				lat, busy := burst(b, e, ids, 50)
				retried = busy
				deadline := time.Now().Add(5 * time.Minute)
				for e.svc.Stats().Stored-before.Stored < n {
					if time.Now().After(deadline) {
						require.FailNowf(b, "timed out", "stored %d of %d", e.svc.Stats().Stored-before.Stored, n)
					}
					time.Sleep(5 * time.Millisecond)
				}
				took := time.Since(start)
				after := e.svc.Stats()
				require.EqualValues(b, n, after.Stored-before.Stored, "stored")
				require.Equal(b, before.Duplicates, after.Duplicates, "duplicates")
				p50, p99, worst = quantile(lat, 0.5), quantile(lat, 0.99), slices.Max(lat)
				rate = n / took.Seconds()
				assert.LessOrEqual(b, worst, 3*time.Second, "slowest acknowledgement, over Graph's 3 s")
			}
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ack-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ack-ms")
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-ack-ms")
			b.ReportMetric(rate, "calls/s")
			b.ReportMetric(float64(retried), "503s")
		})
	}
}

// TestNotificationBurst: 1,000 notifications, 50 at a time: each is
// answered within Graph's 3 s (202, or 503 when queueing overran its
// budget on a loaded machine, and Graph delivers again), every call is
// stored, none twice.
func TestNotificationBurst(t *testing.T) {
	// Not parallel: it measures answer latency.
	if testing.Short() {
		t.Skip("the burst takes seconds")
	}
	e := newEnv(t, backends(t)[0], envOptions{})
	require.NoError(t, e.svc.EnsureSubscription(t.Context(), customer))
	n := 1000
	if raceEnabled {
		n = 300 // the race detector slows every step several times
	}
	ids := storeCalls(t, e, 0, n)
	lat, busy := burst(t, e, ids, 50)
	assert.LessOrEqual(t, slices.Max(lat), 3*time.Second, "slowest answer")
	deadline := time.Now().Add(2 * time.Minute)
	for e.svc.Stats().Stored < int64(n) {
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "stored %d of %d", e.svc.Stats().Stored, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A second burst of the same notifications stores nothing.
	burst(t, e, ids[:100], 20)
	// Every repeat was queued before its answer: once no fetch is in
	// flight, each was fetched (or merged at insert) and dropped.
	e.waitIdle(t, qoe.KindFetchCall)
	assert.Equal(t, int64(n), e.svc.Stats().Stored, "stored after the repeats")
	sum, err := e.svc.Summary(t.Context(), customer, today(), today())
	require.NoError(t, err)
	assert.Equal(t, n, sum.Calls, "summary %+v", sum)
	assert.Equal(t, n*24/100, sum.PoorCalls, "summary %+v", sum)
	t.Logf("p50 %v, p99 %v, max %v, %d answered 503 and delivered again", quantile(lat, 0.5), quantile(lat, 0.99), slices.Max(lat), busy)
}
