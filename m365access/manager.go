package m365access

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
	"golang.org/x/sync/singleflight"
)

// Config configures a Manager. Provider and Store are required; the other
// fields have useful zero values.
type Config struct {
	// Provider is the provider's multi-tenant app.
	Provider ProviderConfig
	// Store persists settings, connections, status and the MSAL token
	// caches (through tokenstore/msalcache). It must seal: a
	// *tokenstore.SealedStore with a keyring, never a raw Backend.
	Store tokenstore.Store
	// Locker coordinates token refresh across replicas sharing Store. Nil
	// means this process is the only one: refresh is coordinated
	// in-process only.
	Locker tokenstore.Locker
	// HTTPClient sends every request to Entra ID and Graph; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// Clouds overrides the cloud endpoint table (tests point CloudGlobal at
	// a fake); nil means DefaultClouds.
	Clouds CloudTable
	// ValidateFilter checks a user filter on save (usersync/filter's
	// compiler fits); nil accepts any text.
	ValidateFilter func(filter string) error
	// OnEvent is called, synchronously, for every connection state change.
	OnEvent func(Event)
	// Logger receives the package's logs; nil means slog.Default().
	// Logs never hold secrets, tokens, codes or verifiers.
	Logger *slog.Logger
}

// Manager is the entry point: settings, token connections, credentials,
// consent, validation and status for every customer. It is safe for
// concurrent use; create one per process and share it.
type Manager struct {
	provider       ProviderConfig
	store          tokenstore.Store
	locker         tokenstore.Locker
	http           *http.Client
	clouds         CloudTable
	validateFilter func(string) error
	onEvent        func(Event)
	log            *slog.Logger
	now            func() time.Time // the clock for transaction expiry; tests move it

	mu      sync.Mutex
	clients map[string]*customerClients // by customer

	graphOnce   sync.Once
	graphClient *http.Client // Graph's middleware pipeline over http's transport
	graphErr    error

	tokens sync.Map // tokenKey -> cachedToken
	modes  sync.Map // customer -> modeEntry
	sf     singleflight.Group
}

// New checks cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("m365access: Config.Store is required")
	}
	if _, raw := cfg.Store.(tokenstore.Backend); raw {
		return nil, errors.New("m365access: Config.Store is a raw tokenstore.Backend, which would keep secrets in clear; wrap it with tokenstore.New(backend, keyring)")
	}
	clouds := cfg.Clouds
	if clouds == nil {
		clouds = DefaultClouds
	}
	if err := cfg.Provider.Validate(clouds); err != nil {
		return nil, err
	}
	m := &Manager{
		provider:       cfg.Provider,
		store:          cfg.Store,
		locker:         cfg.Locker,
		http:           cfg.HTTPClient,
		clouds:         clouds,
		validateFilter: cfg.ValidateFilter,
		onEvent:        cfg.OnEvent,
		log:            cfg.Logger,
		clients:        make(map[string]*customerClients),
		now:            time.Now,
	}
	if m.http == nil {
		m.http = http.DefaultClient
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m, nil
}

// forget drops everything held in memory for customer: MSAL clients and
// cached access tokens.
func (m *Manager) forget(customer string) {
	m.forgetClients(customer)
	m.forgetTokens(customer)
}

func (m *Manager) forgetClients(customer string) {
	m.modes.Delete(customer)
	m.mu.Lock()
	delete(m.clients, customer)
	m.mu.Unlock()
}

// lock takes the cross-replica refresh lease for customer, if a Locker is
// configured. The returned func releases it.
func (m *Manager) lock(ctx context.Context, name string) (func(), error) {
	if m.locker == nil {
		return func() {}, nil
	}
	lease, err := m.locker.Lock(ctx, name, leaseTTL)
	if err != nil {
		return nil, err
	}
	return func() {
		if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
			m.log.WarnContext(ctx, "m365access: releasing a lease failed", "lease", name, "err", err)
		}
	}, nil
}

// leaseTTL bounds a refresh lease; a refresh takes far less.
const leaseTTL = 30 * time.Second

// HTTPClient returns the client the Manager sends every request to Entra
// ID and Graph with (Config.HTTPClient, or http.DefaultClient).
func (m *Manager) HTTPClient() *http.Client { return m.http }

// Endpoints returns the cloud endpoints of customer's configured cloud.
func (m *Manager) Endpoints(ctx context.Context, customer string) (CloudEndpoints, error) {
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return CloudEndpoints{}, err
	}
	return m.clouds.Lookup(s.Cloud)
}
