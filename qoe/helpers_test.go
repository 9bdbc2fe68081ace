package qoe_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

const (
	providerID = "0f0f0f0f-1111-2222-3333-666666666666"
	providerPW = "provider-secret-for-qoe-tests"
	qoeAppPW   = "qoe-app-secret-for-the-tests"
)

var discard = slog.New(slog.DiscardHandler)

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func sharedKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

// backend is one database: the qoe Store and River's tables.
type backend struct {
	name string
	path string // the SQLite file
	// open returns a new qoe Store and River client on the same database,
	// as a fresh process would.
	open func(t testing.TB, workers *river.Workers, periodic []*river.PeriodicJob, retry river.ClientRetryPolicy) (*qoe.Store, riverClient)
}

// riverClient is what the tests use of a *river.Client of either driver.
type riverClient interface {
	fleet.Inserter
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

func riverConfig(workers *river.Workers, periodic []*river.PeriodicJob, retry river.ClientRetryPolicy) *river.Config {
	cfg := &river.Config{
		RetryPolicy:       retry,
		Logger:            discard,
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		PeriodicJobs:      periodic,
		TestOnly:          true,
	}
	if workers != nil {
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 8}}
	}
	return cfg
}

// backends returns SQLite always and PostgreSQL when
// TENANTGATE_TEST_POSTGRES is set (in a schema of its own).
func backends(t testing.TB) []backend {
	dir := t.TempDir()
	out := []backend{{name: "sqlite", path: filepath.Join(dir, "qoe.db"), open: func(t testing.TB, w *river.Workers, p []*river.PeriodicJob, retry river.ClientRetryPolicy) (*qoe.Store, riverClient) {
		path := filepath.Join(dir, "qoe.db")
		st, err := qoe.OpenSQLite(t.Context(), path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
		require.NoError(t, err)
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { _ = db.Close() })
		drv := riversqlite.New(db)
		mig, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: discard})
		require.NoError(t, err)
		_, err = mig.Migrate(t.Context(), rivermigrate.DirectionUp, nil)
		require.NoError(t, err)
		rc, err := river.NewClient(drv, riverConfig(w, p, retry))
		require.NoError(t, err)
		return st, rc
	}}}
	dsn := os.Getenv("TENANTGATE_TEST_POSTGRES")
	if dsn == "" {
		return out
	}
	schema := fmt.Sprintf("tgqoe_%d", time.Now().UnixNano())
	admin, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	_, err = admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	sdsn := dsn + sep + "search_path=" + schema
	migrated := false
	out = append(out, backend{name: "postgres", open: func(t testing.TB, w *river.Workers, p []*river.PeriodicJob, retry river.ClientRetryPolicy) (*qoe.Store, riverClient) {
		st, err := qoe.OpenPostgres(t.Context(), sdsn, qoe.PostgresOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		pool, err := pgxpool.New(t.Context(), sdsn)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		drv := riverpgxv5.New(pool)
		if !migrated {
			mig, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: discard})
			require.NoError(t, err)
			_, err = mig.Migrate(t.Context(), rivermigrate.DirectionUp, nil)
			require.NoError(t, err)
			migrated = true
		}
		rc, err := river.NewClient(drv, riverConfig(w, p, retry))
		require.NoError(t, err)
		return st, rc
	}})
	return out
}

// env is the fake cloud with the demo tenant and its QoE app, an
// m365access Manager, a receiver server and a qoe Service on a backend.
type env struct {
	srv     *m365test.Server
	tenant  *m365test.Tenant
	qoeApp  *m365test.App
	m       *m365access.Manager
	mux     atomic.Pointer[http.ServeMux]
	recv    *httptest.Server
	down    atomic.Bool // the change notification path answers 503
	svc     *qoe.Service
	store   *qoe.Store
	rc      riverClient
	b       backend
	retry   river.ClientRetryPolicy
	cfg     qoe.Config
	started bool
}

const customer = "contoso"

type envOptions struct {
	fakeRetries int
	cfg         func(*qoe.Config)
	noStart     bool // insert-only River client
	retrySoon   bool // River retries a failed job after 10 ms
	opaque      bool // the fake issues opaque (non-JWT) access tokens
}

func newEnv(t testing.TB, b backend, o envOptions) *env {
	t.Helper()
	retries := o.fakeRetries
	if retries == 0 {
		retries = 2
	}
	srv := m365test.NewServer(&m365test.Options{SigningKey: sharedKey(), NotificationRetries: retries, NotificationRetryDelay: 20 * time.Millisecond,
		OpaqueAccessTokens: o.opaque})
	t.Cleanup(srv.Close)
	e := &env{srv: srv, b: b}
	if o.retrySoon {
		e.retry = retrySoon{}
	}
	var err error
	e.tenant, err = srv.AddTenant(m365test.TenantOptions{Domains: []string{"contoso.onmicrosoft.com"}, DisplayName: "Contoso Ltd", Users: 100})
	require.NoError(t, err)
	_, err = srv.AddApp(m365test.AppOptions{ClientID: providerID, Secrets: []m365test.Secret{{Value: providerPW}},
		RedirectURIs: []string{"https://portal.example/m365/auth/callback"}, DelegatedPermissions: []string{"User.Read"}})
	require.NoError(t, err)
	e.qoeApp = e.addQoEApp(t, e.tenant, qoe.RoleCallRecords, qoe.RolePstnCalls)
	key, _ := tokenstore.GenerateKey("k1")
	kr, _ := tokenstore.NewKeyring(key)
	store := tokenstore.New(memstore.New(), kr)
	e.m, err = m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{ClientID: providerID, ClientSecret: providerPW, PublicBaseURL: "https://portal.example/m365"},
		Store:    store, HTTPClient: srv.Client(), Logger: discard,
	})
	require.NoError(t, err)
	e.saveQoE(t, customer, e.tenant, e.qoeApp.ClientID)
	e.recv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.down.Load() && r.URL.Query().Get("validationToken") == "" && strings.HasSuffix(r.URL.Path, "/notifications") {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		e.mux.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(e.recv.Close)
	e.cfg = qoe.Config{Access: e.m, HTTPClient: srv.Client(), NotificationURL: e.recv.URL + "/qoe/notifications",
		LifecycleURL: e.recv.URL + "/qoe/lifecycle", Logger: discard, ThrottleFallback: time.Second,
		// The fake delivers everything from one address; Graph from many.
		Receiver: qoe.ReceiverLimits{PerClient: -1}}
	if o.cfg != nil {
		o.cfg(&e.cfg)
	}
	e.start(t, !o.noStart)
	return e
}

// start builds a Service and River client on the backend, as a process
// start does; work says whether the client works jobs.
func (e *env) start(t testing.TB, work bool) {
	t.Helper()
	e.store, e.rc = nil, nil
	cfg := e.cfg
	var workers *river.Workers
	if work {
		workers = river.NewWorkers()
	}
	st, rc := e.b.open(t, workers, nil, e.retry)
	cfg.Store = st
	svc, err := qoe.New(cfg)
	require.NoError(t, err)
	if work {
		require.NoError(t, svc.AddWorkers(workers))
	}
	require.NoError(t, svc.UseInserter(t.Context(), rc))
	e.svc, e.store, e.rc = svc, st, rc
	mux := http.NewServeMux()
	mux.Handle("POST /qoe/notifications", svc.Handler())
	mux.Handle("POST /qoe/lifecycle", svc.Handler())
	e.mux.Store(mux)
	if work {
		require.NoError(t, rc.Start(t.Context()))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = rc.Stop(ctx)
		})
	}
	e.started = work
}

func (e *env) addQoEApp(t testing.TB, tn *m365test.Tenant, roles ...string) *m365test.App {
	t.Helper()
	a, err := e.srv.AddApp(m365test.AppOptions{HomeTenant: tn.ID, DisplayName: "QoE " + tn.DisplayName,
		Secrets: []m365test.Secret{{Value: qoeAppPW}}, ApplicationPermissions: roles})
	require.NoError(t, err)
	require.NoError(t, e.srv.GrantAdminConsent(tn.ID, a.ClientID))
	return a
}

func (e *env) saveQoE(t testing.TB, cust string, tn *m365test.Tenant, appID string) {
	t.Helper()
	tenant, mode, admin, secret := tn.Domain(), m365access.ModeToken, tn.AdminUPN(), qoeAppPW
	_, err := e.m.SaveSettings(t.Context(), cust, m365access.SettingsUpdate{Tenant: &tenant, Mode: &mode,
		ServiceAccount: &admin, QoEAppID: &appID, QoEClientSecret: &secret})
	require.NoError(t, err)
}

// waitFor polls cond for up to 20 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "%s: not within 20 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// post sends a notification body to the receiver.
func (e *env) post(t testing.TB, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(e.recv.URL+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// jobs counts the River jobs of a kind.
func (e *env) jobs(t testing.TB, kind string) int {
	t.Helper()
	res, err := e.rc.JobList(t.Context(), river.NewJobListParams().Kinds(kind).First(10000).States(
		rivertype.JobStateAvailable, rivertype.JobStateCompleted, rivertype.JobStateRunning, rivertype.JobStateRetryable,
		rivertype.JobStateScheduled, rivertype.JobStateCancelled, rivertype.JobStateDiscarded, rivertype.JobStatePending))
	require.NoError(t, err)
	return len(res.Jobs)
}

// waitIdle waits until no job of kind is in flight (available, pending,
// retryable, running or scheduled): the work queued so far is done.
func (e *env) waitIdle(t testing.TB, kind string) {
	t.Helper()
	waitFor(t, kind+" jobs done", func() bool {
		res, err := e.rc.JobList(t.Context(), river.NewJobListParams().Kinds(kind).First(1).States(
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled))
		require.NoError(t, err)
		return len(res.Jobs) == 0
	})
}

func today() time.Time { return time.Now().UTC() }

func m365accessQoE(appID, secret *string) m365access.SettingsUpdate {
	return m365access.SettingsUpdate{QoEAppID: appID, QoEClientSecret: secret}
}

// retrySoon retries a failed job 10 ms later.
type retrySoon struct{}

func (retrySoon) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(10 * time.Millisecond) }
