package qoe

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// The resource and change types of the call records subscription.
const (
	subscriptionResource = "/communications/callRecords"
	subscriptionChanges  = "created,updated"
)

// SubscriptionState is the state of a customer's subscription.
type SubscriptionState string

// The subscription states.
const (
	// StateNone: the customer has no subscription (no QoE settings, or
	// not created yet).
	StateNone SubscriptionState = "none"
	// StateActive: created and not expiring within RenewBefore.
	StateActive SubscriptionState = "active"
	// StateExpiring: due for renewal (the next pass renews it).
	StateExpiring SubscriptionState = "expiring"
	// StateExpired: past its expiry; notifications have stopped.
	StateExpired SubscriptionState = "expired"
	// StateFailed: the last create or renewal failed (LastError says why).
	StateFailed SubscriptionState = "failed"
)

// SubscriptionStatus describes a customer's subscription.
type SubscriptionStatus struct {
	State          SubscriptionState `json:"state"`
	SubscriptionID string            `json:"subscriptionId,omitempty"`
	ExpiresAt      *time.Time        `json:"expiresAt,omitempty"`
	RenewedAt      *time.Time        `json:"renewedAt,omitempty"`
	// LastError is the last create or renewal failure, for people.
	LastError string `json:"lastError,omitempty"`
	// LastCallStart is the start of the newest call processed.
	LastCallStart *time.Time `json:"lastCallStart,omitempty"`
	// Rejected counts notifications refused for a wrong clientState.
	Rejected int64 `json:"rejected"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Status returns the state and expiry of customer's subscription.
func (s *Service) Status(ctx context.Context, customer string) (SubscriptionStatus, error) {
	row, ok, err := s.cfg.Store.subscription(ctx, customer)
	if err != nil {
		return SubscriptionStatus{}, fmt.Errorf("qoe: status of customer %q: %w", customer, err)
	}
	if !ok {
		return SubscriptionStatus{State: StateNone}, nil
	}
	st := SubscriptionStatus{SubscriptionID: row.ID, ExpiresAt: timePtr(row.ExpiresAt), RenewedAt: timePtr(row.RenewedAt),
		LastError: row.LastError, LastCallStart: timePtr(row.LastSeenStart), Rejected: row.Rejected}
	now := s.now()
	switch {
	case row.State == "failed":
		st.State = StateFailed
	case row.ID == "":
		st.State = StateNone
	case !now.Before(row.ExpiresAt):
		st.State = StateExpired
	case row.ExpiresAt.Sub(now) < s.cfg.RenewBefore:
		st.State = StateExpiring
	default:
		st.State = StateActive
	}
	return st, nil
}

func hashState(cs string) string {
	h := sha256.Sum256([]byte("tenantgate qoe clientState\x00" + cs))
	return hex.EncodeToString(h[:])
}

func newClientState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// qoeConfigured reports whether customer has QoE settings, and the app.
func (s *Service) qoeConfigured(ctx context.Context, customer string) (string, bool, error) {
	st, err := s.cfg.Access.GetSettings(ctx, customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return st.QoEAppID, st.QoEAppID != "" && st.QoESecretSet, nil
}

// EnsureSubscription brings customer's subscription in line with its QoE
// settings: created when missing, renewed when expiring within
// RenewBefore, recreated when the QoE app changed or Graph lost it, and
// deleted when the QoE settings are gone.
func (s *Service) EnsureSubscription(ctx context.Context, customer string) error {
	unlock := s.lockCustomer(customer)
	defer unlock()
	appID, ok, err := s.qoeConfigured(ctx, customer)
	if err != nil {
		return fmt.Errorf("qoe: read the QoE settings of customer %q: %w", customer, err)
	}
	if !ok {
		return s.removeSubscription(ctx, customer)
	}
	row, found, err := s.cfg.Store.subscription(ctx, customer)
	if err != nil {
		return err
	}
	now := s.now()
	if found && row.ID != "" && row.AppID == appID && row.State == "active" {
		if row.ExpiresAt.Sub(now) >= s.cfg.RenewBefore {
			// Once per process, ask Graph whether it still has it (it
			// may have been deleted behind this service's back).
			if s.verified(customer, row.ID) {
				return nil
			}
			g, err := s.graphFor(ctx, customer)
			if err != nil {
				return err
			}
			if _, err := g.getSubscription(ctx, row.ID); err == nil {
				s.markVerified(customer, row.ID)
				return nil
			} else if !notFound(err) {
				return err
			}
			s.log.InfoContext(ctx, "qoe: Graph no longer has the subscription; creating a new one", "customer", customer, "subscription", row.ID)
			return s.create(ctx, customer, appID, row.LastSeenStart)
		}
		return s.renew(ctx, customer, row)
	} else if found && row.ID != "" && row.AppID != appID {
		if g, err := s.graphFor(ctx, customer); err == nil {
			_ = g.deleteSubscription(ctx, row.ID) // the old app's; usually not ours to delete any more
		}
	}
	return s.create(ctx, customer, appID, row.LastSeenStart)
}

func (s *Service) fail(ctx context.Context, customer, appID string, row subRow, err error) error {
	was := row.State
	row.Customer, row.AppID, row.State, row.LastError = customer, appID, "failed", clip(err.Error())
	if perr := s.cfg.Store.putSubscription(ctx, row); perr != nil {
		s.log.ErrorContext(ctx, "qoe: recording a subscription failure failed", "customer", customer, "err", perr)
	}
	if s.cfg.Events != nil && was != "failed" {
		// Once per failure after a working state: the key names the
		// subscription and when it last worked, the same on every replica.
		e := events.Event{Type: events.QoESubscriptionFailed,
			Key:  "qoe-failed/" + appID + "/" + row.ID + "/" + strconv.FormatInt(row.RenewedAt.UnixNano(), 10) + "/" + strconv.FormatInt(row.CreatedAt.UnixNano(), 10),
			Data: events.Data{Customer: customer, Subscription: row.ID, Error: err.Error(), Action: string(m365access.ActionOf(err))}}
		if eerr := s.cfg.Events.Emit(ctx, e); eerr != nil {
			s.log.WarnContext(ctx, "qoe: emitting qoe.subscription.failed failed", "customer", customer, "err", eerr)
		}
	}
	return err
}

func clip(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

// create makes a new subscription and stores it (the clientState only as
// a hash).
func (s *Service) create(ctx context.Context, customer, appID string, lastSeen time.Time) error {
	old, _, _ := s.cfg.Store.subscription(ctx, customer)
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return s.fail(ctx, customer, appID, old, err)
	}
	cs, err := newClientState()
	if err != nil {
		return err
	}
	exp := s.now().Add(s.cfg.SubscriptionLifetime).UTC().Truncate(time.Second)
	sub, err := g.createSubscription(ctx, graphSubscription{
		Resource: subscriptionResource, ChangeType: subscriptionChanges,
		NotificationURL: s.cfg.NotificationURL, LifecycleNotificationURL: s.cfg.LifecycleURL,
		ClientState: cs, ExpirationDateTime: exp,
	})
	if err != nil {
		return s.fail(ctx, customer, appID, old, fmt.Errorf("qoe: create the call records subscription of customer %q: %w", customer, err))
	}
	if sub.ExpirationDateTime.IsZero() {
		sub.ExpirationDateTime = exp
	}
	now := s.now()
	row := subRow{Customer: customer, ID: sub.ID, ClientStateHash: hashState(cs), AppID: appID, State: "active",
		ExpiresAt: sub.ExpirationDateTime, LastSeenStart: lastSeen, CreatedAt: now, RenewedAt: now}
	// Another replica may have created one meanwhile: keep the first.
	if cur, ok, err := s.cfg.Store.subscription(ctx, customer); err == nil && ok && cur.State == "active" && cur.ID != "" && cur.ID != old.ID {
		_ = g.deleteSubscription(context.WithoutCancel(ctx), sub.ID)
		return nil
	}
	if err := s.cfg.Store.putSubscription(ctx, row); err != nil {
		_ = g.deleteSubscription(context.WithoutCancel(ctx), sub.ID)
		return fmt.Errorf("qoe: store the subscription of customer %q: %w", customer, err)
	}
	s.forgetCustomer(customer)
	s.subsMu.Lock()
	delete(s.misses, sub.ID) // a notification may have raced the row
	s.subsMu.Unlock()
	s.markVerified(customer, sub.ID)
	s.log.InfoContext(ctx, "qoe: subscription created", "customer", customer, "subscription", sub.ID, "expires", sub.ExpirationDateTime)
	if old.ID != "" && old.ID != sub.ID && old.AppID == appID {
		// The replaced one would keep notifying under its clientState
		// until it expires.
		if err := g.deleteSubscription(ctx, old.ID); err != nil {
			s.log.WarnContext(ctx, "qoe: the replaced subscription could not be deleted at Microsoft; it expires by itself and its notifications are refused", "customer", customer, "subscription", old.ID, "err", err)
		}
	}
	return nil
}

// renew replaces a subscription due for renewal or reauthorization with
// a new one under a fresh clientState, and create deletes the old one at
// Microsoft. Graph's PATCH extends only the expiry, so replacing is how
// the clientState rotates: one that leaked stops working at the next
// renewal.
func (s *Service) renew(ctx context.Context, customer string, row subRow) error {
	return s.create(ctx, customer, row.AppID, row.LastSeenStart)
}

// removeSubscription deletes customer's subscription at Microsoft (best
// effort: without QoE credentials it expires by itself, and its
// notifications are refused) and the stored record.
func (s *Service) removeSubscription(ctx context.Context, customer string) error {
	_, err := s.removeSubscriptionOutcome(ctx, customer)
	return err
}

// subRemoval is what removing a subscription did.
type subRemoval struct {
	found bool   // a subscription was stored
	row   subRow // the stored subscription
	// atMicrosoft is nil when Microsoft deleted it (or it was already
	// gone there, or never created), else why the deletion failed.
	atMicrosoft error
}

func (s *Service) removeSubscriptionOutcome(ctx context.Context, customer string) (subRemoval, error) {
	row, found, err := s.cfg.Store.subscription(ctx, customer)
	if err != nil || !found {
		return subRemoval{}, err
	}
	out := subRemoval{found: true, row: row}
	if row.ID != "" {
		g, err := s.graphFor(ctx, customer)
		if err == nil {
			err = g.deleteSubscription(ctx, row.ID)
		}
		out.atMicrosoft = err
	}
	if err := s.cfg.Store.deleteSubscription(ctx, customer); err != nil {
		return out, err
	}
	s.forgetCustomer(customer)
	if out.atMicrosoft != nil {
		s.log.WarnContext(ctx, "qoe: the subscription could not be deleted at Microsoft; it expires by itself", "customer", customer, "err", out.atMicrosoft)
	}
	return out, nil
}

// The lifetimes of the receiver's subscription cache: a known
// subscription is read again after subCacheTTL (another replica may have
// replaced or removed it), an unknown one after missCacheTTL, and at
// most maxCachedMisses unknown IDs are remembered.
const (
	subCacheTTL     = time.Minute
	missCacheTTL    = 10 * time.Second
	maxCachedMisses = 10000
)

// lookupSubs finds the subscriptions of ids (distinct), from the cache
// or with one query for those not cached; the IDs it did not find are
// absent from the result and cached as misses.
func (s *Service) lookupSubs(ctx context.Context, ids []string) (map[string]cachedSub, error) {
	out := make(map[string]cachedSub, len(ids))
	var ask []string
	now := s.now()
	s.subsMu.Lock()
	for _, id := range ids {
		if c, ok := s.subs[id]; ok && now.Before(c.until) {
			out[id] = c
			continue
		}
		if until, ok := s.misses[id]; ok && now.Before(until) {
			continue
		}
		if id != "" && len(id) <= 128 {
			ask = append(ask, id)
		}
	}
	s.subsMu.Unlock()
	if len(ask) == 0 {
		return out, nil
	}
	rows, err := s.cfg.Store.subscriptionsByID(ctx, ask)
	if err != nil {
		return nil, err
	}
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for _, id := range ask {
		row, ok := rows[id]
		if !ok {
			if len(s.misses) >= maxCachedMisses {
				clear(s.misses)
			}
			s.misses[id] = now.Add(missCacheTTL)
			continue
		}
		c := cachedSub{customer: row.Customer, hash: row.ClientStateHash, until: now.Add(subCacheTTL)}
		s.subs[id] = c
		delete(s.misses, id)
		out[id] = c
	}
	return out, nil
}

// DeleteSubscription deletes customer's subscription at Microsoft and
// its stored record. Call it before the QoE settings are cleared: the
// deletion needs the QoE app's credentials (without them the
// subscription expires by itself and its notifications are refused).
func (s *Service) DeleteSubscription(ctx context.Context, customer string) error {
	unlock := s.lockCustomer(customer)
	defer unlock()
	return s.removeSubscription(ctx, customer)
}

// lockCustomer serializes subscription changes of one customer in this
// process; the returned func unlocks.
func (s *Service) lockCustomer(customer string) func() {
	s.subsMu.Lock()
	m := s.custLocks[customer]
	if m == nil {
		m = &sync.Mutex{}
		s.custLocks[customer] = m
	}
	s.subsMu.Unlock()
	m.Lock()
	return m.Unlock
}

func (s *Service) verified(customer, id string) bool {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	return s.checked[customer] == id
}

func (s *Service) markVerified(customer, id string) {
	s.subsMu.Lock()
	s.checked[customer] = id
	s.subsMu.Unlock()
}
