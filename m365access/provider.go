package m365access

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ProviderConfig is the provider's own multi-tenant Entra app (the "token
// authentication registration") and how the token connection uses it.
// It is configured once per process.
type ProviderConfig struct {
	// ClientID is the provider app's application (client) ID. Without it
	// only app registration customers work: the token connection, the
	// password mode and admin consent fail with ErrNotConfigured.
	ClientID string
	// ClientSecret is the provider app's client secret. Set it,
	// CertificatePEM or ClientAssertion.
	ClientSecret string
	// ClientSecretExpiresAt is when ClientSecret expires (Entra shows it
	// under Certificates & secrets); zero means unknown. It feeds
	// Manager.ProviderCredentialExpiry.
	ClientSecretExpiresAt time.Time
	// CertificatePEM holds the provider app's certificate (leaf first) and
	// its unencrypted private key, PEM encoded.
	CertificatePEM []byte
	// ClientAssertion returns a token of an issuer the provider app
	// trusts through a federated identity credential (audience
	// api://AzureADTokenExchange), presented as the app's client
	// assertion: nothing long-lived to leak or rotate. It is called for
	// each token request that needs one; ManagedIdentityAssertion and
	// TokenFileAssertion build it for an Azure managed identity and a
	// Kubernetes or CI workload identity token file.
	ClientAssertion func(ctx context.Context) (string, error)
	// PublicBaseURL is where the host serves the customer-facing pages,
	// for example "https://portal.example.com/m365". Redirect URIs default
	// to it.
	PublicBaseURL string
	// RedirectURI receives the token connection's authorization code. The
	// default is PublicBaseURL + "/auth/callback". It must be registered
	// on the app exactly.
	RedirectURI string
	// ConsentRedirectURI receives the admin consent callback. The default
	// is PublicBaseURL + "/consent/callback".
	ConsentRedirectURI string
	// Scopes are the delegated Graph permissions the token connection asks
	// for, for example "User.Read.All"; DefaultScopes when empty.
	// offline_access is always added.
	Scopes []string
	// AppPermissions are the application permissions (app roles) admin
	// consent must grant, for example "User.Read.All".
	AppPermissions []string
	// Cloud is the provider app's cloud; empty means CloudGlobal.
	Cloud Cloud
	// TransactionTTL bounds the time between Begin and Complete (and the
	// consent equivalents); the default is 10 minutes.
	TransactionTTL time.Duration
	// AdminRoles are the directory roles (template IDs, as in the wids
	// claim) of which a token connection signed in by anyone but a saved
	// service account must hold one; DefaultAdminRoles when empty. The
	// provider app must emit wids in its id tokens (groupMembershipClaims
	// "DirectoryRole" or "All" in its manifest).
	AdminRoles []string
}

// RoleGlobalAdministrator is the template ID of Entra's Global
// Administrator role.
const RoleGlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"

// DefaultAdminRoles are the roles of ProviderConfig.AdminRoles when it is
// empty: Global Administrator.
var DefaultAdminRoles = []string{RoleGlobalAdministrator}

// adminRoles returns the configured admin roles or the default.
func (p ProviderConfig) adminRoles() []string {
	if len(p.AdminRoles) > 0 {
		return p.AdminRoles
	}
	return DefaultAdminRoles
}

// roleNames names the well-known roles for people.
var roleNames = map[string]string{
	RoleGlobalAdministrator:                "Global Administrator",
	"e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
	"158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
	"29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
	"69091246-20e8-4a56-aa4d-066075b2a7a8": "Teams Administrator",
	"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
}

// describeRoles lists roles for people: "Global Administrator
// (62e90394-...)".
func describeRoles(roles []string) string {
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		if n, ok := roleNames[strings.ToLower(r)]; ok {
			out = append(out, n+" ("+r+")")
		} else {
			out = append(out, r)
		}
	}
	return strings.Join(out, ", ")
}

// isZero reports whether p names no provider app at all.
func (p ProviderConfig) isZero() bool {
	return p.ClientID == "" && p.ClientSecret == "" && len(p.CertificatePEM) == 0 && p.ClientAssertion == nil && p.PublicBaseURL == "" &&
		p.RedirectURI == "" && p.ConsentRedirectURI == "" && len(p.Scopes) == 0 && len(p.AppPermissions) == 0
}

// DefaultScopes are the delegated scopes used when ProviderConfig.Scopes
// is empty: the signed-in user, every user's Entra ID properties, and
// every user's Teams Phone System configuration (line URI, voice,
// policies) for user sync.
var DefaultScopes = []string{"User.Read", "User.Read.All", "TeamsUserConfiguration.Read.All"}

// DefaultAppPermissions are the application permissions a provider app
// needs for user sync with Teams Phone System data in appRegistration
// mode; set ProviderConfig.AppPermissions to them (or a superset) so
// admin consent and Validate check them.
//
// Consent and Validate read what is granted through Graph, never from
// the (opaque) access token. [ApplicationReadPermission]
// (Application.Read.All) is recommended for exact permission reports, not
// required: with it they read the app's app role assignments; without it
// each required permission is tried with a Graph request that needs it,
// and one without a safe request (Mail.Send) is reported not verifiable.
var DefaultAppPermissions = []string{"User.Read.All", "TeamsUserConfiguration.Read.All"}

// TeamsPermission is the permission that reads Teams Phone System
// configuration (/admin/teams/userConfigurations), delegated and
// application alike.
const TeamsPermission = "TeamsUserConfiguration.Read.All"

// DefaultTransactionTTL is the lifetime of a pending sign-in or consent.
const DefaultTransactionTTL = 10 * time.Minute

// oidcScopes are the scopes MSAL adds itself and Entra never lists as
// granted Graph permissions.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// Validate checks the configuration and returns every problem at once as
// a *ValidationError.
func (p ProviderConfig) Validate(clouds CloudTable) error {
	var fe fieldErrors
	if p.ClientID == "" {
		// No provider app: app registration customers only.
		if p.ClientSecret != "" || len(p.CertificatePEM) != 0 || p.ClientAssertion != nil {
			fe.add("clientId", CodeRequired, "a provider app credential needs its client ID")
		}
	} else {
		if !isGUID(p.ClientID) {
			fe.add("clientId", CodeInvalid, "the client ID must be a GUID")
		}
		switch {
		case p.ClientSecret == "" && len(p.CertificatePEM) == 0 && p.ClientAssertion == nil:
			fe.add("clientSecret", CodeRequired, "a client secret, a certificate or a client assertion (federated credential) is required")
		case p.ClientAssertion != nil && (p.ClientSecret != "" || len(p.CertificatePEM) != 0):
			fe.add("clientAssertion", CodeNotAllowed, "set one credential: a client assertion, a client secret or a certificate")
		case p.ClientSecret != "" && len(p.CertificatePEM) != 0:
			fe.add("certificate", CodeNotAllowed, "set a client secret or a certificate, not both")
		case p.ClientSecret != "" && len(p.ClientSecret) < minSecretLen:
			fe.add("clientSecret", CodeTooShort, "the client secret must have at least %d characters", minSecretLen)
		case len(p.CertificatePEM) != 0:
			if _, _, info, err := parseCertificatePEM(p.CertificatePEM); err != nil {
				fe.add("certificate", CodeUnparseable, "%v", err)
			} else if info.NotAfter.Before(time.Now()) {
				fe.add("certificate", CodeExpired, "the certificate expired on %s", info.NotAfter.UTC().Format(time.RFC3339))
			}
		}
		if p.PublicBaseURL == "" && (p.RedirectURI == "" || p.ConsentRedirectURI == "") {
			fe.add("publicBaseUrl", CodeRequired, "the public base URL (or both redirect URIs) is required")
		}
	}
	if p.PublicBaseURL != "" {
		base, err := url.Parse(p.PublicBaseURL)
		switch {
		case err != nil || !base.IsAbs() || base.Host == "" || base.RawQuery != "" || base.Fragment != "":
			fe.add("publicBaseUrl", CodeInvalid, "the public base URL must be an absolute URL without query or fragment")
		case base.Scheme != "https" && !isLoopback(base.Hostname()):
			fe.add("publicBaseUrl", CodeInvalid, "the public base URL must use https (http only on loopback)")
		}
	}
	for _, f := range [...]struct{ field, u string }{{"redirectUri", p.RedirectURI}, {"consentRedirectUri", p.ConsentRedirectURI}} {
		field, u := f.field, f.u
		if u == "" {
			continue
		}
		r, err := url.Parse(u)
		if err != nil || !r.IsAbs() || r.Host == "" || r.Fragment != "" || (r.Scheme != "https" && !isLoopback(r.Hostname())) {
			fe.add(field, CodeInvalid, "the redirect URI must be an absolute https URL without fragment")
		}
	}
	for _, s := range p.Scopes {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\n") {
			fe.add("scopes", CodeInvalid, "scopes must be single non-empty words")
			break
		}
	}
	for _, s := range p.AppPermissions {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\n/") {
			fe.add("appPermissions", CodeInvalid, "application permissions are role names such as User.Read.All")
			break
		}
	}
	if _, err := clouds.Lookup(p.Cloud); err != nil {
		fe.add("cloud", CodeUnknown, "unknown cloud %q", p.Cloud)
	}
	for _, r := range p.AdminRoles {
		if !isGUID(r) {
			fe.add("adminRoles", CodeInvalid, "admin roles are directory role template IDs (GUIDs)")
			break
		}
	}
	if p.TransactionTTL < 0 {
		fe.add("transactionTtl", CodeInvalid, "the transaction lifetime must not be negative")
	}
	return fe.err()
}

// PublicURLs are the provider's customer-facing URLs: the public base URL
// and the two redirect URIs, which default to paths under it. They are
// what the invitation links (invite), the wizard pages (httpapi) and the
// provider app's registered redirect URIs must agree on.
type PublicURLs struct {
	// BaseURL is ProviderConfig.PublicBaseURL without a trailing slash;
	// "" when it is not set.
	BaseURL string
	// RedirectURI receives the token connection's authorization code:
	// BaseURL + "/auth/callback" unless ProviderConfig.RedirectURI is set.
	RedirectURI string
	// ConsentRedirectURI receives the admin consent callback:
	// BaseURL + "/consent/callback" unless
	// ProviderConfig.ConsentRedirectURI is set.
	ConsentRedirectURI string
}

// Paths of the wizard's callbacks under the public base URL.
const (
	CallbackPath        = "/auth/callback"
	ConsentCallbackPath = "/consent/callback"
)

// PublicURLs returns the URLs derived from p.
func (p ProviderConfig) PublicURLs() PublicURLs {
	u := PublicURLs{BaseURL: strings.TrimSuffix(p.PublicBaseURL, "/"), RedirectURI: p.RedirectURI, ConsentRedirectURI: p.ConsentRedirectURI}
	if u.RedirectURI == "" && u.BaseURL != "" {
		u.RedirectURI = u.BaseURL + CallbackPath
	}
	if u.ConsentRedirectURI == "" && u.BaseURL != "" {
		u.ConsentRedirectURI = u.BaseURL + ConsentCallbackPath
	}
	return u
}

// redirectURI returns the token connection's redirect URI.
func (p ProviderConfig) redirectURI() string {
	return p.PublicURLs().RedirectURI
}

// consentRedirectURI returns the admin consent redirect URI.
func (p ProviderConfig) consentRedirectURI() string {
	return p.PublicURLs().ConsentRedirectURI
}

func (p ProviderConfig) ttl() time.Duration {
	if p.TransactionTTL > 0 {
		return p.TransactionTTL
	}
	return DefaultTransactionTTL
}

// delegatedScopes returns the scopes to request: the configured Graph
// permissions, without the OIDC scopes MSAL adds itself (it always adds
// offline_access). Entra reads unqualified names as Graph permissions of
// the authority's cloud.
func (p ProviderConfig) delegatedScopes() []string {
	src := p.Scopes
	if len(src) == 0 {
		src = DefaultScopes
	}
	out := make([]string, 0, len(src))
	for _, s := range src {
		if oidcScopes[strings.ToLower(s)] {
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// shortScope strips a resource prefix: "https://graph.microsoft.com/X" -> "X".
func shortScope(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.Contains(s, "://") {
		return s[i+1:]
	}
	return s
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
