package graphtest

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/tenantgate/tenantgate/m365test"
)

// Options configure [NewClient]. The zero value targets the fake's TLS
// listener by its loopback address.
type Options struct {
	// RealHost makes the client use the real base URL
	// https://graph.microsoft.com/v1.0: the server's transport dials that
	// host to the fake. Without it the base URL is srv.GraphURL().
	RealHost bool
	// Scopes are the token scopes; nil means
	// "https://graph.microsoft.com/.default".
	Scopes []string
}

// NewClient returns a Graph client for srv that authenticates with cred.
// The fake's host is added to the authentication provider's allowed
// hosts (Kiota sends no Authorization header to other hosts), and the
// server's transport is the parent of the default Graph middleware.
func NewClient(srv *m365test.Server, cred azcore.TokenCredential, opts *Options) (*msgraph.GraphServiceClient, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if cred == nil {
		return nil, errors.New("graphtest: nil credential")
	}
	scopes := o.Scopes
	if scopes == nil {
		scopes = []string{"https://" + m365test.GraphHost + "/.default"}
	}
	base := srv.GraphURL()
	if o.RealHost {
		base = "https://" + m365test.GraphHost + "/v1.0"
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, scopes, []string{u.Hostname()})
	if err != nil {
		return nil, err
	}
	clientOpts := msgraph.GetDefaultClientOptions()
	mw := msgraphcore.GetDefaultMiddlewaresWithOptions(&clientOpts)
	hc := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(srv.Transport(), mw...),
		Timeout:   100 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the redirect middleware follows redirects
		},
	}
	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		return nil, err
	}
	adapter.SetBaseUrl(base)
	return msgraph.NewGraphServiceClient(adapter), nil
}

// CredentialFunc adapts a function to azcore.TokenCredential.
type CredentialFunc = m365test.CredentialFunc

// AppCredential returns a credential that gets app-only tokens for
// tenantID from the MSAL confidential client cc; see m365test.AppCredential.
func AppCredential(cc confidential.Client, tenantID string) azcore.TokenCredential {
	return m365test.AppCredential(cc, tenantID)
}
