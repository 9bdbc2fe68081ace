package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/riverqueue/river"
)

// DeliverKind is the River job kind of a webhook delivery.
const DeliverKind = "tenantgate.webhook.deliver"

// DeliverArgs is a webhook delivery job: one event to one endpoint. It
// holds the body, never the URL or signing secret: those come from the
// Bus's Options when the job runs.
type DeliverArgs struct {
	EventID  string `json:"eventId" river:"unique"`
	Endpoint string `json:"endpoint" river:"unique"`
	Customer string `json:"customer"`
	Type     Type   `json:"type"`
	// Body is the payload exactly as sent and signed.
	Body string `json:"body"`
	// Replay numbers a replay of a failed delivery (Bus.Replay); 0 for
	// the first send. It makes each replay a job of its own.
	Replay int `json:"replay,omitempty" river:"unique"`
}

// Kind returns DeliverKind.
func (DeliverArgs) Kind() string { return DeliverKind }

// AddWorkers adds the webhook delivery worker to workers, the Workers of
// the River client that Inserter is.
func (b *Bus) AddWorkers(workers *river.Workers) error {
	if workers == nil {
		return fmt.Errorf("events: AddWorkers needs a *river.Workers")
	}
	return river.AddWorkerSafely[DeliverArgs](workers, &deliverWorker{b: b})
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	b *Bus
}

// NextRetry follows the Bus's Backoff.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(w.b.backoff(job.Attempt))
}

// Timeout bounds an attempt a little beyond the HTTP client's.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 30 * time.Second }

// Work sends one attempt.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	b, a := w.b, job.Args
	ep, ok := b.endpoints[a.Endpoint]
	if !ok {
		_ = b.st.setDelivery(ctx, a.EventID, a.Endpoint, DeliveryFailed, job.Attempt, 0, "the endpoint is no longer configured")
		b.metrics.delivered(ctx, a.Type, "gone")
		return river.JobCancel(fmt.Errorf("webhook endpoint %q is not configured", a.Endpoint))
	}
	status, err := b.send(ctx, ep, a)
	if err == nil {
		if lerr := b.st.setDelivery(ctx, a.EventID, a.Endpoint, DeliveryDelivered, job.Attempt, status, ""); lerr != nil {
			b.log.WarnContext(ctx, "events: delivery log", "err", lerr.Error())
		}
		b.metrics.delivered(ctx, a.Type, "delivered")
		return nil
	}
	msg := Scrub(err.Error())
	final := job.Attempt >= job.MaxAttempts || status == http.StatusGone
	state := DeliveryRetrying
	if final {
		state = DeliveryFailed
	}
	if lerr := b.st.setDelivery(ctx, a.EventID, a.Endpoint, state, job.Attempt, status, msg); lerr != nil {
		b.log.WarnContext(ctx, "events: delivery log", "err", lerr.Error())
	}
	b.metrics.delivered(ctx, a.Type, string(state))
	b.log.WarnContext(ctx, "events: webhook delivery failed", "customer", a.Customer, "event", a.EventID,
		"endpoint", a.Endpoint, "attempt", job.Attempt, "status", status, "err", msg, "final", final)
	if status == http.StatusGone {
		return river.JobCancel(err) // the receiver asks us to stop
	}
	return err
}

// send POSTs one signed attempt, returning the response status.
func (b *Bus) send(ctx context.Context, ep endpoint, a DeliverArgs) (int, error) {
	body := []byte(a.Body)
	now := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tenantgate-webhooks/1")
	req.Header.Set("webhook-id", a.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", Sign(ep.keys, a.EventID, now, body))
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST failed: %w", unwrapURLError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("the endpoint answered HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// unwrapURLError drops the *url.Error wrapper, which names the URL.
func unwrapURLError(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err
	}
	return err
}
