package httpapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/typednil"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/httpapi/clientip"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// UserStore lists a customer's synced users; an *sqlsink.Sink satisfies it.
type UserStore interface {
	List(ctx context.Context, customer string, opts sqlsink.ListOptions) (sqlsink.Page, error)
	Count(ctx context.Context, customer string) (int, error)
	CountMatching(ctx context.Context, customer string, match func(*usersync.User) bool) (int, error)
}

// Config configures the handlers. Access, Invitations and Store are
// required by every handler; the admin API also needs Authorizer. Every
// other zero value is a documented default.
//
// The public base URL has one source: the Manager's
// m365access.ProviderConfig.PublicBaseURL (Access.PublicURLs). The
// handlers take the cookie path, the Secure flag and the wizard links from
// it, and New refuses an invite Service whose PublicBaseURL differs, or
// redirect URIs other than the base URL + "/auth/callback" and
// "/consent/callback", where the wizard serves them.
type Config struct {
	// Authorizer decides every admin request. Required by New and
	// NewAdmin: there is no open admin API.
	Authorizer Authorizer

	// Access is the m365access Manager.
	Access *m365access.Manager
	// Invitations is the invite Service.
	Invitations *invite.Service
	// Store keeps the handlers' own records: sync runs and the
	// invitation a sign-in started from. Use the Store the Manager uses.
	Store tokenstore.Store

	// Fleet runs the background jobs (user syncs, offboarding) and lists
	// the customers: the *fleet.Fleet. Nil answers the sync, fleet and
	// offboarding routes with 501.
	Fleet *fleet.Fleet
	// Users lists the synced users (GET /customers/{customer}/users),
	// normally the *sqlsink.Sink the fleet's Syncer writes. Nil answers
	// 501.
	Users UserStore

	// QoE serves the call quality routes (qoe/summary, qoe/calls,
	// qoe/pstn, m365/qoe/validate) and the notification receiver that New
	// mounts at POST /qoe/notifications (no Authorizer: Microsoft calls
	// it; the clientState guards it). Saving QoE settings brings the
	// customer's subscription in line. Nil answers the QoE routes with 501.
	QoE QoE
	// Voice serves the Teams Phone provisioning routes (voice/numbers,
	// voice/ranges, voice/operations, users/{user}/voice): a
	// *voice.Service. Nil answers them with 501.
	Voice Voice
	// Audit records every admin request that changes something (every
	// POST, PUT and DELETE, allowed or denied) with the actor, and the
	// wizard's completed sign-ins and consents; it serves GET /audit and
	// GET /customers/{customer}/audit. Normally an *audit.Log. Nil keeps no
	// trail and answers those routes with 501.
	Audit AuditTrail
	// Events is told of consents granted through the wizard and serves
	// GET /customers/{customer}/events and GET /webhooks/deliveries.
	// Normally an *events.Bus. Nil answers those routes with 501.
	Events EventLog

	// SignInOrigins are the origins (scheme://host[:port]) the "Sign in
	// with Microsoft" form may be redirected to: the CSP form-action of
	// the wizard pages. Browsers enforce form-action on the redirect that
	// follows the form POST, so the origin of the authorize URL must be
	// listed. Empty means the authority hosts of m365access.DefaultClouds;
	// with the m365test fake, use m365test.Provider.SignInOrigins.
	SignInOrigins []string

	// ProviderName names the provider on the wizard pages.
	// Default: "Your service provider".
	ProviderName string
	// SupportEmail and SupportURL are shown on failure pages; optional.
	SupportEmail string
	SupportURL   string
	// Permissions are listed on the landing page. Default:
	// invite.DefaultPermissions.
	Permissions []invite.Permission
	// Pages overrides the wizard page templates for branding: any of
	// layout.html, landing.html, success.html, failure.html at the root
	// of Pages replaces the built-in one (html/template syntax, see the
	// built-ins in the templates directory of this package).
	Pages fs.FS

	// Actor names the provider admin behind an admin request as
	// invitations show it ("sent by"), and as the audit trail does when
	// the Authorizer is no ActorNamer. Default: ProviderName.
	Actor func(r *http.Request) string
	// CustomerName gives a customer's display name for invitations.
	// Default: the customer ID.
	CustomerName func(ctx context.Context, customer string) string
	// ClientIP identifies the client of a wizard request for the guess
	// rate limit. Default: the TCP peer's address (IPv6 grouped by /64),
	// trusting no forwarding header. Behind a reverse proxy every client
	// would share the proxy's address: use the Key method of a
	// clientip.Resolver that names the proxy.
	ClientIP func(r *http.Request) string

	// CrossOrigin protects the admin API against cross-origin browser
	// requests. Nil means a new http.CrossOriginProtection, which refuses
	// non-safe cross-origin requests from browsers. Add trusted origins
	// to it for a portal served from another origin.
	CrossOrigin *http.CrossOriginProtection

	// Logger receives the handlers' logs (no secrets, no tokens, no
	// links). Default: slog.Default().
	Logger *slog.Logger
}

// checked is a validated Config with defaults applied. Its Access,
// Invitations and Fleet shadow Config's: the handlers reach the Manager,
// the invite Service and the Fleet through what they use of them (tests
// substitute one with a wrapper).
type checked struct {
	Config
	Access      accessAPI
	Invitations invitationsAPI
	Fleet       fleetAPI // nil without a Config.Fleet
	publicURL   *url.URL
	cookiePath  string
	secure      bool
}

// deps are the services a Config names, as the handlers use them.
type deps struct {
	access      accessAPI
	invitations invitationsAPI
	fleet       fleetAPI
}

// depsOf returns cfg's services; a nil pointer stays a nil interface.
func depsOf(cfg Config) deps {
	var d deps
	if cfg.Access != nil {
		d.access = cfg.Access
	}
	if cfg.Invitations != nil {
		d.invitations = cfg.Invitations
	}
	if cfg.Fleet != nil {
		d.fleet = cfg.Fleet
	}
	return d
}

func (cfg Config) check(admin bool) (*checked, error) { return cfg.checkWith(admin, depsOf(cfg)) }

// checkWith validates cfg with d as its services.
func (cfg Config) checkWith(admin bool, d deps) (*checked, error) {
	var errs []error
	if admin && typednil.Is(cfg.Authorizer) { // a nil AuthorizerFunc is a real typed nil
		errs = append(errs, errors.New("no Authorizer (nil or a nil func or pointer): the admin API never runs open; set Config.Authorizer"))
	}
	if d.access == nil {
		errs = append(errs, errors.New("no Access: set Config.Access to the *m365access.Manager"))
	}
	if d.invitations == nil {
		errs = append(errs, errors.New("no Invitations: set Config.Invitations to the *invite.Service"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("no Store: set Config.Store to the tokenstore the Manager uses"))
	}
	if cfg.Audit != nil && typednil.Is(cfg.Audit) {
		errs = append(errs, errors.New("the Audit field holds a nil pointer: set Config.Audit to the *audit.Log or leave it nil"))
	}
	if cfg.Events != nil && typednil.Is(cfg.Events) {
		errs = append(errs, errors.New("the Events field holds a nil pointer: set Config.Events to the *events.Bus or leave it nil"))
	}
	if cfg.Users != nil && typednil.Is(cfg.Users) {
		errs = append(errs, errors.New("the Users field holds a nil pointer: set Config.Users to the *sqlsink.Sink or leave it nil"))
	}
	if cfg.QoE != nil && typednil.Is(cfg.QoE) {
		errs = append(errs, errors.New("the QoE service is a typed nil"))
	}
	if cfg.Voice != nil && typednil.Is(cfg.Voice) {
		errs = append(errs, errors.New("the Voice service is a typed nil"))
	}
	var u *url.URL
	if d.access != nil {
		var err error
		if u, err = checkPublicURLs(d.access.PublicURLs()); err != nil {
			errs = append(errs, err)
		} else if d.invitations != nil {
			if got, want := strings.TrimSuffix(d.invitations.PublicBaseURL(), "/"), u.String(); got != want {
				errs = append(errs, fmt.Errorf("the invite Service's PublicBaseURL %q differs from the Manager's ProviderConfig.PublicBaseURL %q: invitation links would miss the wizard; give invite.Options the Manager's PublicURLs().BaseURL", got, want))
			}
		}
	}
	for _, o := range cfg.SignInOrigins {
		if _, err := origin(o); err != nil {
			errs = append(errs, fmt.Errorf("SignInOrigins: %q is not an origin (scheme://host[:port])", o))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("httpapi: invalid config: %w", errors.Join(errs...))
	}
	c := &checked{Config: cfg, Access: d.access, Invitations: d.invitations, Fleet: d.fleet, publicURL: u, secure: u.Scheme == "https"}
	c.cookiePath = c.publicURL.Path
	if c.cookiePath == "" {
		c.cookiePath = "/"
	}
	if c.ProviderName == "" {
		c.ProviderName = "Your service provider"
	}
	if c.Permissions == nil {
		c.Permissions = invite.DefaultPermissions
	}
	if c.Actor == nil {
		name := c.ProviderName
		c.Actor = func(*http.Request) string { return name }
	}
	if c.CustomerName == nil {
		c.CustomerName = func(_ context.Context, customer string) string { return customer }
	}
	if c.ClientIP == nil {
		c.ClientIP = (*clientip.Resolver)(nil).Key
	}
	if c.CrossOrigin == nil {
		c.CrossOrigin = http.NewCrossOriginProtection()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(c.SignInOrigins) == 0 {
		for _, ep := range m365access.DefaultClouds {
			c.SignInOrigins = append(c.SignInOrigins, ep.AuthorityHost)
		}
	}
	return c, nil
}

// checkPublicURLs checks the Manager's public URLs: an absolute http(s)
// base URL, and redirect URIs where the wizard serves the callbacks. It
// returns the base URL without a trailing slash.
func checkPublicURLs(p m365access.PublicURLs) (*url.URL, error) {
	if p.BaseURL == "" {
		return nil, errors.New("the Manager has no public base URL: set m365access.ProviderConfig.PublicBaseURL to where the wizard pages are served")
	}
	u, err := url.Parse(p.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("the public base URL %q must be an absolute http(s) URL without query, fragment or user info", p.BaseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	var errs []error
	for _, r := range [...]struct{ field, got, path string }{
		{"RedirectURI", p.RedirectURI, m365access.CallbackPath},
		{"ConsentRedirectURI", p.ConsentRedirectURI, m365access.ConsentCallbackPath},
	} {
		if want := u.String() + r.path; r.got != want {
			errs = append(errs, fmt.Errorf("the Manager's %s %q is not where the wizard serves it, %q (PublicBaseURL + %q): leave ProviderConfig.%s empty or set it to that", r.field, r.got, want, r.path, r.field))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return u, nil
}

// publicLink returns the public URL of a wizard path such as "/invite/x".
func (c *checked) publicLink(path string) string {
	u := *c.publicURL
	u.Path = c.publicURL.Path + path
	return u.String()
}

// origin returns the scheme://host of an absolute http(s) URL.
func origin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("not an absolute http(s) URL")
	}
	return u.Scheme + "://" + u.Host, nil
}
