package qoe_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/qoe"
)

// countingConnector counts the statements its connections run.
type countingConnector struct {
	drv driver.Driver
	dsn string
	n   *atomic.Int64
}

func (c countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return countingConn{conn, c.n}, nil
}

func (c countingConnector) Driver() driver.Driver { return c.drv }

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c countingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, o)
}

func (c countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

// countingHandler counts log records by level.
type countingHandler struct {
	mu     sync.Mutex
	levels map[slog.Level]int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.levels[r.Level]++
	h.mu.Unlock()
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.levels[l]
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// limitsEnv is a Service on a statement-counting SQLite Store (the same
// file as e's), with a log counter and a settable clock.
type limitsEnv struct {
	*env
	svc     *qoe.Service
	queries *atomic.Int64
	logs    *countingHandler
	clk     *clock
	subID   string
	state   string
}

func newLimitsEnv(t *testing.T, limits qoe.ReceiverLimits) *limitsEnv {
	t.Helper()
	b := backends(t)[0]
	e := newEnv(t, b, envOptions{noStart: true})
	require.NoError(t, e.svc.EnsureSubscription(t.Context(), customer))
	sub := e.srv.Subscriptions()[0]
	probe, err := sql.Open("sqlite", "")
	require.NoError(t, err)
	drv := probe.Driver()
	_ = probe.Close()
	n := &atomic.Int64{}
	db := sql.OpenDB(countingConnector{drv: drv, dsn: "file:" + b.path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate", n: n})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	st, err := qoe.NewStore(t.Context(), db, qoe.SQLite)
	require.NoError(t, err)
	n.Store(0) // the migration's statements
	logs := &countingHandler{levels: map[slog.Level]int{}}
	clk := &clock{t: time.Now()}
	cfg := e.cfg
	cfg.Store, cfg.Logger, cfg.Now, cfg.Receiver = st, slog.New(logs), clk.now, limits
	svc, err := qoe.New(cfg)
	require.NoError(t, err)
	require.NoError(t, svc.UseInserter(t.Context(), e.rc))
	return &limitsEnv{env: e, svc: svc, queries: n, logs: logs, clk: clk, subID: sub.ID, state: sub.ClientState}
}

// body builds a notification collection of n notifications.
func body(n int, subID, state func(i int) string, callID func(i int) string) string {
	vs := make([]map[string]any, n)
	for i := range n {
		id := callID(i)
		vs[i] = map[string]any{"subscriptionId": subID(i), "clientState": state(i), "changeType": "created",
			"resource": "communications/callRecords/" + id, "resourceData": map[string]any{"id": id}}
	}
	b, _ := json.Marshal(map[string]any{"value": vs})
	return string(b)
}

func constant(s string) func(int) string { return func(int) string { return s } }
func callN(i int) string                 { return fmt.Sprintf("00000000-0000-0000-0000-%012d", i) }

func (le *limitsEnv) serve(remote, b string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/qoe/notifications", strings.NewReader(b))
	r.RemoteAddr = remote + ":443"
	rec := httptest.NewRecorder()
	le.svc.Handler().ServeHTTP(rec, r)
	return rec
}

// TestReceiverBoundsWork: what one POST may cost the database and the
// log is bounded whatever it carries.
func TestReceiverBoundsWork(t *testing.T) {
	t.Parallel()
	t.Run("more than MaxNotifications is refused whole", func(t *testing.T) {
		le := newLimitsEnv(t, qoe.ReceiverLimits{PerClient: -1})
		before := le.jobs(t, qoe.KindFetchCall)
		rec := le.serve("192.0.2.1", body(101, constant(le.subID), constant(le.state), callN))
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.Equal(t, before, le.jobs(t, qoe.KindFetchCall), "nothing of a refused POST is queued")
		assert.Zero(t, le.queries.Load(), "a refused POST costs no query")
		assert.Equal(t, 1, le.logs.count(slog.LevelWarn))
	})
	t.Run("an unknown subscription costs one query and one log line, then none for a while", func(t *testing.T) {
		le := newLimitsEnv(t, qoe.ReceiverLimits{PerClient: -1})
		b := body(100, constant("6e2d0c3a-0000-4000-8000-000000000001"), constant("guess"), callN)
		assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.1", b).Code)
		assert.Equal(t, int64(1), le.queries.Load(), "one lookup for the request's one subscription")
		assert.Equal(t, 1, le.logs.count(slog.LevelWarn), "refusals are logged once per request")
		assert.Equal(t, int64(100), le.svc.Stats().Rejected)
		assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.1", b).Code)
		assert.Equal(t, int64(1), le.queries.Load(), "a miss is remembered")
		le.clk.add(11 * time.Second)
		assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.1", b).Code)
		assert.Equal(t, int64(2), le.queries.Load(), "a miss is remembered briefly only")
	})
	t.Run("many unknown subscriptions cost one query", func(t *testing.T) {
		le := newLimitsEnv(t, qoe.ReceiverLimits{PerClient: -1})
		b := body(100, func(i int) string { return fmt.Sprintf("6e2d0c3a-0000-4000-8000-%012d", i) }, constant("guess"), callN)
		assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.1", b).Code)
		assert.Equal(t, int64(1), le.queries.Load())
		assert.Equal(t, 1, le.logs.count(slog.LevelWarn))
	})
	t.Run("a wrong clientState of a known subscription costs one lookup and one update", func(t *testing.T) {
		le := newLimitsEnv(t, qoe.ReceiverLimits{PerClient: -1})
		before := le.jobs(t, qoe.KindFetchCall)
		assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.1", body(100, constant(le.subID), constant("guess"), callN)).Code)
		assert.Equal(t, int64(2), le.queries.Load())
		assert.Equal(t, 1, le.logs.count(slog.LevelWarn))
		st, err := le.svc.Status(t.Context(), customer)
		require.NoError(t, err)
		assert.Equal(t, int64(100), st.Rejected, "every refusal is counted")
		assert.Equal(t, before, le.jobs(t, qoe.KindFetchCall))
	})
	t.Run("the jobs of a POST are de-duplicated", func(t *testing.T) {
		le := newLimitsEnv(t, qoe.ReceiverLimits{PerClient: -1})
		before := le.jobs(t, qoe.KindFetchCall)
		rec := le.serve("192.0.2.1", body(100, constant(le.subID), constant(le.state), func(i int) string { return callN(i % 30) }))
		assert.Equal(t, http.StatusAccepted, rec.Code)
		assert.Equal(t, before+30, le.jobs(t, qoe.KindFetchCall))
		assert.Equal(t, int64(30), le.svc.Stats().Accepted)
	})
}

// TestReceiverClientLimit: a client over its rate gets 429 with
// Retry-After before its body is read; another client is not affected;
// the bucket refills with time.
func TestReceiverClientLimit(t *testing.T) {
	t.Parallel()
	le := newLimitsEnv(t, qoe.ReceiverLimits{PerClient: 1})
	b := body(1, constant("6e2d0c3a-0000-4000-8000-000000000009"), constant("guess"), callN)
	for range 2 { // a burst of twice the rate
		assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.1", b).Code)
	}
	rec := le.serve("192.0.2.1", b)
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.2", b).Code, "another client has its own bucket")
	le.clk.add(time.Second)
	assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.1", b).Code)
	assert.Equal(t, int64(1), le.svc.Stats().Limited)
}

// TestReceiverCacheLifetime: a subscription replaced by another replica
// (new ID and clientState in the shared Store) is seen by this replica
// once its cache entry expires, and the old one is refused then.
func TestReceiverCacheLifetime(t *testing.T) {
	t.Parallel()
	le := newLimitsEnv(t, qoe.ReceiverLimits{PerClient: -1})
	ok := body(1, constant(le.subID), constant(le.state), callN)
	assert.Equal(t, http.StatusAccepted, le.serve("192.0.2.1", ok).Code)
	// Another replica deletes the customer's subscription.
	require.NoError(t, le.env.svc.DeleteSubscription(t.Context(), customer))
	assert.Equal(t, http.StatusAccepted, le.serve("192.0.2.1", ok).Code, "cached for a while")
	le.clk.add(61 * time.Second)
	assert.Equal(t, http.StatusForbidden, le.serve("192.0.2.1", ok).Code, "read again after the cache lifetime")
}

// TestFetchNotFoundIsFinal: a notified call record Graph answers 404 for
// (a forged call ID under a leaked clientState) is dropped after three
// tries, not retried twelve times.
func TestFetchNotFoundIsFinal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{retrySoon: true})
	require.NoError(t, e.svc.EnsureSubscription(t.Context(), customer))
	sub := e.srv.Subscriptions()[0]
	status, _ := e.post(t, "/qoe/notifications", body(1, constant(sub.ID), constant(sub.ClientState), constant("99999999-9999-9999-9999-999999999999")))
	require.Equal(t, http.StatusAccepted, status)
	var job *rivertype.JobRow
	waitFor(t, "the fetch job ends", func() bool {
		res, err := e.rc.JobList(t.Context(), river.NewJobListParams().Kinds(qoe.KindFetchCall).States(rivertype.JobStateCancelled, rivertype.JobStateDiscarded))
		require.NoError(t, err)
		if len(res.Jobs) == 0 {
			return false
		}
		job = res.Jobs[0]
		return true
	})
	assert.Equal(t, rivertype.JobStateCancelled, job.State)
	assert.Equal(t, 3, job.Attempt)
}
