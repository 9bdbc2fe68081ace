package m365test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ProviderOptions describes the host service (the provider's portal)
// that [Server.AddProvider] points at the fake.
type ProviderOptions struct {
	// PublicBaseURL is where the host serves the customer-facing wizard
	// pages: the m365access ProviderConfig.PublicBaseURL. Required. The
	// app's redirect URIs are registered exactly as PublicBaseURL +
	// "/auth/callback" and PublicBaseURL + "/consent/callback", the URIs
	// m365access derives from it.
	PublicBaseURL string
	// ClientID of the provider app; empty generates one.
	ClientID string
	// DisplayName of the provider app on the consent pages; default
	// "Provider app".
	DisplayName string
	// DelegatedPermissions the app requires; default "User.Read" and
	// "User.Read.All" (m365access.DefaultScopes).
	DelegatedPermissions []string
	// ApplicationPermissions the app requires; default "User.Read.All".
	ApplicationPermissions []string
}

// Provider is everything a host sets to run tenantgate against the fake
// instead of Microsoft. The Microsoft URLs stay the real ones
// (login.microsoftonline.com, graph.microsoft.com): only the HTTP client
// and transport change.
type Provider struct {
	// HTTPClient sends Entra ID and Graph traffic to the fake:
	// m365access.Config.HTTPClient.
	HTTPClient *http.Client
	// GraphTransport is the transport under Graph's middleware pipeline:
	// usersync.GraphOptions.Transport, graphmail.Config.Transport.
	GraphTransport http.RoundTripper
	// SignInOrigins are the origins the wizard's "Sign in with Microsoft"
	// form redirects to (the fake's browser listener):
	// httpapi.Config.SignInOrigins.
	SignInOrigins []string
	// ClientID and ClientSecret are the registered provider app's
	// credentials: m365access.ProviderConfig.ClientID and ClientSecret.
	ClientID, ClientSecret string
	// PublicBaseURL is ProviderOptions.PublicBaseURL without a trailing
	// slash; RedirectURIs are the exact redirect URIs registered on the
	// app (sign-in callback, then admin consent callback).
	PublicBaseURL string
	RedirectURIs  []string
	// App is the app registration, for further changes (AddSecret,
	// ExpireSecrets, ...).
	App *App
}

// AddProvider registers the provider's multi-tenant app (a fresh client
// secret, PKCE required, the redirect URIs derived from
// opts.PublicBaseURL) and returns what the host needs to use the fake: the
// HTTP client, the Graph transport, the sign-in origins and the app's
// credentials.
func (s *Server) AddProvider(opts ProviderOptions) (*Provider, error) {
	base := strings.TrimSuffix(opts.PublicBaseURL, "/")
	u, err := url.Parse(base)
	if base == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("m365test: AddProvider: PublicBaseURL %q is not an absolute http(s) URL without query or fragment", opts.PublicBaseURL)
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, errors.New("m365test: AddProvider: no randomness for the client secret")
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	ao := AppOptions{
		ClientID:               opts.ClientID,
		DisplayName:            opts.DisplayName,
		Secrets:                []Secret{{Value: secret}},
		RedirectURIs:           []string{base + "/auth/callback", base + "/consent/callback"},
		RequirePKCE:            true,
		DelegatedPermissions:   opts.DelegatedPermissions,
		ApplicationPermissions: opts.ApplicationPermissions,
	}
	if ao.DisplayName == "" {
		ao.DisplayName = "Provider app"
	}
	if ao.DelegatedPermissions == nil {
		ao.DelegatedPermissions = []string{"User.Read", "User.Read.All"}
	}
	if ao.ApplicationPermissions == nil {
		ao.ApplicationPermissions = []string{"User.Read.All"}
	}
	app, err := s.AddApp(ao)
	if err != nil {
		return nil, err
	}
	return &Provider{
		HTTPClient:     s.Client(),
		GraphTransport: s.Transport(),
		SignInOrigins:  []string{s.BrowserURL()},
		ClientID:       app.ClientID,
		ClientSecret:   secret,
		PublicBaseURL:  base,
		RedirectURIs:   ao.RedirectURIs,
		App:            app,
	}, nil
}
