package usersync_test

import (
	"strings"
	"testing"

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
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(t.Context()) })

	c := newCloud(t)
	c.connect(t, "contoso", 120, "")

	sink := &usersync.MemorySink{}
	if r := c.syncer(t, sink, 0).SyncCustomer(t.Context(), "contoso"); r.Err != nil || sink.Len("contoso") != 121 {
		t.Fatalf("sync: %v, stored %d", r.Err, sink.Len("contoso"))
	}
	if r, err := c.m.Validate(t.Context(), "contoso"); err != nil || !r.OK {
		t.Fatalf("validate: %v %+v", err, r)
	}

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
		if op == nil {
			t.Errorf("no %s span among %d", tc.op, len(spans))
			continue
		}
		if got := attr(op, "tenantgate.customer"); got != "contoso" {
			t.Errorf("%s: tenantgate.customer = %q", tc.op, got)
		}
		found := map[string]int{}
		for _, s := range spans {
			if !hasAncestor(s, op.SpanContext().SpanID()) {
				continue
			}
			if s.SpanContext().TraceID() != op.SpanContext().TraceID() {
				t.Errorf("%s: descendant %s in trace %s, want %s", tc.op, s.Name(), s.SpanContext().TraceID(), op.SpanContext().TraceID())
			}
			found[s.Name()]++
			if s.Name() == "graph GET" {
				if attr(s, "tenantgate.customer") != "contoso" || attr(s, "http.response.status_code") != "200" ||
					attr(s, "server.address") != "graph.microsoft.com" {
					t.Errorf("%s: graph span attributes %v", tc.op, s.Attributes())
				}
			}
		}
		for _, name := range tc.children {
			if found[name] == 0 {
				t.Errorf("%s: no descendant span %q (descendants: %v)", tc.op, name, found)
			}
		}
		if p := op.InstrumentationScope().Name; p != "github.com/tenantgate/tenantgate" {
			t.Errorf("%s: scope %q", tc.op, p)
		}
	}
	var kiota int
	for _, s := range spans {
		if s.InstrumentationScope().Name == "github.com/microsoft/kiota-http-go" {
			kiota++
		}
	}
	if kiota == 0 {
		t.Error("no kiota-http-go span recorded")
	}

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
				if strings.Contains(txt, f) {
					t.Errorf("span %s holds %q: %q", s.Name(), f, txt)
				}
			}
		}
	}
}
