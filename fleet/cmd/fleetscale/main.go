// Command fleetscale is the fleet's scale test: several replica processes
// on one PostgreSQL database run a full round of health checks and user
// syncs for many customers on the m365test fake cloud (with Graph's
// throttling), one replica is killed with SIGKILL mid-round, and the round
// must still check and sync every customer exactly once, lose nothing and
// mix no customer's users with another's.
//
//	TENANTGATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/db?sslmode=disable \
//	    go run ./fleet/cmd/fleetscale -customers 200 -users 5000
//
// Each replica is wired as the portal is in production mode (pgstore,
// sqlsink on PostgreSQL, an m365access Manager and a usersync Graph source
// both under one fleet.Budget, a fleet on riverpgxv5 sharing the app's
// budget among the live replicas) but talks to the fake over its TLS
// listener and serves no HTTP. Every customer is its own tenant; with
// -shared-app (the default) all use one multi-tenant app registration, so
// the fake's per-app limit spans them. The command works in a schema of
// its own, dropped at the end, and exits non-zero when a check fails. It
// prints the round's figures: wall time, Graph requests, the share that
// drew 429, the floor Graph's per-app limit sets for that many requests,
// and the Graph span (first to last Graph request). -local N measures the
// local floor instead: the same work in one process without fleet or
// River, N customers at a time. -profile DIR writes CPU profiles.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/scaletest"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// Environment of a replica process, besides scaletest's.
const (
	envScale    = "FLEETSCALE_TIME_SCALE"
	envAppUnits = "FLEETSCALE_APP_UNITS"
	// envTenantUnits is the per-tenant budget.
	envTenantUnits = "FLEETSCALE_TENANT_UNITS"
	// envProfile is a directory each replica writes its CPU profile to.
	envProfile = "FLEETSCALE_PROFILE_DIR"
)

const publicURL = "https://fleetscale.example/m365"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if os.Getenv(envLocalWorkers) != "" {
		err = localFloor(ctx)
	} else if id := os.Getenv(scaletest.EnvReplica); id != "" {
		err = replica(ctx, id)
	} else {
		err = orchestrate(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetscale:", err)
		os.Exit(1)
	}
}

// timing are the fleet intervals of the test: one round, quickly planned.
const (
	planInterval = time.Second
	jobTimeout   = 20 * time.Second
	rescueAfter  = 25 * time.Second
	// replicaHeartbeat: a killed replica's share returns to the others
	// within three of these.
	replicaHeartbeat = 500 * time.Millisecond
)

// replica runs one fleet replica until ctx ends.
func replica(ctx context.Context, id string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("replica", id)
	if dir := os.Getenv(envProfile); dir != "" {
		stop, err := scaletest.StartProfile(filepath.Join(dir, id+".cpu"))
		if err != nil {
			return err
		}
		defer stop()
	}
	w, err := wire(ctx, log)
	if err != nil {
		return err
	}
	defer w.close()
	dsn, store, sink, m := w.dsn, w.store, w.sink, w.access
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	f, err := fleet.New(ctx, fleet.Config{
		Postgres: pool, Access: m, Store: store, Users: sink,
		Syncer:       &usersync.Syncer{Source: w.source, Sink: sink, Logger: log},
		ID:           id,
		PlanInterval: planInterval, CheckInterval: 24 * time.Hour,
		JobTimeout: jobTimeout, RescueAfter: rescueAfter, MaxWorkers: 8, Logger: log,
		// The replicas divide the app's budget by their live count.
		Budget: w.budget, ReplicaHeartbeat: replicaHeartbeat,
	})
	if err != nil {
		return err
	}
	return scaletest.RunFleet(ctx, f)
}

// wiring is what a replica and the local floor share: the store, the
// sink, the Manager and the Graph source under a budget, as the portal
// wires them in production mode, talking to the fake.
type wiring struct {
	dsn    string
	store  *tokenstore.SealedStore
	sink   *sqlsink.Sink
	access *m365access.Manager
	source *usersync.GraphSource
	budget *fleet.Budget
	closes []func()
}

func (w *wiring) close() {
	for i := len(w.closes) - 1; i >= 0; i-- {
		w.closes[i]()
	}
}

// wire builds a process's wiring from the environment.
func wire(ctx context.Context, log *slog.Logger) (_ *wiring, err error) {
	r, err := scaletest.OpenReplica(ctx, log)
	if err != nil {
		return nil, err
	}
	w := &wiring{dsn: r.DSN, store: r.Store, closes: []func(){r.Close}}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	scale, _ := strconv.ParseFloat(os.Getenv(envScale), 64)
	if w.sink, err = sqlsink.OpenPostgres(ctx, w.dsn, sqlsink.PostgresOptions{}); err != nil {
		return nil, err
	}
	w.closes = append(w.closes, func() { w.sink.Close() })
	tr := r.Transport
	// One budget under all of the app's Graph traffic: the Manager's own
	// calls (Validate) and the user sync's.
	appUnits, _ := strconv.Atoi(os.Getenv(envAppUnits))
	tenantUnits, _ := strconv.Atoi(os.Getenv(envTenantUnits))
	w.budget = &fleet.Budget{TimeScale: scale, AppUnits: appUnits, TenantUnits: tenantUnits}
	if w.access, err = m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{ClientID: r.ClientID, ClientSecret: r.Secret,
			PublicBaseURL: publicURL, AppPermissions: []string{"User.Read.All"}},
		Store: w.store, Locker: w.store, HTTPClient: &http.Client{Transport: w.budget.Transport(tr), Timeout: time.Minute}, Logger: log,
	}); err != nil {
		return nil, err
	}
	if w.source, err = usersync.NewGraphSource(w.access, usersync.GraphOptions{Transport: w.budget.Transport(tr)}); err != nil {
		return nil, err
	}
	return w, nil
}

func pgxPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) { return pgxpool.New(ctx, dsn) }
