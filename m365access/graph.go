package m365access

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	kiotaazure "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// GraphClient returns a msgraph-sdk-go client for customer's Graph, using
// Credential(customer), the Manager's HTTP client as the transport under
// Graph's default middleware (retry, redirect, compression), and the
// customer's cloud endpoint as the only host that receives the token.
func (m *Manager) GraphClient(ctx context.Context, customer string) (*msgraphsdk.GraphServiceClient, error) {
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return nil, err
	}
	ep, err := m.clouds.Lookup(s.Cloud)
	if err != nil {
		return nil, err
	}
	return m.graphClient(m.Credential(customer), ep)
}

func (m *Manager) graphClient(cred azcore.TokenCredential, ep CloudEndpoints) (*msgraphsdk.GraphServiceClient, error) {
	auth, err := kiotaazure.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{ep.GraphScope()}, []string{ep.GraphHost()})
	if err != nil {
		return nil, fmt.Errorf("m365access: Graph authentication: %w", err)
	}
	parent := m.http.Transport
	if parent == nil {
		parent = http.DefaultTransport
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	hc := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts)...),
		Timeout:   m.http.Timeout,
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		return nil, fmt.Errorf("m365access: Graph adapter: %w", err)
	}
	adapter.SetBaseUrl(ep.GraphEndpoint + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter), nil
}

// FromGraph turns an error from msgraph-sdk-go into an *Error for op and
// customer, by the Graph error code (never the message).
func FromGraph(op, customer string, err error) error {
	if err == nil {
		return nil
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		e := &Error{Op: op, Customer: customer, HTTPStatus: oe.ResponseStatusCode}
		if me := oe.GetErrorEscaped(); me != nil {
			if c := me.GetCode(); c != nil {
				e.GraphCode = *c
			}
			if msg := me.GetMessage(); msg != nil {
				e.Description = clip(*msg)
			}
		}
		if oe.ResponseHeaders != nil {
			if v := oe.ResponseHeaders.Get("Retry-After"); len(v) > 0 {
				e.RetryAfter = retryAfter(http.Header{"Retry-After": v})
			}
		}
		e.classify()
		return e
	}
	var ee *Error
	if errors.As(err, &ee) {
		return err
	}
	var fe *FlowError
	if errors.As(err, &fe) {
		return err
	}
	e := &Error{Op: op, Customer: customer, Err: sanitized{err}}
	e.classify()
	return e
}

// staticCredential serves one already acquired token.
type staticCredential struct{ tok azcore.AccessToken }

func (c staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return c.tok, nil
}
