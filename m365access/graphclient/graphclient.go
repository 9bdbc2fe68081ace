// Package graphclient gives msgraph-sdk-go clients for a customer's tenant,
// authenticated by an m365access.Manager. It is the only tenantgate package
// that compiles msgraph-sdk-go's generated models: import it when host code
// wants the SDK's typed requests; m365access alone gives tokens.
package graphclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	kiotaazure "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tenantgate/tenantgate/m365access"
)

// New returns a msgraph-sdk-go client for customer's Graph, using
// m.Credential(customer), m's HTTP client as the transport under Graph's
// default middleware (retry, redirect, compression), and the customer's
// cloud endpoint as the only host that receives the token.
func New(ctx context.Context, m *m365access.Manager, customer string) (*msgraphsdk.GraphServiceClient, error) {
	ep, err := m.Endpoints(ctx, customer)
	if err != nil {
		return nil, err
	}
	auth, err := kiotaazure.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(m.Credential(customer), []string{ep.GraphScope()}, []string{ep.GraphHost()})
	if err != nil {
		return nil, fmt.Errorf("graphclient: Graph authentication: %w", err)
	}
	hc := m.HTTPClient()
	parent := hc.Transport
	if parent == nil {
		parent = http.DefaultTransport
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	client := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts)...),
		Timeout:   hc.Timeout,
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, client)
	if err != nil {
		return nil, fmt.Errorf("graphclient: Graph adapter: %w", err)
	}
	adapter.SetBaseUrl(ep.GraphEndpoint + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter), nil
}

// FromGraph turns an error from msgraph-sdk-go into an *m365access.Error
// for op and customer, by the Graph error code (never the message), so
// callers branch on its Action as on every other m365access error.
func FromGraph(op, customer string, err error) error {
	if err == nil {
		return nil
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if me := oe.GetErrorEscaped(); me != nil {
			if c := me.GetCode(); c != nil {
				body.Error.Code = *c
			}
			if m := me.GetMessage(); m != nil {
				body.Error.Message = *m
			}
		}
		raw, _ := json.Marshal(body)
		h := http.Header{}
		if oe.ResponseHeaders != nil {
			if v := oe.ResponseHeaders.Get("Retry-After"); len(v) > 0 {
				h["Retry-After"] = v
			}
		}
		return m365access.ParseGraphError(op, customer, oe.ResponseStatusCode, h, raw)
	}
	var ee *m365access.Error
	if errors.As(err, &ee) {
		return err
	}
	var fe *m365access.FlowError
	if errors.As(err, &fe) {
		return err
	}
	return m365access.WrapError(op, customer, err)
}
