// Package scaletest holds what the scale-test commands (fleetscale,
// voicescale) share: a fake cloud served over TLS by the parent process
// and reached by replica processes through a transport that dials
// Microsoft's hosts to it, a PostgreSQL schema of the test's own, replica
// processes started from the same binary, and the figures read from the
// machine (PostgreSQL's CPU) and from River (a replica's running jobs).
package scaletest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/pgstore"
)

// FakeTransport dials Entra ID and Graph (port 443 of m365test.LoginHost
// and m365test.GraphHost) to the fake's TLS listener at addr and trusts
// the CA certificates in caFile (written by WriteCA).
func FakeTransport(addr, caFile string) (*http.Transport, error) {
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

// WriteCA writes the fake's CA certificates to path as PEM.
func WriteCA(path string, srv *m365test.Server) error {
	var b []byte
	for _, c := range srv.CACertificates() {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return os.WriteFile(path, b, 0o600)
}

// FakeAddr is the host:port of the fake's TLS listener, for FakeTransport.
func FakeAddr(srv *m365test.Server) string { return strings.TrimPrefix(srv.URL(), "https://") }

// WithSearchPath returns dsn with schema as its search_path.
func WithSearchPath(dsn, schema string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// ResetSchema (re)creates schema in the database of dsn; the returned
// func drops it.
func ResetSchema(ctx context.Context, dsn, schema string) (func(), error) {
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

// StartReplica starts this binary again as replica id: env is added to
// this process's environment with idVar=id, and its output goes to
// logDir/id.log.
func StartReplica(id, idVar string, env []string, logDir string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(append(os.Environ(), env...), idVar+"="+id)
	logf, err := os.Create(filepath.Join(logDir, id+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	return cmd, nil
}

// DumpLogs writes the tail of each replica's log (logDir/id.log) to out.
func DumpLogs(out io.Writer, logDir string, ids []string) {
	for _, id := range ids {
		b, _ := os.ReadFile(filepath.Join(logDir, id+".log"))
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		fmt.Fprintf(out, "--- %s log (tail)\n%s\n", id, b)
	}
}

// StartProfile writes a CPU profile to path until the returned func is
// called.
func StartProfile(path string) (func(), error) {
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

// RunningJobs counts the River jobs replica id (its River client ID) is
// running; kind, when not empty, keeps those of that kind. -1 when
// PostgreSQL cannot be asked.
func RunningJobs(ctx context.Context, dsn, id, kind string) int {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	n := -1
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'running'
		AND attempted_by[array_length(attempted_by, 1)] = $1 AND ($2 = '' OR kind = $2)`, id, kind).Scan(&n)
	return n
}

// PostgresCPU sums the CPU time (user and system) of every process named
// postgres on this machine, including that of its exited children (the
// postmaster reaps its backends), from /proc; -1 when unavailable. The
// difference of two readings is PostgreSQL's share of a round.
func PostgresCPU() time.Duration {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return -1
	}
	const tick = 100 // USER_HZ on Linux
	var ticks int64
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open || s[open+1:closing] != "postgres" {
			continue
		}
		// Fields after the name: state is field 3; utime 14, stime 15,
		// cutime 16, cstime 17.
		f := strings.Fields(s[closing+1:])
		if len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / tick
}

// What a parent passes to its replicas in their environment.
const (
	// EnvReplica is the replica's ID; set only in replicas.
	EnvReplica  = "SCALETEST_REPLICA"
	EnvDSN      = "SCALETEST_DSN"
	EnvFakeAddr = "SCALETEST_FAKE_ADDR"
	EnvCAFile   = "SCALETEST_CA_FILE"
	EnvClientID = "SCALETEST_CLIENT_ID"
	EnvSecret   = "SCALETEST_CLIENT_SECRET"
	EnvKeys     = "TENANTGATE_SEALING_KEYS"
)

// Parent is the parent process's side of a scale test: a PostgreSQL
// schema of its own, a temporary directory (the CA file, the replicas'
// logs), the fake cloud with a provider app, a sealing key, and the token
// store and m365access Manager the parent seeds customers with (talking
// to the fake in-process).
type Parent struct {
	// DSN is the database with the test's schema as search_path.
	DSN      string
	Dir      string
	Fake     *m365test.Server
	Provider *m365test.Provider
	// Keys is the encoded keyring the replicas seal with.
	Keys   string
	Store  *tokenstore.SealedStore
	Access *m365access.Manager
	closes []func()
}

// NewParent sets a test up: name prefixes the schema (name_pid) and the
// directory, fake configures the fake cloud, publicURL is the provider's.
// Close undoes it all.
func NewParent(ctx context.Context, dsn, name string, fake *m365test.Options, publicURL string) (_ *Parent, err error) {
	p := &Parent{}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	schema := name + "_" + strconv.Itoa(os.Getpid())
	drop, err := ResetSchema(ctx, dsn, schema)
	if err != nil {
		return nil, err
	}
	p.closes = append(p.closes, drop)
	p.DSN = WithSearchPath(dsn, schema)
	if p.Dir, err = os.MkdirTemp("", name); err != nil {
		return nil, err
	}
	p.closes = append(p.closes, func() { os.RemoveAll(p.Dir) })
	p.Fake = m365test.NewServer(fake)
	p.closes = append(p.closes, p.Fake.Close)
	if err := WriteCA(p.caFile(), p.Fake); err != nil {
		return nil, err
	}
	if p.Provider, err = p.Fake.AddProvider(m365test.ProviderOptions{PublicBaseURL: publicURL}); err != nil {
		return nil, err
	}
	key, err := tokenstore.GenerateKey(name)
	if err != nil {
		return nil, err
	}
	p.Keys = key.Encode()
	kr, err := tokenstore.ParseKeyring(p.Keys)
	if err != nil {
		return nil, err
	}
	backend, err := pgstore.Open(ctx, p.DSN, pgstore.Options{})
	if err != nil {
		return nil, err
	}
	p.closes = append(p.closes, func() { backend.Close() })
	p.Store = tokenstore.New(backend, kr)
	p.Access, err = m365access.New(m365access.Config{Provider: m365access.ProviderConfig{ClientID: p.Provider.ClientID,
		ClientSecret: p.Provider.ClientSecret, PublicBaseURL: publicURL}, Store: p.Store, HTTPClient: p.Provider.HTTPClient,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Parent) caFile() string { return filepath.Join(p.Dir, "ca.pem") }

// Close drops the schema, stops the fake and removes the directory.
func (p *Parent) Close() {
	for i := len(p.closes) - 1; i >= 0; i-- {
		p.closes[i]()
	}
}

// ReplicaEnv is what a replica needs to reach the database and the fake
// (OpenReplica reads it).
func (p *Parent) ReplicaEnv() []string {
	return []string{EnvDSN + "=" + p.DSN, EnvFakeAddr + "=" + FakeAddr(p.Fake), EnvCAFile + "=" + p.caFile(),
		EnvClientID + "=" + p.Provider.ClientID, EnvSecret + "=" + p.Provider.ClientSecret, EnvKeys + "=" + p.Keys}
}

// StartReplica starts replica id with ReplicaEnv and extra; its output
// goes to Dir/id.log.
func (p *Parent) StartReplica(id string, extra []string) (*exec.Cmd, error) {
	return StartReplica(id, EnvReplica, append(p.ReplicaEnv(), extra...), p.Dir)
}

// Replica is a replica's side: the database, the sealed token store on it
// and the transport to the fake, from the environment the parent set.
type Replica struct {
	DSN string
	// ClientID and Secret are the provider app's.
	ClientID, Secret string
	Store            *tokenstore.SealedStore
	Transport        *http.Transport
	closes           []func()
}

// OpenReplica reads the parent's environment and opens the replica's
// store and transport. Close closes them.
func OpenReplica(ctx context.Context, log *slog.Logger) (_ *Replica, err error) {
	r := &Replica{DSN: os.Getenv(EnvDSN), ClientID: os.Getenv(EnvClientID), Secret: os.Getenv(EnvSecret)}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	kr, err := tokenstore.ParseKeyring(os.Getenv(EnvKeys))
	if err != nil {
		return nil, err
	}
	backend, err := pgstore.Open(ctx, r.DSN, pgstore.Options{})
	if err != nil {
		return nil, err
	}
	r.closes = append(r.closes, func() { backend.Close() })
	r.Store = tokenstore.New(backend, kr, tokenstore.WithLogger(log))
	if r.Transport, err = FakeTransport(os.Getenv(EnvFakeAddr), os.Getenv(EnvCAFile)); err != nil {
		return nil, err
	}
	return r, nil
}

// Close closes what OpenReplica opened.
func (r *Replica) Close() {
	for i := len(r.closes) - 1; i >= 0; i-- {
		r.closes[i]()
	}
}

// RunFleet starts f, works until ctx ends (the parent's SIGTERM) and
// stops it, waiting up to 15 s for running jobs.
func RunFleet(ctx context.Context, f *fleet.Fleet) error {
	if err := f.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return f.Stop(sctx)
}
