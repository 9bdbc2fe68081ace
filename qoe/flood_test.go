package qoe_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// floodResult is what one flood did to the database and the API.
type floodResult struct {
	status                    map[int]int   // answers by status code
	maxConns                  int           // most connections to the database seen during the flood
	maxConnections            int           // the server's max_connections
	reads                     int           // admin reads done during the flood
	readP50, readP99, readMax time.Duration // their latency
	took                      time.Duration
}

// floodBody is a body of about 1 MiB of notifications (at most n) for
// subscription subID (one subscription ID per notification when subID is
// empty).
func floodBody(subID string, n int) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"value":[`)
	for i := 0; buf.Len() < (1<<20)-200 && i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		id := subID
		if id == "" {
			id = fmt.Sprintf("6e2d0c3a-0000-4000-8000-%012d", i)
		}
		fmt.Fprintf(&buf, `{"subscriptionId":%q,"clientState":"guess","resource":"communications/callRecords/%d"}`, id, i)
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}

// flood sends conc POSTs of body at once to e's receiver while counting
// the connections to the database (from pg_stat_activity, every 10 ms)
// and timing admin reads (the customer's subscription status and call
// summary, as GET .../qoe does).
func flood(t testing.TB, e *env, admin *sql.DB, body []byte, conc int) floodResult {
	t.Helper()
	ctx := t.Context()
	res := floodResult{status: map[int]int{}}
	require.NoError(t, admin.QueryRowContext(ctx, `SELECT current_setting('max_connections')::int`).Scan(&res.maxConnections))
	var maxConns atomic.Int64
	var connSamples, readSamples atomic.Int64 // rounds of each sampler
	done := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			var n int64
			if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&n); err == nil {
				for cur := maxConns.Load(); n > cur && !maxConns.CompareAndSwap(cur, n); cur = maxConns.Load() {
				}
			}
			connSamples.Add(1)
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	var lat []time.Duration
	bg.Go(func() {
		for {
			start := time.Now()
			_, err1 := e.svc.Status(ctx, customer)
			_, err2 := e.svc.Summary(ctx, customer, today(), today())
			lat = append(lat, time.Since(start))
			if !assert.NoError(t, err1, "admin read during the flood") || !assert.NoError(t, err2, "admin read during the flood") {
				return
			}
			readSamples.Add(1)
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}, Timeout: time.Minute}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			resp, err := client.Post(e.recv.URL+"/qoe/notifications", "application/json", bytes.NewReader(body))
			code := 0
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			res.status[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	res.took = time.Since(start)
	// One more sample of each after the flood.
	c0, r0 := connSamples.Load(), readSamples.Load()
	waitFor(t, "a sample of each after the flood", func() bool { return connSamples.Load() > c0 && readSamples.Load() > r0 })
	close(done)
	bg.Wait()
	res.maxConns = int(maxConns.Load())
	res.reads = len(lat)
	res.readP50, res.readP99, res.readMax = quantile(lat, 0.5), quantile(lat, 0.99), slices.Max(lat)
	return res
}

func (r floodResult) String() string {
	codes, _ := json.Marshal(r.status)
	return fmt.Sprintf("answers %s in %v; PostgreSQL connections at most %d (max_connections %d); %d admin reads p50 %v p99 %v max %v",
		codes, r.took.Round(time.Millisecond), r.maxConns, r.maxConnections, r.reads, r.readP50.Round(10*time.Microsecond), r.readP99.Round(10*time.Microsecond), r.readMax.Round(10*time.Microsecond))
}

func postgresFloodEnv(t testing.TB) (*env, *sql.DB) {
	dsn := os.Getenv("TENANTGATE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("TENANTGATE_TEST_POSTGRES not set: the flood is measured on PostgreSQL")
	}
	bs := backends(t)
	e := newEnv(t, bs[len(bs)-1], envOptions{noStart: true})
	require.NoError(t, e.svc.EnsureSubscription(t.Context(), customer))
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	admin.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = admin.Close() })
	return e, admin
}

// TestReceiverFlood: 120 concurrent 1 MiB POSTs (from as many addresses:
// no per-client limit), of unknown subscriptions and of the known
// subscription with a wrong clientState, leave PostgreSQL far under its
// connection limit, queue nothing, and admin reads stay fast.
func TestReceiverFlood(t *testing.T) {
	// Not parallel: it measures connections and read latency.
	if testing.Short() {
		t.Skip("the flood takes seconds")
	}
	e, admin := postgresFloodEnv(t)
	sub := e.srv.Subscriptions()[0]
	for _, c := range []struct {
		name string
		body []byte
		// 1 MiB: about 9,000 notifications, refused whole (413).
		// 100 (the cap): each POST is worked on, the receiver's worst.
		atCap bool
	}{
		{"1 MiB of unknown subscriptions", floodBody("", 1<<30), false},
		{"1 MiB of the known subscription, wrong clientState", floodBody(sub.ID, 1<<30), false},
		{"100 unknown subscriptions", floodBody("", 100), true},
		{"100 of the known subscription, wrong clientState", floodBody(sub.ID, 100), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := flood(t, e, admin, c.body, 120)
			t.Log(r)
			assert.Less(t, r.maxConns, 40, "connections of the test's pools (qoe store, River, probe) stay bounded")
			assert.Less(t, r.maxConns, r.maxConnections)
			assert.Zero(t, r.status[http.StatusAccepted])
			refused := http.StatusRequestEntityTooLarge
			if c.atCap {
				refused = http.StatusForbidden
			}
			// A client still sending its 1 MiB when the 413 closes the
			// connection sees a transport error (status 0) instead.
			assert.Equal(t, 120, r.status[refused]+r.status[http.StatusServiceUnavailable]+r.status[0], "each POST is refused: too many notifications, or forbidden, or busy")
			slow := time.Second
			if raceEnabled {
				slow = 5 * time.Second // the race detector slows every step several times
			}
			assert.Less(t, r.readP99, slow, "admin reads stay fast")
			assert.Zero(t, e.svc.Stats().Accepted)
		})
	}
}

// BenchmarkReceiverFlood measures one flood of 120 concurrent POSTs of
// 100 notifications (the cap) of the known subscription with a wrong
// clientState per iteration (run with -benchtime=3x), reporting the most PostgreSQL
// connections seen and the admin reads' p99.
func BenchmarkReceiverFlood(b *testing.B) {
	e, admin := postgresFloodEnv(b)
	body := floodBody(e.srv.Subscriptions()[0].ID, 100)
	var r floodResult
	for b.Loop() {
		r = flood(b, e, admin, body, 120)
	}
	b.Log(r)
	b.ReportMetric(float64(r.maxConns), "max-pg-conns")
	b.ReportMetric(float64(r.readP99.Microseconds())/1000, "admin-read-p99-ms")
	b.ReportMetric(float64(r.took.Milliseconds()), "flood-ms")
}
