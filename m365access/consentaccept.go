package m365access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// AcceptedConsent is an admin consent callback that Entra ID reported as
// granted, accepted without waiting for the grant to replicate.
type AcceptedConsent struct {
	Customer string
	// ClientID is the app the consent was for.
	ClientID   string
	ReportedAt time.Time
}

// AcceptConsent handles the admin consent callback at once: it checks the
// error first, then the state (single use, unexpired, and the browser
// that asked for the link unless the link was shareable), and records
// that Entra ID reported the grant: the customer is
// StateConsentPropagating until the grant is confirmed. It confirms
// nothing and does not wait: call ConfirmConsent next, apart from the
// request (it gets fresh app-only tokens with backoff for up to
// Config.ConsentWait until Graph shows the roles), and show
// ConsentProgress. A grant that stays unconfirmed reads
// StateConsentRequired again once ConsentPropagationWindow has passed.
func (m *Manager) AcceptConsent(ctx context.Context, cb ConsentCallback, browserBinding string) (*AcceptedConsent, error) {
	return m.AcceptConsentWith(ctx, cb, browserBinding, AcceptOptions{})
}

// AcceptOptions tune AcceptConsentWith.
type AcceptOptions struct {
	// BeforeRecord, when set, is called once the callback's transaction
	// checked out, just before the grant is recorded, with the customer:
	// a host records the change there (its audit entry) and an error
	// stops it (returned wrapped; nothing is recorded, the transaction is
	// spent).
	BeforeRecord func(ctx context.Context, customer string) error
}

// AcceptConsentWith is AcceptConsent with options.
func (m *Manager) AcceptConsentWith(ctx context.Context, cb ConsentCallback, browserBinding string, opts AcceptOptions) (*AcceptedConsent, error) {
	if cb.Error != "" {
		p, perr := m.takePending(ctx, flowConsent, cb.State, browserBinding)
		err := &FlowError{Reason: ReasonDenied, Customer: p.Customer, Detail: "Entra ID answered " + clip(safeToken(cb.Error))}
		if perr == nil {
			m.recordFailure(ctx, p.Customer, "grant admin consent", err)
		}
		return nil, err
	}
	p, err := m.takePending(ctx, flowConsent, cb.State, browserBinding)
	if err != nil {
		return nil, err
	}
	if opts.BeforeRecord != nil {
		if err := opts.BeforeRecord(ctx, p.Customer); err != nil {
			return nil, fmt.Errorf("m365access: the admin consent of %q was not recorded: %w", p.Customer, err)
		}
	}
	now := time.Now().UTC()
	if err := m.updateStatus(ctx, p.Customer, func(st *statusRecord) {
		st.ConsentReportedAt, st.State = &now, StateConsentPropagating
	}); err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "m365access: admin consent reported by Entra ID, to be confirmed", "customer", p.Customer, "app", p.App)
	return &AcceptedConsent{Customer: p.Customer, ClientID: p.App, ReportedAt: now}, nil
}

// ConsentProgress is how the confirmation of an accepted admin consent
// goes, for the page the administrator lands on.
type ConsentProgress struct {
	Customer string
	// ClientID is the app the consent was for.
	ClientID string
	// State is the customer's connection state now.
	State State
	// Confirmed: Graph showed the required roles granted after the
	// callback. Roles are those it showed.
	Confirmed bool
	Roles     []string
	// Pending: not confirmed yet, and still within
	// ConsentPropagationWindow of the callback: confirmation goes on.
	Pending bool
	// LastError is the customer's last recorded failure, when not
	// confirmed.
	LastError *ErrorInfo
}

// ConsentProgress reports how the consent whose callback carried state
// goes: accepted (AcceptConsent), being confirmed, confirmed, or not
// confirmed in time. It reads stored status only and sends nothing to
// Microsoft. ErrStateUnknown for a state that names no accepted consent
// (never issued, not used yet, or swept).
func (m *Manager) ConsentProgress(ctx context.Context, state string) (ConsentProgress, error) {
	if state == "" {
		return ConsentProgress{}, ErrStateUnknown
	}
	rec, err := tokenstore.GetSealed(ctx, m.store, pendingKey(state))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return ConsentProgress{}, ErrStateUnknown
	}
	if err != nil {
		return ConsentProgress{}, fmt.Errorf("m365access: reading the transaction: %w", err)
	}
	var p pending
	if json.Unmarshal(rec.Data, &p) != nil || p.Flow != flowConsent || !p.Used || p.TakenAt == nil {
		return ConsentProgress{}, ErrStateUnknown
	}
	st, _, err := m.loadStatus(ctx, p.Customer)
	if err != nil {
		return ConsentProgress{}, err
	}
	out := ConsentProgress{Customer: p.Customer, ClientID: p.App, State: st.State}
	if out.State == "" {
		out.State = StateNotConnected
	}
	now := time.Now()
	switch {
	case st.ConsentGrantedAt != nil && !st.ConsentGrantedAt.Before(p.TakenAt.Add(-time.Second)):
		out.Confirmed, out.Roles = true, slices.Clone(st.GrantedRoles)
	case st.propagating(now):
		out.Pending = true
	default:
		out.LastError = st.LastError
		if out.State == StateConsentPropagating {
			out.State = StateConsentRequired
		}
	}
	return out, nil
}
