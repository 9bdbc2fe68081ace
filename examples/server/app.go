package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/httpapi/clientip"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
	"github.com/tenantgate/tenantgate/invite/smtpmail"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/pgstore"
	"github.com/tenantgate/tenantgate/tokenstore/sqlitestore"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/filter"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
	"github.com/tenantgate/tenantgate/voice"
)

// hooks let tests reach inside; the zero value is what main uses.
type hooks struct {
	// inviteNow is the invitation service's clock (tests expire links).
	inviteNow func() time.Time
	// logger replaces the default stderr logger.
	logger *slog.Logger
	// planInterval is how often the fleet looks for due work (tests
	// shorten it); zero is the fleet's default.
	planInterval time.Duration
	// offboard are extra offboarding hooks.
	offboard []fleet.OffboardHook
	// voicePoll is how often voice follows Microsoft's number operations
	// (tests shorten it); zero is voice's default.
	voicePoll time.Duration
}

// app is a running portal: the library wired together and an HTTP server.
type app struct {
	cfg    config
	budget fleet.Budget // Graph's throttling limits, for every Graph client
	// providerAppID is the provider app's client ID (the fake's in demo
	// mode), named in offboarding reports.
	providerAppID string
	log           *slog.Logger
	publicURL     string
	adminToken    string

	backend tokenstore.Backend
	store   *tokenstore.SealedStore
	sink    *sqlsink.Sink
	manager *m365access.Manager
	invites *invite.Service
	outbox  *outbox.Outbox   // demo only
	fake    *m365test.Server // demo only
	tenant  *m365test.Tenant // demo only
	// fakeProvider is the provider app registered in the fake and what
	// the portal sets to use it (its secret is random per start; a test
	// value, not a real secret).
	fakeProvider *m365test.Provider
	// imds serves the demo's managed identity tokens (-client-assertion
	// managed-identity); imdsIssuer mints them.
	imds       *http.Server
	imdsIssuer *m365test.FederatedIssuer
	// fakeQoESecret is the demo QoE app's secret (random per start).
	fakeQoESecret string
	qoe           *qoe.Service
	qoeStore      *qoe.Store
	voice         *voice.Service
	voiceStore    *voice.Store

	// clientIP names the client of a request for the rate limits.
	clientIP *clientip.Resolver

	// apiTokens are the named API tokens; signIn the technicians'
	// sign-in with Microsoft Entra ID (nil: not configured);
	// demoTechnicians the demo's technicians (demo only).
	apiTokens       *apiTokenStore
	auth            *adminAuth
	signIn          *entraSignIn
	demoTechnicians []demoTechnician

	ln  net.Listener
	srv *http.Server
	api *httpapi.Handler // closed first: refuses new sync runs
	// wizard confirms admin consents in the background; closed with api.
	wizard *httpapi.Handler
	fleet  *fleet.Fleet // stopped before the store: drains jobs
	// jobsPool is River's PostgreSQL pool (production mode).
	jobsPool *pgxpool.Pool
	// recordsDB holds the event log, the webhook delivery log and the
	// audit trail: the tokenstore's database.
	recordsDB *sql.DB
	bus       *events.Bus
	trail     *audit.Log
	metrics   http.Handler       // GET /metrics: Prometheus text
	trailDone chan struct{}      // closed when the credential-use counter has flushed
	cancel    context.CancelFunc // ends background work (the fleet's jobs)
	served    chan error
}

// newLogger returns the server's logger at the configured level.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // checked by parseConfig
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// start builds everything cfg describes and starts serving. On error
// everything already opened is closed again.
func start(ctx context.Context, cfg config, h hooks) (_ *app, err error) {
	a := &app{cfg: cfg, log: h.logger, served: make(chan error, 1)}
	if a.log == nil {
		a.log = newLogger(os.Stderr, cfg.LogLevel)
	}
	defer func() {
		if err != nil {
			a.closeAll()
		}
	}()

	a.clientIP, err = clientip.New(clientip.Options{TrustedProxies: cfg.TrustedProxies, Header: cfg.ClientIPHeader})
	if err != nil {
		return nil, fmt.Errorf("-trusted-proxies, -client-ip-header: %w", err)
	}
	a.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (choose another address with -addr)", cfg.Addr, err)
	}
	a.publicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if a.publicURL == "" {
		a.publicURL = "http://" + browserHost(a.ln.Addr().(*net.TCPAddr))
	}
	a.adminToken = cfg.AdminToken
	if a.adminToken == "" {
		a.adminToken = randomToken(24)
	}

	if err := a.openStore(ctx); err != nil {
		return nil, err
	}

	var mailer invite.Mailer
	provider := m365access.ProviderConfig{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, ClientSecretExpiresAt: cfg.ClientSecretExpiresAt, PublicBaseURL: a.publicURL,
		AppPermissions: append(slices.Clone(m365access.DefaultAppPermissions), "Organization.Read.All"), Cloud: m365access.Cloud(cfg.Cloud),
	}
	httpClient := &http.Client{Timeout: 60 * time.Second}
	var graphTransport http.RoundTripper
	var signInOrigins []string
	if cfg.Mode == modeDemo {
		if err := a.startFake(); err != nil {
			return nil, err
		}
		a.outbox = outbox.New(outbox.Options{})
		mailer = a.outbox
		fp := a.fakeProvider
		provider.ClientID, provider.ClientSecret = fp.ClientID, fp.ClientSecret
		// The demo's provider app also provisions Teams Phone.
		provider.Scopes = append(slices.Clone(m365access.DefaultScopes), voice.Permissions...)
		httpClient, graphTransport, signInOrigins = fp.HTTPClient, fp.GraphTransport, fp.SignInOrigins
		if cfg.ClientAssertion == "managed-identity" {
			endpoint := cfg.ManagedIdentityEndpoint
			if endpoint == "" {
				if endpoint, err = a.startDemoIMDS(); err != nil {
					return nil, err
				}
			}
			provider.ClientSecret = ""
			provider.ClientAssertion = m365access.ManagedIdentityAssertion(m365access.ManagedIdentityOptions{
				ClientID: cfg.ManagedIdentityClientID, Endpoint: endpoint})
		}
	} else {
		switch cfg.ClientAssertion {
		case "managed-identity":
			provider.ClientAssertion = m365access.ManagedIdentityAssertion(m365access.ManagedIdentityOptions{
				ClientID: cfg.ManagedIdentityClientID, Endpoint: cfg.ManagedIdentityEndpoint})
		case "token-file":
			provider.ClientAssertion = m365access.TokenFileAssertion(cfg.FederatedTokenFile)
		}
		if cfg.CertificateFile != "" {
			pem, err := os.ReadFile(cfg.CertificateFile)
			if err != nil {
				return nil, fmt.Errorf("read -client-certificate-file: %w", err)
			}
			provider.CertificatePEM = pem
		}
		m, err := smtpmail.New(smtpmail.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Security: cfg.SMTPSecurity,
			Username: cfg.SMTPUser, Password: cfg.SMTPPassword, From: cfg.SMTPFrom, FromName: cfg.ProviderName})
		if err != nil {
			return nil, fmt.Errorf("SMTP settings: %w", err)
		}
		mailer = m
	}

	a.providerAppID = provider.ClientID
	if err := a.openRecords(ctx); err != nil {
		return nil, err
	}
	if a.metrics, err = metricsHandler(); err != nil {
		return nil, err
	}
	// Graph's throttling limits (per tenant and per app) bound all of the
	// app's Graph traffic: the Manager's own calls (Validate, keep-alive,
	// QoE subscriptions) and the user syncs go through one budget; a
	// throttled customer waits alone, and the fleet divides the app's
	// share among the live replicas.
	voiceHTTP := httpClient // the fleet puts the budget under voice itself
	managerHTTP := *httpClient
	managerHTTP.Transport = a.budget.Transport(httpClient.Transport)
	httpClient = &managerHTTP
	a.manager, err = m365access.New(m365access.Config{
		OnEvent:  a.bus.OnConnection,
		Provider: provider, Store: a.store, Locker: a.store, HTTPClient: httpClient,
		ValidateFilter: func(text string) error { _, err := filter.Compile(text); return err },
		Logger:         a.log,
		ConsentWait:    consentWait(cfg.ConsentWait),
	})
	if err != nil {
		return nil, fmt.Errorf("provider app settings: %w", err)
	}
	a.invites, err = invite.New(invite.Options{
		Store: a.store, Mailer: mailer, PublicBaseURL: a.manager.PublicURLs().BaseURL, TTL: cfg.InviteTTL,
		Branding: invite.Branding{ProviderName: cfg.ProviderName, SupportEmail: cfg.SupportEmail},
		Now:      h.inviteNow, Logger: a.log,
	})
	if err != nil {
		return nil, fmt.Errorf("invitation settings: %w", err)
	}
	ep, _ := m365access.DefaultClouds.Lookup(provider.Cloud) // checked by parseConfig
	source, err := usersync.NewGraphSource(countedCredentials{a}, usersync.GraphOptions{BaseURL: ep.GraphEndpoint + "/v1.0", Scopes: []string{ep.GraphScope()},
		Transport: a.budget.Transport(graphTransport)})
	if err != nil {
		return nil, err
	}
	// After a customer's first sync, scheduled syncs read only what changed
	// (Graph's /users/delta), with a full read every 24 rounds or a day.
	syncer := &usersync.Syncer{Source: source, Sink: a.sink, Logger: a.log, Delta: usersync.DeltaOptions{Enabled: true}}
	if err := a.openQoE(ctx, httpClient); err != nil {
		return nil, err
	}
	if err := a.openVoice(ctx, voiceHTTP, h.voicePoll); err != nil {
		return nil, err
	}
	if err := a.openFleet(ctx, syncer, h); err != nil {
		return nil, err
	}

	if cfg.Mode == modeDemo {
		if err := a.configureDemoCustomer(ctx); err != nil {
			return nil, err
		}
		if err := a.seedDemoFleet(ctx); err != nil {
			return nil, err
		}
		if err := a.seedDemoQoE(ctx); err != nil {
			return nil, err
		}
		if err := a.seedDemoVoice(ctx); err != nil {
			return nil, err
		}
	}

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	auth := newAdminAuth(cfg.AdminName, a.adminToken, strings.HasPrefix(a.publicURL, "https://"))
	a.auth = auth
	if err := a.openSignIn(ctx, auth, voiceHTTP); err != nil {
		return nil, err
	}
	apiCfg := httpapi.Config{
		Authorizer: auth, Access: a.manager, Invitations: a.invites, Store: a.store,
		Fleet: a.fleet, Users: a.sink, QoE: a.qoe, Voice: a.voice, SignInOrigins: signInOrigins,
		ProviderName: cfg.ProviderName, SupportEmail: cfg.SupportEmail,
		Actor: func(*http.Request) string { return cfg.AdminName },
		Audit: a.trail, Events: a.bus,
		CustomerName: a.customerName, ClientIP: a.clientIP.Key, Logger: a.log,
	}
	handler, err := a.routes(apiCfg, auth)
	if err != nil {
		return nil, err
	}

	// Health checks, user syncs, token keep-alive and offboarding are
	// River jobs of the fleet; with PostgreSQL, replicas share them.
	if err := a.fleet.Start(bg); err != nil {
		return nil, err
	}
	if cfg.Mode == modeDemo {
		a.subscribeDemo(ctx)
	}
	a.trailDone = make(chan struct{})
	go func() {
		defer close(a.trailDone)
		var wg sync.WaitGroup
		wg.Go(func() { a.flushDeliveries(bg, time.Minute) })
		wg.Go(func() { a.watchProviderExpiry(bg, a.cfg.CheckInterval) })
		a.trail.Run(bg, time.Minute)
		wg.Wait()
	}()
	a.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	go func() { a.served <- a.srv.Serve(a.ln) }()
	return a, nil
}

// browserHost is the host:port a browser on this machine uses for addr:
// an unspecified address (0.0.0.0, ::) becomes 127.0.0.1.
func browserHost(addr *net.TCPAddr) string {
	ip := addr.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port))
}

// openStore opens the tokenstore backend, the keyring and the user sink.
func (a *app) openStore(ctx context.Context) error {
	if a.cfg.Mode == modeDemo {
		if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("create the data directory (-data): %w", err)
		}
	}
	kr, err := a.keyring()
	if err != nil {
		return err
	}
	if a.cfg.Mode == modeProduction {
		pg, err := pgstore.Open(ctx, a.cfg.PostgresDSN, pgstore.Options{NoMigrate: a.cfg.NoMigrate})
		if err != nil {
			return fmt.Errorf("open the PostgreSQL tokenstore (-postgres-dsn): %w", err)
		}
		a.backend = pg
		if a.sink, err = sqlsink.OpenPostgres(ctx, a.cfg.PostgresDSN, sqlsink.PostgresOptions{NoMigrate: a.cfg.NoMigrate}); err != nil {
			return fmt.Errorf("open the PostgreSQL user store (-postgres-dsn): %w", err)
		}
	} else {
		path := filepath.Join(a.cfg.DataDir, "tenantgate.db")
		lite, err := sqlitestore.Open(ctx, path, sqlitestore.Options{NoMigrate: a.cfg.NoMigrate})
		if err != nil {
			return fmt.Errorf("open the SQLite tokenstore: %w", err)
		}
		a.backend = lite
		if a.sink, err = sqlsink.OpenSQLite(ctx, path, a.migrateOpts()...); err != nil {
			return fmt.Errorf("open the SQLite user store: %w", err)
		}
	}
	a.store = tokenstore.New(a.backend, kr, tokenstore.WithLogger(a.log))
	return nil
}

// keyring loads the sealing keys: TENANTGATE_SEALING_KEYS, the key file,
// or (demo only) a key generated into the data directory.
func (a *app) keyring() (*tokenstore.Keyring, error) {
	switch {
	case a.cfg.SealingKeys != "":
		kr, err := tokenstore.ParseKeyring(a.cfg.SealingKeys)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envSealingKeys, err)
		}
		return kr, nil
	case a.cfg.SealingKeyFile != "":
		return tokenstore.LoadKeyringFile(a.cfg.SealingKeyFile)
	}
	// Demo: a generated key next to the database.
	path := filepath.Join(a.cfg.DataDir, "sealing-keys")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		k, err := tokenstore.GenerateKey("demo-" + time.Now().UTC().Format("20060102"))
		if err != nil {
			return nil, err
		}
		text := "# tenantgate demo sealing key, generated by examples/server. Production needs its own keys:\n" +
			"# set " + envSealingKeys + " or -sealing-key-file, and keep them out of the data directory.\n" + k.Encode() + "\n"
		clear(k.Secret)
		if err := writeFileExcl(path, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("write the demo sealing key: %w", err)
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		a.log.Warn("the demo sealing key file is readable by other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
	a.log.Warn("demo mode: secrets are sealed with a key generated into the data directory; production needs its own keys ("+
		envSealingKeys+" or -sealing-key-file), stored apart from the database", "path", path)
	return tokenstore.LoadKeyringFile(path)
}

// writeFileExcl creates path with data, failing if it exists.
func writeFileExcl(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// customerName is the display name of a customer on invitations.
func (a *app) customerName(_ context.Context, customer string) string {
	if a.tenant != nil && customer == a.cfg.Customer {
		return a.tenant.DisplayName
	}
	return customer
}

// shutdown stops serving (waiting up to the context's deadline for
// requests), stops background work and closes everything.
func (a *app) shutdown(ctx context.Context) error {
	err := a.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = a.srv.Close()
	}
	a.closeAll()
	return err
}

// syncDrainTimeout bounds how long closing waits for running jobs (user
// syncs, checks) to finish before cancelling them.
const syncDrainTimeout = 10 * time.Second

// closeAll releases what start opened; safe on a partly started app.
// The API stops starting syncs, then the fleet drains: running jobs get
// syncDrainTimeout to finish, then are cancelled and record themselves
// interrupted (River retries them later, here or in another replica),
// all before the store closes.
func (a *app) closeAll() {
	if a.imds != nil {
		_ = a.imds.Close()
	}
	if a.wizard != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = a.wizard.Close(ctx)
		cancel()
	}
	if a.api != nil {
		_ = a.api.Close(context.Background())
	}
	if a.fleet != nil {
		ctx, cancel := context.WithTimeout(context.Background(), syncDrainTimeout)
		if err := a.fleet.Stop(ctx); err != nil {
			a.log.Warn("background jobs did not stop cleanly; River retries them after a restart", "err", err.Error())
		}
		cancel()
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.trailDone != nil {
		<-a.trailDone
	}
	if a.jobsPool != nil {
		a.jobsPool.Close()
	}
	if a.ln != nil && a.srv == nil {
		a.ln.Close()
	}
	if a.fake != nil {
		a.fake.Close()
	}
	if a.sink != nil {
		a.sink.Close()
	}
	if a.qoeStore != nil {
		a.qoeStore.Close()
	}
	if a.voiceStore != nil {
		a.voiceStore.Close()
	}
	if a.recordsDB != nil {
		a.recordsDB.Close()
	}
	if a.backend != nil {
		a.backend.Close()
	}
}

// consentWait maps the -consent-wait setting to m365access's ConsentWait,
// where zero means the library's default and negative no wait.
func consentWait(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// openFleet builds the job runner: River on the PostgreSQL database in
// production, on a SQLite file of its own beside the demo's database
// otherwise, with the fleet intervals of the configuration.
func (a *app) openFleet(ctx context.Context, syncer *usersync.Syncer, h hooks) error {
	cfg := fleet.Config{
		Access: a.manager, Store: a.store, Syncer: syncer, Users: a.sink, Invitations: a.invites, Budget: &a.budget,
		ProviderAppID: a.providerAppID,
		CheckInterval: a.cfg.CheckInterval, PlanInterval: h.planInterval,
		SyncInterval: func(string) time.Duration { return a.cfg.SyncInterval },
		// customer.offboarded first, then the erasure of the customer's
		// other events and deliveries, and of its credential-use counts.
		Offboard: append([]fleet.OffboardHook{fleet.OffboardFunc(a.offboarded), a.bus, a.trail}, h.offboard...), Logger: a.log,
		Events: a.bus,
		// The packages that plug into the fleet: webhook deliveries and
		// call records (subscriptions, notifications, fetches, PSTN pulls,
		// the retention purge) are River jobs of its client too; qoe's
		// offboarding hook follows Offboard's.
		// Teams Phone provisioning (operations, inventory refreshes) too.
		Plugins:   []fleet.Plugin{a.bus, a.qoe, a.voice},
		NoMigrate: a.cfg.NoMigrate,
	}
	if a.cfg.Mode == modeProduction {
		pool, err := pgxpool.New(ctx, a.cfg.PostgresDSN)
		if err != nil {
			return fmt.Errorf("open the PostgreSQL job queue (-postgres-dsn): %w", err)
		}
		a.jobsPool, cfg.Postgres = pool, pool
	} else {
		cfg.SQLitePath = filepath.Join(a.cfg.DataDir, "jobs.db")
		// SQLite creates a new database file 0644 (its -wal and -shm
		// files take the database's mode): create it 0600 first, as the
		// demo's other files are.
		if err := createPrivate(cfg.SQLitePath); err != nil {
			return fmt.Errorf("create the job database: %w", err)
		}
	}
	f, err := fleet.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("the job queue: %w", err)
	}
	a.fleet = f
	return nil
}

// createPrivate creates path with mode 0600 if it does not exist, and
// takes group and other access away if it does.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}
