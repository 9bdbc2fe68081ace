package m365access

import (
	"context"
	"fmt"
)

// SwitchToToken starts moving customer to token authentication without an
// outage: it begins a token connection whose completion flips the mode.
// Until then the current credentials keep serving every request; if the
// connection is never completed nothing changes.
func (m *Manager) SwitchToToken(ctx context.Context, customer string, opts BeginOptions) (BeginResult, error) {
	opts.SwitchMode = true
	return m.Begin(ctx, customer, opts)
}

// SwitchMode moves customer to mode once that mode has proven itself: it
// gets a token in the new mode first and flips the saved mode only when
// that works, so requests never fail during the switch. Switching to
// ModeToken needs a completed token connection (see SwitchToToken).
func (m *Manager) SwitchMode(ctx context.Context, customer string, mode AuthMode) error {
	if !mode.known() {
		return &FlowError{Reason: ReasonWrongMode, Customer: customer, Detail: fmt.Sprintf("unknown mode %q", mode)}
	}
	s, rec, err := m.loadSettings(ctx, customer)
	if err != nil {
		return err
	}
	if s.Mode == mode {
		return nil
	}
	if _, err := m.acquire(ctx, customer, s, mode, nil); err != nil {
		return fmt.Errorf("m365access: not switching customer %q to %s: %w", customer, mode, err)
	}
	if _, _, err := m.updateSettings(ctx, customer, 0, func(cur *settings, _ bool) error {
		cur.Mode = mode
		return nil
	}); err != nil {
		return err
	}
	m.forget(customer)
	// The new mode signed in: what the old mode's errors proved no longer
	// applies.
	if err := m.updateStatus(ctx, customer, func(st *statusRecord) {
		st.State, st.LastError = StateConnected, nil
	}); err != nil {
		m.log.WarnContext(ctx, "m365access: recording the switch failed", "customer", customer, "err", err)
	}
	m.log.InfoContext(ctx, "m365access: auth mode switched", "customer", customer, "from", string(s.Mode), "to", string(mode), "settingsVersion", rec.Version+1)
	return nil
}
