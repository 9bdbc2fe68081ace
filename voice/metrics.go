package voice

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tenantgate/tenantgate/internal/telemetry"
)

// instruments are the package's metrics, on the global MeterProvider.
var instruments = sync.OnceValue(func() struct {
	operations metric.Int64Counter
	latency    metric.Float64Histogram
} {
	m := otel.Meter(telemetry.Scope)
	var in struct {
		operations metric.Int64Counter
		latency    metric.Float64Histogram
	}
	in.operations, _ = m.Int64Counter("tenantgate.voice.operations",
		metric.WithDescription("Voice operations finished, by kind (set, release) and outcome (succeeded, failed, partial)"))
	in.latency, _ = m.Float64Histogram("tenantgate.voice.graph.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from submitting a telephone number action to Microsoft until its operation ended, by action and outcome"),
		metric.WithExplicitBucketBoundaries(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600))
	return in
})

func countOperation(ctx context.Context, op *Operation) {
	instruments().operations.Add(ctx, 1, metric.WithAttributes(
		attribute.String("kind", string(op.Kind)), attribute.String("outcome", string(op.State))))
}

func (s *Service) recordOperation(ctx context.Context, action, outcome string, start time.Time) {
	instruments().latency.Record(ctx, s.now().Sub(start).Seconds(), metric.WithAttributes(
		attribute.String("action", action), attribute.String("outcome", outcome)))
}
