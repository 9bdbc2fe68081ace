package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Errors of Replay.
var (
	// ErrNoDelivery: the customer has no delivery of that event to that
	// endpoint.
	ErrNoDelivery = errors.New("events: no such webhook delivery")
	// ErrNotFailed: only a failed delivery is replayed (a queued or
	// retrying one is still being tried; a delivered one arrived).
	ErrNotFailed = errors.New("events: the webhook delivery has not failed")
	// ErrEndpointGone: the delivery's endpoint is no longer configured.
	ErrEndpointGone = errors.New("events: the webhook endpoint is no longer configured")
	// ErrNoRunner: the Bus has no job runner to send the delivery with.
	ErrNoRunner = errors.New("events: no job runner to send webhook deliveries")
)

// Replay sends a failed delivery again: the same event body (same
// webhook-id, so a receiver that saw it already can tell) to the same
// endpoint, as a new delivery job with the Bus's attempts and backoff. The
// delivery is counted as replayed and starts over as queued; what
// Replay returns is the delivery as it then stands. Only a delivery of
// customer's own event that ended failed is replayed: ErrNoDelivery,
// ErrNotFailed, ErrEndpointGone and ErrNoRunner say why not. Two replays
// at once send it once: the other gets ErrNotFailed.
func (b *Bus) Replay(ctx context.Context, customer, eventID, endpoint string) (Delivery, error) {
	d, err := b.st.delivery(ctx, eventID, endpoint)
	if errors.Is(err, sql.ErrNoRows) || err == nil && d.Customer != customer {
		return Delivery{}, ErrNoDelivery
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("events: read the delivery: %w", err)
	}
	if d.State != DeliveryFailed {
		return d, ErrNotFailed
	}
	if _, ok := b.endpoints[endpoint]; !ok {
		return d, ErrEndpointGone
	}
	b.mu.RLock()
	ins := b.inserter
	b.mu.RUnlock()
	if ins == nil {
		return d, ErrNoRunner
	}
	ok, err := b.st.replay(ctx, eventID, endpoint)
	if err != nil {
		return Delivery{}, fmt.Errorf("events: replay the delivery: %w", err)
	}
	if !ok {
		d, _ = b.st.delivery(ctx, eventID, endpoint)
		return d, ErrNotFailed
	}
	p, replays, err := b.st.pendingOne(ctx, eventID, endpoint)
	if err != nil {
		return Delivery{}, fmt.Errorf("events: read the delivery: %w", err)
	}
	p.Replay = replays
	// An enqueue failure leaves the delivery pending: Flush sends it.
	_ = b.enqueue(ctx, ins, p)
	b.log.InfoContext(ctx, "events: webhook delivery replayed", "customer", customer, "event", eventID, "endpoint", endpoint, "replay", replays)
	d, err = b.st.delivery(ctx, eventID, endpoint)
	if err != nil {
		return Delivery{}, fmt.Errorf("events: read the delivery: %w", err)
	}
	return d, nil
}
