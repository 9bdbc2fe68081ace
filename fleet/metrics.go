package fleet

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// queueDepthCap bounds the jobs counted per state at each collection.
const queueDepthCap = 10_000

// queueStates are the states of jobs not yet finished.
var queueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled,
	rivertype.JobStateRetryable, rivertype.JobStateRunning}

// observeQueue registers the job queue gauges on the global
// MeterProvider: tenantgate.jobs.queued by state (counted up to
// queueDepthCap) and tenantgate.jobs.oldest_available.age, how long the
// oldest job ready to run has waited. They read River's tables when
// collected (a Prometheus scrape), across all replicas.
func (f *Fleet) observeQueue() (metric.Registration, error) {
	m := otel.Meter("github.com/tenantgate/tenantgate/fleet")
	depth, err := m.Int64ObservableGauge("tenantgate.jobs.queued",
		metric.WithDescription("River jobs not finished, by state (available, scheduled, retryable, running), counted up to 10,000 each"))
	if err != nil {
		return nil, err
	}
	age, err := m.Float64ObservableGauge("tenantgate.jobs.oldest_available.age", metric.WithUnit("s"),
		metric.WithDescription("How long the oldest job ready to run has waited for a worker"))
	if err != nil {
		return nil, err
	}
	return m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		for _, st := range queueStates {
			res, err := f.client.JobList(ctx, river.NewJobListParams().States(st).First(queueDepthCap))
			if err != nil {
				return err
			}
			o.ObserveInt64(depth, int64(len(res.Jobs)), metric.WithAttributes(attribute.String("state", string(st))))
		}
		res, err := f.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateAvailable).
			OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(1))
		if err != nil {
			return err
		}
		waited := 0.0
		if len(res.Jobs) > 0 {
			waited = max(0, time.Since(res.Jobs[0].ScheduledAt).Seconds())
		}
		o.ObserveFloat64(age, waited)
		return nil
	}, depth, age)
}
