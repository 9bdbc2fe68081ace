package events

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// instrumentation is the OpenTelemetry scope of the package's metrics.
const instrumentation = "github.com/tenantgate/tenantgate/events"

type metrics struct {
	events     metric.Int64Counter
	deliveries metric.Int64Counter
}

// newMetrics creates the instruments on the global MeterProvider, which
// delegates to whatever provider the host installs, even later.
func newMetrics() *metrics {
	m := otel.Meter(instrumentation)
	ev, _ := m.Int64Counter("tenantgate.events", metric.WithDescription("Events emitted, by type"))
	dl, _ := m.Int64Counter("tenantgate.webhook.deliveries", metric.WithDescription("Webhook delivery attempts, by event type and outcome"))
	return &metrics{events: ev, deliveries: dl}
}

func (m *metrics) emitted(ctx context.Context, t Type) {
	m.events.Add(ctx, 1, metric.WithAttributes(attribute.String("type", string(t))))
}

func (m *metrics) delivered(ctx context.Context, t Type, outcome string) {
	m.deliveries.Add(ctx, 1, metric.WithAttributes(attribute.String("type", string(t)), attribute.String("outcome", outcome)))
}
