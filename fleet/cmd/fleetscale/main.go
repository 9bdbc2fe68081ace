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
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/pgstore"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// Environment of a replica process.
const (
	envWorker   = "FLEETSCALE_WORKER" // replica ID; set only in replicas
	envDSN      = "FLEETSCALE_DSN"
	envFakeAddr = "FLEETSCALE_FAKE_ADDR"
	envCAFile   = "FLEETSCALE_CA_FILE"
	envClientID = "FLEETSCALE_CLIENT_ID"
	envSecret   = "FLEETSCALE_CLIENT_SECRET"
	envScale    = "FLEETSCALE_TIME_SCALE"
	envAppUnits = "FLEETSCALE_APP_UNITS"
	// envTenantUnits is the per-tenant budget.
	envTenantUnits = "FLEETSCALE_TENANT_UNITS"
	envKeys        = "TENANTGATE_SEALING_KEYS"
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
	} else if id := os.Getenv(envWorker); id != "" {
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
		stop, err := startProfile(filepath.Join(dir, id+".cpu"))
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
	if err := f.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return f.Stop(sctx)
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
	w := &wiring{dsn: os.Getenv(envDSN)}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	scale, _ := strconv.ParseFloat(os.Getenv(envScale), 64)
	kr, err := tokenstore.ParseKeyring(os.Getenv(envKeys))
	if err != nil {
		return nil, err
	}
	backend, err := pgstore.Open(ctx, w.dsn, pgstore.Options{})
	if err != nil {
		return nil, err
	}
	w.closes = append(w.closes, func() { backend.Close() })
	w.store = tokenstore.New(backend, kr, tokenstore.WithLogger(log))
	if w.sink, err = sqlsink.OpenPostgres(ctx, w.dsn, sqlsink.PostgresOptions{}); err != nil {
		return nil, err
	}
	w.closes = append(w.closes, func() { w.sink.Close() })
	tr, err := fakeTransport(os.Getenv(envFakeAddr), os.Getenv(envCAFile))
	if err != nil {
		return nil, err
	}
	// One budget under all of the app's Graph traffic: the Manager's own
	// calls (Validate) and the user sync's.
	appUnits, _ := strconv.Atoi(os.Getenv(envAppUnits))
	tenantUnits, _ := strconv.Atoi(os.Getenv(envTenantUnits))
	w.budget = &fleet.Budget{TimeScale: scale, AppUnits: appUnits, TenantUnits: tenantUnits}
	if w.access, err = m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{ClientID: os.Getenv(envClientID), ClientSecret: os.Getenv(envSecret),
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

// fakeTransport dials Entra ID and Graph to the fake's TLS listener and
// trusts its CA.
func fakeTransport(addr, caFile string) (*http.Transport, error) {
	pemData, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, errors.New("no CA certificate in " + caFile)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(a)
			if port == "443" && (strings.EqualFold(host, m365test.LoginHost) || strings.EqualFold(host, m365test.GraphHost)) {
				a = addr
			}
			return d.DialContext(ctx, network, a)
		},
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
	}, nil
}

// writeCA writes the fake's CA certificate as PEM.
func writeCA(path string, srv *m365test.Server) error {
	var b []byte
	for _, c := range srv.CACertificates() {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return os.WriteFile(path, b, 0o600)
}

// withSearchPath returns dsn with the schema as its search_path.
func withSearchPath(dsn, schema string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// resetSchema (re)creates schema in the database of dsn; the returned
// func drops it.
func resetSchema(ctx context.Context, dsn, schema string) (func(), error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
		return nil, err
	}
	return func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	}, nil
}

// startReplica starts one replica process.
func startReplica(id string, env []string, logDir string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(append(os.Environ(), env...), envWorker+"="+id)
	logf, err := os.Create(filepath.Join(logDir, id+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	return cmd, cmd.Start()
}

// startProfile writes a CPU profile to path until the returned func is
// called.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func pgxPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) { return pgxpool.New(ctx, dsn) }
