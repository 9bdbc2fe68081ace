package usersync_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tenantgate/tenantgate/usersync"
)

// TestTracesJoinGraphPipeline records the spans of a customer's sync and
// Validate against the fake cloud: each operation span names the
// customer, and the Graph request spans (ours and kiota-http-go's
// handlers') are in its trace with it as an ancestor. No span holds a
// secret, a token, a code or a URL.
func TestTracesJoinGraphPipeline(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) }) // t.Context() is canceled by cleanup time

	c := newCloud(t)
	c.connect(t, "contoso", 120, "")

	sink := &usersync.MemorySink{}
	require.NoError(t, c.syncer(t, sink, 0).SyncCustomer(t.Context(), "contoso").Err, "sync")
	require.Equal(t, 121, sink.Len("contoso"), "sync: stored")
	v, err := c.m.Validate(t.Context(), "contoso")
	require.NoError(t, err, "validate")
	require.True(t, v.OK, "validate: %+v", v)

	spans := rec.Ended()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	hasAncestor := func(s sdktrace.ReadOnlySpan, root trace.SpanID) bool {
		for p := s.Parent(); p.IsValid(); {
			if p.SpanID() == root {
				return true
			}
			ps, ok := byID[p.SpanID()]
			if !ok {
				return false
			}
			p = ps.Parent()
		}
		return false
	}
	attr := func(s sdktrace.ReadOnlySpan, k attribute.Key) string {
		for _, a := range s.Attributes() {
			if a.Key == k {
				return a.Value.String()
			}
		}
		return ""
	}

	for _, tc := range []struct {
		op       string
		children []string // span names that must be descendants
	}{
		{"usersync.SyncCustomer", []string{"graph GET", "RetryHandler_Intercept", "RedirectHandler_Intercept", "request_transport"}},
		{"m365access.Validate", []string{"graph GET", "RetryHandler_Intercept", "request_transport"}},
	} {
		var op sdktrace.ReadOnlySpan
		for _, s := range spans {
			if s.Name() == tc.op {
				op = s
			}
		}
		if !assert.NotNil(t, op, "no %s span among %d", tc.op, len(spans)) {
			continue
		}
		assert.Equal(t, "contoso", attr(op, "tenantgate.customer"), "%s: tenantgate.customer", tc.op)
		found := map[string]int{}
		for _, s := range spans {
			if !hasAncestor(s, op.SpanContext().SpanID()) {
				continue
			}
			assert.Equal(t, op.SpanContext().TraceID(), s.SpanContext().TraceID(), "%s: descendant %s's trace", tc.op, s.Name())
			found[s.Name()]++
			if s.Name() == "graph GET" {
				assert.Equal(t, "contoso", attr(s, "tenantgate.customer"), "%s: graph span's tenantgate.customer", tc.op)
				assert.Equal(t, "200", attr(s, "http.response.status_code"), "%s: graph span's http.response.status_code", tc.op)
				assert.Equal(t, "graph.microsoft.com", attr(s, "server.address"), "%s: graph span's server.address", tc.op)
			}
		}
		for _, name := range tc.children {
			assert.NotZero(t, found[name], "%s: no descendant span %q (descendants: %v)", tc.op, name, found)
		}
		assert.Equal(t, "github.com/tenantgate/tenantgate", op.InstrumentationScope().Name, "%s: scope", tc.op)
	}
	var kiota int
	for _, s := range spans {
		if s.InstrumentationScope().Name == "github.com/microsoft/kiota-http-go" {
			kiota++
		}
	}
	assert.NotZero(t, kiota, "no kiota-http-go span recorded")

	// Nothing secret in names, attribute values, events or statuses: no
	// client secret, token (JWTs start with eyJ), authorization code or
	// URL (a URL's query holds filters and codes).
	forbidden := []string{providerSecret, "eyJ", "Bearer", "refresh_token", "client_secret", "code=", "://", "?", "$filter", "$select"}
	for _, s := range spans {
		texts := []string{s.Name(), s.Status().Description}
		for _, a := range s.Attributes() {
			texts = append(texts, a.Value.String())
		}
		for _, e := range s.Events() {
			texts = append(texts, e.Name)
			for _, a := range e.Attributes {
				texts = append(texts, a.Value.String())
			}
		}
		for _, txt := range texts {
			for _, f := range forbidden {
				assert.NotContains(t, txt, f, "span %s", s.Name())
			}
		}
	}
}
