// Package graphhttp is the HTTP plumbing tenantgate uses to speak to
// Microsoft Graph without msgraph-sdk-go's generated models: the Graph
// client's middleware pipeline (msgraph-sdk-go-core and kiota-http-go:
// retry honouring Retry-After, redirects, telemetry headers) over a
// transport the caller chooses, and bearer authorization that sends a
// token only to allowed hosts.
package graphhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantgate/tenantgate/internal/telemetry"
)

// Options configures NewClient. The zero value is msgraph-sdk-go's default
// pipeline over http.DefaultTransport.
type Options struct {
	// Transport is the parent transport under the middleware; nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
	// MaxRetries is how often a 429, 503 or 504 is retried; zero means 3,
	// at most 10.
	MaxRetries int
	// NoRetry turns the retry handler off: 429, 503 and 504 come back to
	// the caller, for callers that reschedule durable work instead of
	// sleeping in a request (MaxRetries is then ignored).
	NoRetry bool
	// RetryDelay is the first backoff delay without Retry-After, rounded
	// to whole seconds; zero means 3 s.
	RetryDelay time.Duration
	// Timeout bounds each attempt of a request, reading its answer
	// included; zero means 100 s. The waits between attempts (Retry-After,
	// backoff) are bounded by the request's context instead: a wait that
	// would end past its deadline is not started, and the throttled
	// answer comes back. Connection resets of GET requests are retried
	// (0.5 s, 1 s, 2 s).
	Timeout time.Duration
}

// MaxErrorBody bounds how much of an error response is read.
const MaxErrorBody = 64 << 10

// NewClient returns an *http.Client whose transport is Graph's middleware
// pipeline over opts.Transport.
func NewClient(opts Options) (*http.Client, error) {
	delay := int(opts.RetryDelay.Round(time.Second) / time.Second)
	retry := &khttp.RetryHandlerOptions{
		MaxRetries:   opts.MaxRetries,
		DelaySeconds: delay,
		ShouldRetry: func(_ time.Duration, n int, req *http.Request, resp *http.Response) bool {
			if delay == 0 {
				delay = 3
			}
			return !opts.NoRetry && retryFits(req, resp, time.Duration(delay)*time.Second<<n)
		},
	}
	kiota, err := khttp.GetDefaultMiddlewaresWithOptions(retry)
	if err != nil {
		return nil, fmt.Errorf("graph middleware: %w", err)
	}
	mw := []khttp.Middleware{
		traced{},
		refusals{},
		reauth{},
		msgraphgocore.NewGraphTelemetryHandler(&msgraphgocore.GraphClientOptions{}),
		khttp.NewUrlReplaceHandler(true, msgraphgocore.ReplacementPairs),
	}
	mw = append(mw, kiota...)
	// Last, next to the transport: the retry handler drops the bodies of
	// the responses it retries without closing them, which would leak a
	// connection each; buffer those small error bodies and close.
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 100 * time.Second
	}
	mw = append(mw, retriableBodyCloser{}, resetRetry{}, metered{}, attemptTimeout{timeout})
	parent := opts.Transport
	if parent == nil {
		parent = http.DefaultTransport
	}
	return &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, mw...),
		// The redirect middleware follows redirects; the client must not.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// No Client.Timeout: attemptTimeout bounds each attempt, and the
		// waits between attempts end with the request's context.
	}, nil
}

// traced starts a client span "graph <METHOD>" for each request, a child
// of the span in the request's context (the customer operation), and
// puts kiota's ObservabilityOptions in the context so kiota's handlers
// (retry, redirect, ...) emit their spans as its children. Spans go to the
// global TracerProvider, where kiota sends its own. Attributes are the
// method, host, status, retry count and customer ID: never the URL (it
// holds user IDs and filters) nor a header.
type traced struct{}

func (traced) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if khttp.GetObservabilityOptionsFromRequest(req) == nil {
		obs := &khttp.ObservabilityOptions{}
		ctx = context.WithValue(ctx, obs.GetKey(), obs)
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", req.Method),
		attribute.String("server.address", req.URL.Hostname()),
	}
	if c := telemetry.Customer(ctx); c != "" {
		attrs = append(attrs, attribute.String("tenantgate.customer", c))
	}
	ctx, span := telemetry.Tracer().Start(ctx, "graph "+req.Method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	resp, err := p.Next(req.WithContext(ctx), i)
	switch {
	case err != nil:
		span.SetStatus(codes.Error, "transport error")
	case resp != nil:
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 400 {
			span.SetStatus(codes.Error, telemetry.Status(resp.StatusCode))
		}
	}
	return resp, err
}

// metered counts every request that reaches the transport (each retry
// too) by status and by the customer telemetry.WithCustomer names, and
// counts throttled answers.
type metered struct{}

func (metered) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := p.Next(req, i)
	ctx := req.Context()
	status := "error"
	if err == nil && resp != nil {
		status = telemetry.Status(resp.StatusCode)
	}
	m := telemetry.Metrics()
	customer := attribute.String("customer", telemetry.Customer(ctx))
	m.GraphRequests.Add(ctx, 1, metric.WithAttributes(attribute.String("status", status), customer))
	m.GraphDuration.Record(ctx, telemetry.Seconds(start), metric.WithAttributes(attribute.String("status", status)))
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		m.GraphThrottled.Add(ctx, 1, metric.WithAttributes(customer))
	}
	return resp, err
}

// retriableBodyCloser reads and closes the body of 429, 503 and 504
// responses, replacing it with the bytes read (at most MaxErrorBody).
type retriableBodyCloser struct{}

func (retriableBodyCloser) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(data)))
	}
	return resp, nil
}

// ErrHostNotAllowed is returned by Authorize for a request to a host
// outside the allowed list: the token is never sent there.
var ErrHostNotAllowed = errors.New("host is not an allowed Graph host")

// Authorize sets req's Authorization header to a bearer token from cred
// for scopes, when req's host is one of hosts (case-insensitive, without
// port) and its scheme is https. It records cred on req so that a client
// from NewClient answers a 401 with one fresh token (see TokenEvicter).
func Authorize(ctx context.Context, req *http.Request, cred azcore.TokenCredential, scopes, hosts []string) error {
	if req.URL.Scheme != "https" || !slices.ContainsFunc(hosts, func(h string) bool { return strings.EqualFold(h, req.URL.Hostname()) }) {
		return fmt.Errorf("%w: %q (allowed: %q)", ErrHostNotAllowed, req.URL.Host, hosts)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: scopes})
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	withAuth(req, cred, scopes, tok.Token)
	return nil
}

// StaticCredential serves one already acquired token.
type StaticCredential azcore.AccessToken

// GetToken returns the token.
func (c StaticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken(c), nil
}
