package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/usersync"
)

// fakeAccess is an in-memory m365access stand-in counting calls.
type fakeAccess struct {
	mu        sync.Mutex
	settings  map[string]m365access.Settings
	validates map[string]int
	keepalive map[string]int
	forgotten map[string]bool
	// notConnected customers are in token mode with no connection yet.
	notConnected map[string]bool
	validate     func(customer string) (*m365access.Report, error)
	// validateCtx, when set, replaces validate and sees the job's context.
	validateCtx func(ctx context.Context, customer string) (*m365access.Report, error)
}

func newFakeAccess(customers ...string) *fakeAccess {
	a := &fakeAccess{settings: map[string]m365access.Settings{}, validates: map[string]int{},
		keepalive: map[string]int{}, forgotten: map[string]bool{}}
	for _, c := range customers {
		a.settings[c] = m365access.Settings{Customer: c, Mode: m365access.ModeToken, Tenant: c + ".onmicrosoft.com"}
	}
	return a
}

func (a *fakeAccess) GetSettings(_ context.Context, c string) (m365access.Settings, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.settings[c]
	if !ok {
		return s, fmt.Errorf("settings of %q: %w", c, tokenstore.ErrNotFound)
	}
	return s, nil
}

func (a *fakeAccess) Validate(ctx context.Context, c string) (*m365access.Report, error) {
	a.mu.Lock()
	_, ok := a.settings[c]
	a.validates[c]++
	fn, fnCtx := a.validate, a.validateCtx
	a.mu.Unlock()
	if !ok {
		return nil, tokenstore.ErrNotFound
	}
	if fnCtx != nil {
		return fnCtx(ctx, c)
	}
	if fn != nil {
		return fn(c)
	}
	return &m365access.Report{Customer: c, OK: true, At: time.Now()}, nil
}

func (a *fakeAccess) Status(_ context.Context, c string) (m365access.Status, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.notConnected[c] {
		return m365access.Status{Customer: c, State: m365access.StateNotConnected}, nil
	}
	return m365access.Status{Customer: c, State: m365access.StateConnected}, nil
}

func (a *fakeAccess) KeepAlive(_ context.Context, c string, _ time.Duration) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keepalive[c]++
	return true, nil
}

func (a *fakeAccess) Forget(_ context.Context, c string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.settings, c)
	a.forgotten[c] = true
	return nil
}

// wasForgotten reports whether Forget was called for c.
func (a *fakeAccess) wasForgotten(c string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.forgotten[c]
}

func (a *fakeAccess) count(m map[string]int, c string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return m[c]
}

// fakeSource serves n users per customer, a page of 10 at a time, calling
// gate (if set) before each page.
type fakeSource struct {
	n    int
	gate func(ctx context.Context, customer string) error
}

func (s *fakeSource) Read(ctx context.Context, customer string, _ usersync.Query, fn func(usersync.Page) error) error {
	for i := 0; i < s.n; i += 10 {
		if s.gate != nil {
			if err := s.gate(ctx, customer); err != nil {
				return err
			}
		}
		var p usersync.Page
		p.Estimate = int64(s.n)
		for j := i; j < min(i+10, s.n); j++ {
			p.Users = append(p.Users, usersync.User{ID: fmt.Sprintf("%s-%d", customer, j),
				UserPrincipalName: fmt.Sprintf("user%05d@%s", j, customer), DisplayName: fmt.Sprintf("User %05d", j)})
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// purgingSink is a MemorySink that can purge.
type purgingSink struct {
	*usersync.MemorySink
	mu     sync.Mutex
	purged map[string]bool
}

func (p *purgingSink) Purge(_ context.Context, c string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.purged[c] = true
	return nil
}

// wasPurged reports whether Purge was called for c.
func (p *purgingSink) wasPurged(c string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.purged[c]
}

// backends are the River drivers under test: SQLite always, PostgreSQL
// when TENANTGATE_TEST_POSTGRES names a database.
func backends(t *testing.T) map[string]func(cfg *fleet.Config) {
	b := map[string]func(cfg *fleet.Config){
		"sqlite": func(cfg *fleet.Config) {
			cfg.SQLitePath = filepath.Join(t.TempDir(), "river.db")
			cfg.Logger = quiet
		},
	}
	if dsn := os.Getenv("TENANTGATE_TEST_POSTGRES"); dsn != "" {
		b["postgres"] = func(cfg *fleet.Config) {
			cfg.Postgres = testPool(t, dsn)
			cfg.Logger = quiet
		}
	}
	return b
}

// testPool returns a pool on a fresh schema of the test database.
func testPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	schema := "fleet_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_", "#", "_").Replace(t.Name()))
	if len(schema) > 60 {
		schema = schema[:60]
	}
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema)
	require.NoError(t, err)
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		pool.Close()
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	return pool
}

func newStore(t *testing.T) tokenstore.Store { return newStoreTB(t) }

func newStoreTB(t testing.TB) tokenstore.Store {
	k, err := tokenstore.GenerateKey("test")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(k)
	require.NoError(t, err)
	return tokenstore.New(memstore.New(), kr)
}

// startFleet builds and starts a fleet, stopped at cleanup.
func startFleet(t *testing.T, cfg fleet.Config) *fleet.Fleet {
	t.Helper()
	f, err := fleet.New(context.Background(), cfg)
	require.NoError(t, err)
	require.NoError(t, f.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, f.Stop(ctx), "stop")
	})
	return f
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out waiting for "+what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var quiet = slog.New(slog.DiscardHandler)

var _ = errors.New

// planCounter is a Store that counts the fleet's plans: each plan lists
// the customer registry from its first page with a limit of 200 (see
// workPlan). Tests wait for further plans instead of sleeping.
type planCounter struct {
	tokenstore.Store
	mu    sync.Mutex
	plans int
}

func (s *planCounter) List(ctx context.Context, customer, kind string, opts tokenstore.ListOptions) (tokenstore.Page, error) {
	page, err := s.Store.List(ctx, customer, kind, opts)
	if kind == "fleet.customer" && opts.After == "" && opts.Limit == 200 {
		s.mu.Lock()
		s.plans++
		s.mu.Unlock()
	}
	return page, err
}

// count returns how many plans listed the registry so far.
func (s *planCounter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plans
}

// waitPlans waits until n more plans than now have run.
func (s *planCounter) waitPlans(t *testing.T, n int) {
	t.Helper()
	want := s.count() + n
	eventually(t, fmt.Sprintf("%d more plans", n), func() bool { return s.count() >= want })
}
