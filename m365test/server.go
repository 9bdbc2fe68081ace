package m365test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a [Server]. The zero value is a usable configuration.
type Options struct {
	// Now is the server's time source; nil uses time.Now. [Server.Advance]
	// adds an offset on top of it.
	Now func() time.Time
	// AccessTokenLifetime is the lifetime of access tokens; zero means one
	// hour. MSAL refreshes an access token that expires within five minutes,
	// so a lifetime under five minutes makes every silent call refresh.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long an unused refresh token keeps
	// working; zero means 90 days (Entra's inactivity window).
	RefreshTokenLifetime time.Duration
	// CodeLifetime is the lifetime of authorization codes; zero means ten
	// minutes.
	CodeLifetime time.Duration
	// SigningKey signs the tokens; nil generates a 2048-bit RSA key.
	SigningKey *rsa.PrivateKey
	// TLSAddr and BrowserAddr are the listen addresses of the TLS listener
	// (identity platform token traffic and Graph) and of the plain-http
	// loopback listener (pages a person's browser opens). Empty means
	// "127.0.0.1:0".
	TLSAddr, BrowserAddr string
	// NotificationClient posts subscription validation requests and change
	// notifications; nil uses a client with a 10-second timeout.
	NotificationClient *http.Client
	// NotificationRetries caps how often a change notification that was
	// not acknowledged is retried before it is dropped (counted by
	// [Server.MissedNotifications]); zero means no cap (Graph's: retries
	// until NotificationRetryWindow passes), negative no retries.
	NotificationRetries int
	// NotificationRetryDelay is the delay before the first retry, doubled
	// after each, by the server's clock; zero means one second.
	NotificationRetryDelay time.Duration
	// NotificationRetryWindow is how long after the first failed attempt
	// a notification is still retried, by the server's clock; zero means
	// DefaultNotificationRetryWindow (about four hours, as Graph).
	NotificationRetryWindow time.Duration
	// InMemory opens no listener: both listeners are in-memory pipes that
	// only [Server.Transport] and [Server.Client] reach (any other host
	// they are asked for fails), so unit tests use no port and no
	// network. [Server.URL] is then "https://m365test.invalid:443" and
	// [Server.BrowserURL] "http://browser.m365test.invalid:80": the
	// sign-in pages are for a test's HTTP client (or
	// [Server.SetAuthorizeAnswer]), not for a person's browser.
	InMemory bool
	// MaxLog bounds the request log (the oldest entries are dropped); zero
	// means 10,000. Counters are never dropped.
	MaxLog int
	// Logger receives one debug line per request; nil discards them.
	Logger *slog.Logger
	// ConsentReplicationDelay is how long after admin consent app-only
	// tokens still lack the newly granted roles, as Entra ID's replication
	// makes them: zero means DefaultConsentReplicationDelay, negative
	// means none (roles are in the next token at once). It is judged by
	// the server's clock ([Server.Advance] moves it).
	ConsentReplicationDelay time.Duration
	// Throttle, when set, throttles Graph per app per tenant and per app
	// across tenants (see [Throttle]); nil throttles nothing.
	// [Server.SetThrottle] changes it later.
	Throttle *Throttle
	// NoQueryLimits turns off Graph's query-size limits on GET /users
	// (at most 15 expressions in a plain query's filter with `in` or
	// `or`, `eq` values of at most 120 characters in a plain query, URLs
	// of at most 2,048 characters in an advanced query), which the fake
	// otherwise enforces as Graph does.
	NoQueryLimits bool
	// SkipTokenLifetime is how long a GET /users skip token (in
	// @odata.nextLink) works after its page was served, judged by the
	// server's clock: a later page request fails with 400
	// Directory_ExpiredPageToken. Zero means DefaultSkipTokenLifetime;
	// negative never expires them.
	SkipTokenLifetime time.Duration
	// OpaqueAccessTokens makes the access tokens the fake issues opaque
	// random strings instead of JWTs (the fake keeps their claims), as
	// Microsoft reserves the right to: access tokens for Graph are not for
	// clients to read. Off by default, like Entra ID today (JWTs); on, it
	// proves a client never decodes one. id_tokens stay JWTs.
	OpaqueAccessTokens bool
	// AdvancedQueryLag, when positive, makes GET /users requests with
	// ConsistencyLevel: eventual (advanced queries, $count) read the
	// directory as it was AdvancedQueryLag ago, as Graph answers them
	// from an eventually consistent index: users added, changed or
	// deleted within the lag are not (yet) seen that way, while plain
	// reads, /users/{id} and /users/delta see them at once. Zero (the
	// default) means no lag: Graph documents the lag but not its length,
	// and with it even a correct client sees stale results until the lag
	// passes, so tests that need it turn it on. Judged by the server's
	// clock.
	AdvancedQueryLag time.Duration
	// NumberOperationDelay is how long a Teams assignNumber or
	// unassignNumber operation takes on the server's clock: a third of
	// it notStarted, then running, then settled. Zero means
	// DefaultNumberOperationDelay; negative settles operations at once.
	NumberOperationDelay time.Duration
	// TeamsPropagationDelay, when positive, is how long a change of
	// licenses, numbers or policies takes to show in the user's
	// /admin/teams/userConfigurations entry, as Graph's inventory and
	// user configuration are eventually consistent. Zero (the default):
	// at once.
	TeamsPropagationDelay time.Duration
}

// DefaultSkipTokenLifetime is the SkipTokenLifetime of a Server whose
// Options leave it zero. Graph documents no lifetime for skip tokens, only
// that they are not kept forever; an hour is an assumption.
const DefaultSkipTokenLifetime = time.Hour

// DefaultConsentReplicationDelay is the consent replication delay of a
// Server whose Options leave it zero. Entra ID documents "a few minutes"
// and has been seen to take longer; one minute keeps demos moving while
// still making a client that trusts a cached or the first fresh token fail.
const DefaultConsentReplicationDelay = time.Minute

// Server is a fake Microsoft cloud: Entra ID (identity platform v2.0) and
// Microsoft Graph v1.0, for tests and demos. Create it with [NewServer] and
// stop it with [Server.Close]. A Server is safe for concurrent use.
type Server struct {
	opts    Options
	certs   *certificates
	signer  *signer
	tlsSrv  *httptest.Server
	httpSrv *httptest.Server
	tr      *http.Transport
	notify  *http.Client

	mu          sync.Mutex
	offset      time.Duration
	tenants     map[string]*Tenant // by GUID
	domains     map[string]*Tenant // by lower-case domain
	apps        map[string]*App    // by client ID
	codes       map[string]*authCode
	refresh     map[string]*refreshToken
	answer      *AuthorizeAnswer
	faults      []*faultEntry
	log         []Request
	logStart    int
	counts      map[Match]int
	mail        []SentMail
	subs        map[string]*Subscription
	pageState   map[string]*pageState
	nextFaultID int
	pending     int                        // notifications waiting for a retry
	missed      map[string]int             // by subscription ID
	opaque      map[string]*jws            // opaque access token -> its claims (Options.OpaqueAccessTokens)
	mailFaults  map[string]*mailFaultState // by tenant/user ID (SetMailFault)
	fed         federation                 // federated issuers and credentials (federated.go)

	closing   chan struct{}
	closeOnce sync.Once
	bg        sync.WaitGroup // notification retries

	graphMux http.Handler // the TLS listener's handler; $batch dispatches through it

	throttle atomic.Pointer[throttleState] // nil: no throttling
	rel      reliabilityFaults             // CutNextLinks, RevokeAccessTokens
}

// NewServer starts a fake cloud with no tenants and no apps. opts may be
// nil. It panics if it cannot listen, like httptest.NewServer.
func NewServer(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var throttle *throttleState
	if o.Throttle != nil {
		throttle = newThrottle(*o.Throttle)
	}
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = time.Hour
	}
	if o.RefreshTokenLifetime <= 0 {
		o.RefreshTokenLifetime = 90 * 24 * time.Hour
	}
	if o.CodeLifetime <= 0 {
		o.CodeLifetime = 10 * time.Minute
	}
	if o.NotificationRetries < 0 {
		o.NotificationRetries = -1
	}
	if o.NotificationRetryWindow <= 0 {
		o.NotificationRetryWindow = DefaultNotificationRetryWindow
	}
	if o.NotificationRetryDelay <= 0 {
		o.NotificationRetryDelay = time.Second
	}
	if o.SkipTokenLifetime == 0 {
		o.SkipTokenLifetime = DefaultSkipTokenLifetime
	}
	switch {
	case o.ConsentReplicationDelay == 0:
		o.ConsentReplicationDelay = DefaultConsentReplicationDelay
	case o.ConsentReplicationDelay < 0:
		o.ConsentReplicationDelay = 0
	}
	if o.MaxLog <= 0 {
		o.MaxLog = 10_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	key := o.SigningKey
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(fmt.Sprintf("m365test: generating the signing key: %v", err))
		}
	}
	certs, err := newCertificates(o.Now())
	if err != nil {
		panic(fmt.Sprintf("m365test: generating certificates: %v", err))
	}
	s := &Server{
		opts:      o,
		certs:     certs,
		signer:    newSigner(key),
		tenants:   map[string]*Tenant{},
		domains:   map[string]*Tenant{},
		apps:      map[string]*App{},
		codes:     map[string]*authCode{},
		refresh:   map[string]*refreshToken{},
		counts:    map[Match]int{},
		subs:      map[string]*Subscription{},
		pageState: map[string]*pageState{},
		missed:    map[string]int{},
		closing:   make(chan struct{}),
	}
	s.throttle.Store(throttle)

	s.notify = o.NotificationClient
	if s.notify == nil {
		s.notify = &http.Client{Timeout: 10 * time.Second}
	}

	s.graphMux = s.tlsMux()
	s.tlsSrv = httptest.NewUnstartedServer(s.graphMux)
	s.httpSrv = httptest.NewUnstartedServer(s.browserMux())
	var tlsMem, browserMem *memListener
	if o.InMemory {
		tlsMem, browserMem = newMemListener(memTLSAddr), newMemListener(memBrowserAddr)
		s.tlsSrv.Listener, s.httpSrv.Listener = tlsMem, browserMem
	} else {
		s.tlsSrv.Listener = listen(o.TLSAddr)
		s.httpSrv.Listener = listen(o.BrowserAddr)
	}
	s.tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{certs.leaf}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	s.tlsSrv.StartTLS()
	s.httpSrv.Start()

	if o.InMemory {
		s.tr = newMemTransport(certs.pool, tlsMem, browserMem)
	} else {
		s.tr = newTransport(certs.pool, s.tlsSrv.Listener.Addr().String())
	}
	return s
}

func listen(addr string) net.Listener {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		panic(fmt.Sprintf("m365test: failed to listen on %s: %v", addr, err))
	}
	return l
}

// Close shuts both listeners down and waits for pending requests, like
// httptest.Server.Close.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.bg.Wait()
	s.tr.CloseIdleConnections()
	s.tlsSrv.Close()
	s.httpSrv.Close()
}

// URL returns the base URL of the TLS listener, e.g. "https://127.0.0.1:41234".
func (s *Server) URL() string { return s.tlsSrv.URL }

// AuthorityURL returns the MSAL authority for tenant (a GUID, a verified
// domain, "organizations" or "common") on the TLS listener. Use it with
// MSAL's WithAuthority (confidential.New's authority argument),
// WithInstanceDiscovery(false) and WithHTTPClient(srv.Client()).
func (s *Server) AuthorityURL(tenant string) string { return s.tlsSrv.URL + "/" + tenant }

// GraphURL returns the Graph base URL on the TLS listener, ending in "/v1.0".
func (s *Server) GraphURL() string { return s.tlsSrv.URL + "/v1.0" }

// BrowserURL returns the base URL of the plain-http loopback listener that
// serves the sign-in, consent and admin consent pages.
func (s *Server) BrowserURL() string { return s.httpSrv.URL }

// AdminConsentURL returns the admin consent link for the app clientID in
// tenant, as a provider would build it on the real authority, but on the
// browser listener.
func (s *Server) AdminConsentURL(tenant, clientID, redirectURI, state string) string {
	return s.httpSrv.URL + "/" + tenant + "/v2.0/adminconsent?client_id=" + url.QueryEscape(clientID) +
		"&scope=" + url.QueryEscape("https://"+GraphHost+"/.default") +
		"&redirect_uri=" + url.QueryEscape(redirectURI) + "&state=" + url.QueryEscape(state)
}

// CertPool returns a pool holding the CA of the TLS listener's certificate.
func (s *Server) CertPool() *x509.CertPool { return s.certs.pool.Clone() }

// Transport returns the server's shared transport: it trusts the fake's CA
// and dials login.microsoftonline.com:443 and graph.microsoft.com:443 to the
// fake, so code with the real authority and Graph URL reaches the fake.
// Other hosts are dialled normally.
func (s *Server) Transport() *http.Transport { return s.tr }

// Client returns a new HTTP client using [Server.Transport]. It follows
// redirects; set CheckRedirect on the copy to capture them.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: s.tr, Timeout: 60 * time.Second}
}

// Now returns the server's current time: Options.Now plus the offset set
// with [Server.Advance].
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return s.opts.Now().Add(s.offset) }

// Advance moves the server's clock forward by d (backward for negative
// d): tokens, codes, secrets and refresh-token inactivity are judged by
// this clock. MSAL's own cache uses the process clock.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// CACertificates returns the certificate authority that issued the TLS
// listener's certificate, for processes that must trust it (e.g. written
// to a PEM file).
func (s *Server) CACertificates() []*x509.Certificate {
	return []*x509.Certificate{s.certs.ca}
}
