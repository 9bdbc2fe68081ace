// Package telemetry holds tenantgate's OpenTelemetry instruments and
// span helpers. Instruments live on the global MeterProvider and
// TracerProvider, which delegate to whatever providers the host installs
// (even after the instruments were created); without one they are no-ops.
// Metric names start with "tenantgate."; the Prometheus exporter turns
// them into tenantgate_... series. No attribute ever holds a secret:
// attributes are customer IDs, modes, states, HTTP statuses and error
// codes.
package telemetry

import (
	"context"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope name.
const Scope = "github.com/tenantgate/tenantgate"

type customerKey struct{}

// WithCustomer returns ctx naming the customer an operation is for, so
// the Graph metrics below it can be attributed.
func WithCustomer(ctx context.Context, customer string) context.Context {
	return context.WithValue(ctx, customerKey{}, customer)
}

// Customer returns the customer WithCustomer put in ctx, or "".
func Customer(ctx context.Context) string {
	c, _ := ctx.Value(customerKey{}).(string)
	return c
}

// Instruments are the library's metrics.
type Instruments struct {
	TokenAcquisitions metric.Int64Counter
	TokenFailures     metric.Int64Counter
	TokenRefreshes    metric.Int64Counter
	GraphRequests     metric.Int64Counter
	GraphThrottled    metric.Int64Counter
	GraphDuration     metric.Float64Histogram
	SyncDuration      metric.Float64Histogram
	SyncUsers         metric.Int64Counter
	Syncs             metric.Int64Counter
}

var instruments = sync.OnceValue(func() *Instruments {
	m := otel.Meter(Scope)
	in := &Instruments{}
	in.TokenAcquisitions, _ = m.Int64Counter("tenantgate.token.acquisitions",
		metric.WithDescription("Access tokens acquired from MSAL (its cache or Entra ID), by auth mode and source"))
	in.TokenFailures, _ = m.Int64Counter("tenantgate.token.failures",
		metric.WithDescription("Failed token acquisitions, by error code (AADSTS code, Graph code or reason) and the action a person must take"))
	in.TokenRefreshes, _ = m.Int64Counter("tenantgate.token.refreshes",
		metric.WithDescription("Refresh tokens redeemed at Entra ID (token mode)"))
	in.GraphRequests, _ = m.Int64Counter("tenantgate.graph.requests",
		metric.WithDescription("HTTP requests sent to Microsoft Graph, each retry counted, by status and customer"))
	in.GraphThrottled, _ = m.Int64Counter("tenantgate.graph.throttled",
		metric.WithDescription("Graph responses 429 or 503 (throttled), by customer"))
	in.GraphDuration, _ = m.Float64Histogram("tenantgate.graph.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of one Graph HTTP request"),
		metric.WithExplicitBucketBoundaries(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	in.SyncDuration, _ = m.Float64Histogram("tenantgate.sync.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of a customer's user sync, by outcome"),
		metric.WithExplicitBucketBoundaries(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800))
	in.SyncUsers, _ = m.Int64Counter("tenantgate.sync.users",
		metric.WithDescription("Users a sync wrote (matched the filter), by customer"))
	in.Syncs, _ = m.Int64Counter("tenantgate.syncs",
		metric.WithDescription("User syncs finished, by outcome"))
	return in
})

// Metrics returns the instruments.
func Metrics() *Instruments { return instruments() }

// Tracer returns the library's tracer.
func Tracer() trace.Tracer { return otel.Tracer(Scope) }

// Start starts a span for an operation on customer.
func Start(ctx context.Context, name, customer string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if customer != "" {
		attrs = append(attrs, attribute.String("tenantgate.customer", customer))
		ctx = WithCustomer(ctx, customer)
	}
	return Tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span, recording err (its type and a fixed description, never
// its text: error messages may quote a response).
func End(span trace.Span, err error, code string) {
	if err != nil {
		if code == "" {
			code = "error"
		}
		span.SetAttributes(attribute.String("tenantgate.error.code", code))
		span.SetStatus(codes.Error, code)
	}
	span.End()
}

// Seconds returns the seconds since start.
func Seconds(start time.Time) float64 { return time.Since(start).Seconds() }

// Status returns an HTTP status as an attribute value.
func Status(code int) string { return strconv.Itoa(code) }
