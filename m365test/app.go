package m365test

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Secret is a client secret of an app registration.
type Secret struct {
	// Value is the secret text the client sends.
	Value string
	// Expires is when the secret stops working; zero never expires.
	Expires time.Time
}

// AppOptions describes an app registration. The fake stores only hashes
// of secret values.
type AppOptions struct {
	// ClientID is the application (client) ID. Empty generates one.
	ClientID string
	// DisplayName is the app's name on the consent pages.
	DisplayName string
	// HomeTenant is the GUID or domain of the tenant the app is registered
	// in; its service principal exists there without consent. Optional.
	HomeTenant string
	// SingleTenant restricts sign-in and tokens to HomeTenant.
	SingleTenant bool
	// Secrets are the client secrets.
	Secrets []Secret
	// Certificates are the certificates whose keys may sign client
	// assertions.
	Certificates []*x509.Certificate
	// RedirectURIs are the exact redirect URIs authorize accepts.
	RedirectURIs []string
	// RequirePKCE refuses authorization requests without an S256
	// code_challenge.
	RequirePKCE bool
	// PublicClient allows public client flows (no client credentials),
	// such as ROPC and native apps' authorization code redemption.
	PublicClient bool
	// DelegatedPermissions are the Microsoft Graph scopes the app requires
	// (e.g. "User.Read", "User.Read.All"). Admin consent grants them all.
	DelegatedPermissions []string
	// ApplicationPermissions are the Graph app roles the app requires (e.g.
	// "User.Read.All", "CallRecords.Read.All"). Admin consent grants them.
	ApplicationPermissions []string
	// AppRoles are the app roles the app defines for users (see
	// [Server.AssignAppRole]): an assigned user's id_token for the app
	// carries their values in the roles claim. Values are unique.
	AppRoles []AppRole
}

// App is an app registration added with [Server.AddApp].
type App struct {
	// ClientID is the application (client) ID.
	ClientID string
	// DisplayName is the app's name.
	DisplayName string

	homeTenant   string // GUID
	singleTenant bool
	redirectURIs []string
	requirePKCE  bool
	public       bool
	delegated    []string
	appRoles     []string
	userRoles    []AppRole // AppOptions.AppRoles
	// guarded by Server.mu
	secrets []storedSecret
	certs   []*x509.Certificate
}

type storedSecret struct {
	hash    [32]byte
	expires time.Time
}

// AddApp registers an app. Apps are global, like multi-tenant Entra apps:
// each tenant sees one once it has a service principal (its home tenant, or
// after consent).
func (s *Server) AddApp(opts AppOptions) (*App, error) {
	id := strings.ToLower(opts.ClientID)
	if id == "" {
		id = newID()
	}
	a := &App{
		ClientID:     id,
		DisplayName:  opts.DisplayName,
		singleTenant: opts.SingleTenant,
		redirectURIs: slices.Clone(opts.RedirectURIs),
		requirePKCE:  opts.RequirePKCE,
		public:       opts.PublicClient,
		delegated:    slices.Clone(opts.DelegatedPermissions),
		appRoles:     slices.Clone(opts.ApplicationPermissions),
		certs:        slices.Clone(opts.Certificates),
	}
	if a.DisplayName == "" {
		a.DisplayName = "App " + id[:8]
	}
	if err := checkPermissions("delegated permission", opts.DelegatedPermissions); err != nil {
		return nil, err
	}
	if err := checkPermissions("application permission", opts.ApplicationPermissions); err != nil {
		return nil, err
	}
	for _, r := range opts.AppRoles {
		if !appRoleValueOK(r.Value) {
			return nil, fmt.Errorf("m365test: AddApp: app role value %q is not 1 to 120 printable characters without spaces", r.Value)
		}
		if slices.ContainsFunc(a.userRoles, func(o AppRole) bool { return o.Value == r.Value }) {
			return nil, fmt.Errorf("m365test: AddApp: app role value %q defined twice", r.Value)
		}
		if r.ID == "" {
			r.ID = appRoleID(id, r.Value)
		}
		a.userRoles = append(a.userRoles, r)
	}
	for _, sec := range opts.Secrets {
		if sec.Value == "" {
			return nil, fmt.Errorf("m365test: AddApp: empty secret value")
		}
		a.secrets = append(a.secrets, storedSecret{hash: sha256.Sum256([]byte(sec.Value)), expires: sec.Expires})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if opts.HomeTenant != "" {
		t := s.tenantLocked(opts.HomeTenant)
		if t == nil {
			return nil, fmt.Errorf("m365test: AddApp: unknown home tenant %q", opts.HomeTenant)
		}
		a.homeTenant = t.ID
	} else if opts.SingleTenant {
		return nil, fmt.Errorf("m365test: AddApp: a single-tenant app needs a HomeTenant")
	}
	if _, ok := s.apps[id]; ok {
		return nil, fmt.Errorf("m365test: AddApp: client ID %s already registered", id)
	}
	s.apps[id] = a
	return a, nil
}

// App returns the app registration with the given client ID.
func (s *Server) App(clientID string) (*App, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[strings.ToLower(clientID)]
	return a, ok
}

// AddSecret adds a client secret to the app registration clientID.
func (s *Server) AddSecret(clientID string, sec Secret) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[strings.ToLower(clientID)]
	if !ok {
		return fmt.Errorf("m365test: AddSecret: unknown app %q", clientID)
	}
	a.secrets = append(a.secrets, storedSecret{hash: sha256.Sum256([]byte(sec.Value)), expires: sec.Expires})
	return nil
}

// ExpireSecrets makes every client secret of the app registration clientID
// expire now: client authentication then fails with AADSTS7000222.
func (s *Server) ExpireSecrets(clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[strings.ToLower(clientID)]
	if !ok {
		return fmt.Errorf("m365test: ExpireSecrets: unknown app %q", clientID)
	}
	now := s.nowLocked()
	for i := range a.secrets {
		a.secrets[i].expires = now.Add(-time.Second)
	}
	return nil
}

// AddCertificate registers a certificate whose key may sign the app's
// client assertions.
func (s *Server) AddCertificate(clientID string, cert *x509.Certificate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[strings.ToLower(clientID)]
	if !ok {
		return fmt.Errorf("m365test: AddCertificate: unknown app %q", clientID)
	}
	a.certs = append(a.certs, cert)
	return nil
}

// checkSecretLocked returns nil when value matches an unexpired secret.
func (a *App) checkSecretLocked(value string, now time.Time) *entraError {
	h := sha256.Sum256([]byte(value))
	expired := false
	for _, sec := range a.secrets {
		if subtle.ConstantTimeCompare(h[:], sec.hash[:]) == 1 {
			if sec.expires.IsZero() || now.Before(sec.expires) {
				return nil
			}
			expired = true
		}
	}
	if expired {
		return newEntraError(401, "invalid_client", CodeExpiredSecret,
			"The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", a.ClientID)
	}
	return newEntraError(401, "invalid_client", CodeInvalidSecret,
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.ClientID)
}

// certByThumbprint finds a registered certificate by SHA-1 or SHA-256
// thumbprint (raw bytes).
func (a *App) certByThumbprintLocked(tp []byte) *x509.Certificate {
	for _, c := range a.certs {
		s1 := sha1.Sum(c.Raw)
		s2 := sha256.Sum256(c.Raw)
		if subtle.ConstantTimeCompare(tp, s1[:]) == 1 || subtle.ConstantTimeCompare(tp, s2[:]) == 1 {
			return c
		}
	}
	return nil
}

// redirectAllowed matches uri exactly against the registered redirect
// URIs, except that the port of an http loopback redirect URI registered
// without a port may vary (RFC 8252 section 7.3), as Entra allows for
// native apps.
func (a *App) redirectAllowed(uri string) bool {
	if slices.Contains(a.redirectURIs, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return false
	}
	h := u.Hostname()
	if h != "localhost" && h != "127.0.0.1" {
		return false
	}
	u.Host = h
	return slices.Contains(a.redirectURIs, u.String())
}
