package m365access

import (
	"context"
	"errors"
	"github.com/tenantgate/tenantgate/internal/typednil"
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
	// AppRegistrationOnly allows an empty Provider: the Manager then serves
	// app registration customers only (token connections, the password
	// mode and admin consent fail with ErrNotConfigured). Without it an
	// empty Provider is refused by New.
	AppRegistrationOnly bool
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
	// ConsentWait bounds how long confirming a consent Entra ID reported
	// as granted keeps getting fresh app-only tokens, with backoff, while
	// they still lack the new roles (Entra ID replicates a grant for
	// minutes). Zero means DefaultConsentWait; negative means one attempt.
	// Past the bound the customer is StateConsentPropagating and a later
	// ConfirmConsent or Validate finishes the confirmation.
	ConsentWait time.Duration
}

// DefaultConsentWait is the ConsentWait of a Config that leaves it zero.
const DefaultConsentWait = 20 * time.Second

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
	consentWait    time.Duration
	now            func() time.Time // the clock for transaction expiry; tests move it

	mu      sync.Mutex
	clients map[string]*customerClients // by customer
	// epochs count each customer's forgets: a refresh that started
	// before a forget (a mode switch, new settings) must not cache what
	// it got under the old settings.
	epochs map[string]uint64

	graphOnce   sync.Once
	graphClient *http.Client // Graph's middleware pipeline over http's transport
	graphErr    error

	jwks   jwksCache // the tenants' id_token signing keys
	tokens sync.Map  // tokenKey -> cachedToken
	modes  sync.Map  // customer -> modeEntry
	sf     singleflight.Group
}

// New checks cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("m365access: Config.Store is required: set it to tokenstore.New(backend, keyring)")
	}
	if _, raw := cfg.Store.(tokenstore.Backend); raw {
		return nil, errors.New("m365access: Config.Store is a raw tokenstore.Backend, which would keep secrets in clear; wrap it with tokenstore.New(backend, keyring)")
	}
	if k, ok := cfg.Store.(interface{ Keyring() *tokenstore.Keyring }); ok && k.Keyring() == nil {
		return nil, errors.New("m365access: Config.Store has no keyring and could not seal secrets: create it with tokenstore.New(backend, keyring) and a keyring from tokenstore.NewKeyring")
	}
	if typednil.Is(cfg.Locker) {
		cfg.Locker = nil // a typed nil Locker means none, not a panic on first refresh
	}
	if cfg.Provider.isZero() && !cfg.AppRegistrationOnly {
		return nil, errors.New("m365access: Config.Provider is empty: set the provider app's ClientID, ClientSecret (or CertificatePEM) and PublicBaseURL; a Manager serving app registration customers only sets Config.AppRegistrationOnly")
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
		consentWait:    cfg.ConsentWait,
		clients:        make(map[string]*customerClients),
		epochs:         make(map[string]uint64),
		now:            time.Now,
	}
	if m.http == nil {
		m.http = http.DefaultClient
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	switch {
	case m.consentWait == 0:
		m.consentWait = DefaultConsentWait
	case m.consentWait < 0:
		m.consentWait = 0
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
	m.mu.Lock()
	m.epochs[customer]++
	m.modes.Delete(customer)
	delete(m.clients, customer)
	m.mu.Unlock()
}

// epoch returns the customer's forget count.
func (m *Manager) epoch(customer string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epochs[customer]
}

// ifEpoch runs fn under the Manager's lock if no forget happened for
// customer since epoch e.
func (m *Manager) ifEpoch(customer string, e uint64, fn func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.epochs[customer] == e {
		fn()
	}
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

// PublicURLs returns the provider's public base URL and redirect URIs
// (Config.Provider.PublicURLs). Give BaseURL to invite.Options as the
// PublicBaseURL; httpapi reads them from the Manager and checks they agree.
func (m *Manager) PublicURLs() PublicURLs { return m.provider.PublicURLs() }

// Endpoints returns the cloud endpoints of customer's configured cloud.
func (m *Manager) Endpoints(ctx context.Context, customer string) (CloudEndpoints, error) {
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return CloudEndpoints{}, err
	}
	return m.clouds.Lookup(s.Cloud)
}
