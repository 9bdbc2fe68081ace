package m365access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// State is a customer's connection state, as the Authentication Status of
// a provider's settings screen shows it.
type State string

// The connection states.
const (
	StateNotConnected            State = "notConnected"
	StateConnected               State = "connected"
	StateDegraded                State = "degraded"
	StateReauthorizationRequired State = "reauthorizationRequired"
	StateConsentRequired         State = "consentRequired"
	StateCredentialExpired       State = "credentialExpired"
	// StateConsentPropagating: admin consent was granted, but Entra ID
	// still issues app-only tokens without the new roles while it
	// replicates the grant (minutes, sometimes longer). Validate or
	// ConfirmConsent later; nobody needs to consent again.
	StateConsentPropagating State = "consentPropagating"
	// StateAccountBlocked: Entra ID refuses the service account or the
	// app in the tenant (disabled, locked, password expired, not
	// assigned, device policy, app disabled) until an administrator
	// fixes it; retrying does not help.
	StateAccountBlocked State = "accountBlocked"
)

// ConsentPropagationWindow is how long after Entra ID reported admin
// consent as granted a token without the new roles is taken for a grant
// still replicating rather than a missing one: the bounded wait of
// StateConsentPropagating. Entra ID replicates a grant in minutes; a
// grant not confirmed through Graph within the window is not taken for
// one, and the customer reads StateConsentRequired again (Status derives
// it; the next Validate records it).
const ConsentPropagationWindow = 15 * time.Minute

// RefreshTokenInactivity is how long Entra ID keeps an unused refresh
// token alive.
const RefreshTokenInactivity = 90 * 24 * time.Hour

// ErrorInfo is the last failure recorded for a customer.
type ErrorInfo struct {
	At        time.Time `json:"at"`
	Op        string    `json:"op"`
	Codes     []int     `json:"codes,omitempty"`
	GraphCode string    `json:"graphCode,omitempty"`
	Action    Action    `json:"action,omitempty"`
	Message   string    `json:"message"`
}

// provenBeyondToken reports whether e was proven by Microsoft Graph or by a
// validation check rather than by the token endpoint, so that a new token
// alone does not clear it.
func (e *ErrorInfo) provenBeyondToken() bool {
	return e != nil && (e.GraphCode != "" || strings.HasPrefix(e.Op, "validate "))
}

// Status is a customer's connection status with its forecasts.
type Status struct {
	Customer string
	Mode     AuthMode
	State    State
	// Account is the signed-in service account (token mode).
	Account string
	// TenantID is the tenant GUID, once known.
	TenantID       string
	ConnectedAt    *time.Time
	LastRefresh    *time.Time
	LastValidation *time.Time
	// LastValidationOK is the outcome of the last Validate.
	LastValidationOK bool
	LastError        *ErrorInfo
	// ConsentGrantedAt and GrantedRoles record the last confirmed admin
	// consent.
	ConsentGrantedAt *time.Time
	GrantedRoles     []string
	// Capabilities are the optional capabilities (Teams Phone
	// provisioning) the last Validate found granted or not, each missing
	// one with the permission to grant.
	Capabilities []Capability
	// ConsentReportedAt is when Entra ID's consent callback last reported
	// admin consent as granted; while the grant propagates (State
	// StateConsentPropagating) it is newer than ConsentGrantedAt.
	ConsentReportedAt *time.Time

	// RefreshTokenDeadline is when the refresh token dies of inactivity
	// unless used (token mode): last refresh + 90 days.
	RefreshTokenDeadline *time.Time
	// SecretExpiresAt and CertificateExpiresAt forecast the app
	// registration's credential expiry (appRegistration mode).
	SecretExpiresAt      *time.Time
	CertificateExpiresAt *time.Time
	// QoESecretExpiresAt forecasts the QoE app's secret expiry.
	QoESecretExpiresAt *time.Time
}

// Event is a change of a customer's connection state.
type Event struct {
	Customer string
	From, To State
	At       time.Time
	// Action and Err explain a change to a failing state.
	Action Action
	Err    string
	// Transition identifies this change among all of the customer's:
	// the stored status record's creation time and the version the change
	// wrote. Of replicas racing to write the same change exactly one
	// succeeds and emits, so a receiver can deduplicate on it.
	Transition string
}

// statusRecord is the stored status (not sealed: it holds no secrets).
type statusRecord struct {
	State            State      `json:"state"`
	Account          string     `json:"account,omitempty"`
	TenantID         string     `json:"tenantId,omitempty"`
	ConnectedAt      *time.Time `json:"connectedAt,omitempty"`
	LastRefresh      *time.Time `json:"lastRefresh,omitempty"`
	LastValidation   *time.Time `json:"lastValidation,omitempty"`
	LastValidationOK bool       `json:"lastValidationOk,omitempty"`
	LastError        *ErrorInfo `json:"lastError,omitempty"`
	ConsentGrantedAt *time.Time `json:"consentGrantedAt,omitempty"`
	GrantedRoles     []string   `json:"grantedRoles,omitempty"`
	// ConsentReportedAt is when a consent callback reported the grant.
	ConsentReportedAt *time.Time `json:"consentReportedAt,omitempty"`
	// Capabilities are the optional capabilities of the last Validate.
	Capabilities []Capability `json:"capabilities,omitempty"`
}

// propagating reports whether a consent callback reported a grant within
// ConsentPropagationWindow of now.
func (st *statusRecord) propagating(now time.Time) bool {
	return st.ConsentReportedAt != nil && now.Sub(*st.ConsentReportedAt) < ConsentPropagationWindow
}

func statusKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: customer, Kind: kindStatus, Name: "status"}
}

// Status returns the customer's connection status and forecasts.
func (m *Manager) Status(ctx context.Context, customer string) (Status, error) {
	s, _, err := m.loadSettings(ctx, customer)
	if err != nil {
		return Status{}, err
	}
	st, _, err := m.loadStatus(ctx, customer)
	if err != nil {
		return Status{}, err
	}
	out := Status{
		Customer: customer, Mode: s.Mode, State: st.State, Account: st.Account, TenantID: st.TenantID,
		ConnectedAt: st.ConnectedAt, LastRefresh: st.LastRefresh, LastValidation: st.LastValidation,
		LastValidationOK: st.LastValidationOK, LastError: st.LastError,
		ConsentGrantedAt: st.ConsentGrantedAt, GrantedRoles: st.GrantedRoles, ConsentReportedAt: st.ConsentReportedAt,
		Capabilities: st.Capabilities, QoESecretExpiresAt: s.QoESecretExpiresAt,
	}
	if out.State == "" {
		out.State = StateNotConnected
	}
	if out.TenantID == "" {
		out.TenantID = s.TenantID
	}
	if out.State == StateConsentPropagating && !st.propagating(time.Now()) {
		// The bounded wait is over: the grant was never confirmed.
		out.State = StateConsentRequired
		msg := "admin consent was reported but not confirmed through Graph"
		at := time.Now().UTC()
		if st.ConsentReportedAt != nil {
			at = st.ConsentReportedAt.Add(ConsentPropagationWindow).UTC()
			msg = fmt.Sprintf("admin consent reported at %s was not confirmed through Graph within %s", st.ConsentReportedAt.UTC().Format(time.RFC3339), ConsentPropagationWindow)
		}
		out.LastError = &ErrorInfo{At: at, Op: "confirm admin consent", Action: ActionGrantConsent, Message: msg + ": grant admin consent again"}
	}
	switch s.Mode {
	case ModeToken:
		if st.LastRefresh != nil {
			d := st.LastRefresh.Add(RefreshTokenInactivity)
			out.RefreshTokenDeadline = &d
		}
	case ModeAppRegistration:
		out.SecretExpiresAt, out.CertificateExpiresAt = s.AppSecretExpiresAt, s.AppCertExpiresAt
		now := time.Now()
		if out.State == StateConnected && ((s.AppCertPEM != "" && s.AppCertExpiresAt != nil && s.AppCertExpiresAt.Before(now)) ||
			(s.AppCertPEM == "" && s.AppSecretExpiresAt != nil && s.AppSecretExpiresAt.Before(now))) {
			out.State = StateCredentialExpired
		}
	}
	return out, nil
}

func (m *Manager) loadStatus(ctx context.Context, customer string) (statusRecord, int64, error) {
	var st statusRecord
	rec, err := m.store.Get(ctx, statusKey(customer))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return st, 0, nil
	}
	if err != nil {
		return st, 0, fmt.Errorf("m365access: status of customer %q: %w", customer, err)
	}
	if err := json.Unmarshal(rec.Data, &st); err != nil {
		return st, 0, fmt.Errorf("m365access: status of customer %q is corrupt", customer)
	}
	return st, rec.Version, nil
}

// updateStatus applies fn to the stored status with optimistic retries and
// emits an Event when the state changes.
func (m *Manager) updateStatus(ctx context.Context, customer string, fn func(*statusRecord)) error {
	ctx = context.WithoutCancel(ctx) // a status write must not be lost to a caller's cancel
	for attempt := 0; attempt < 20; attempt++ {
		st, version, err := m.loadStatus(ctx, customer)
		if err != nil {
			return err
		}
		from := st.State
		if from == "" {
			from = StateNotConnected
		}
		fn(&st)
		data, err := json.Marshal(&st)
		if err != nil {
			return err
		}
		saved, err := m.store.Put(ctx, tokenstore.Record{Key: statusKey(customer), Data: data}, version)
		if errors.Is(err, tokenstore.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("m365access: saving status of customer %q: %w", customer, err)
		}
		if st.State != "" && st.State != from {
			ev := Event{Customer: customer, From: from, To: st.State, At: time.Now().UTC(),
				Transition: fmt.Sprintf("%d/%d", saved.CreatedAt.UnixNano(), saved.Version)}
			if st.LastError != nil && st.State != StateConnected {
				ev.Action, ev.Err = st.LastError.Action, st.LastError.Message
			}
			m.emit(ctx, ev)
		}
		return nil
	}
	return fmt.Errorf("m365access: saving status of customer %q: too many concurrent writers", customer)
}

// recordFailure stores err as the customer's last error and moves the
// state accordingly.
func (m *Manager) recordFailure(ctx context.Context, customer, op string, err error) {
	now := time.Now().UTC()
	info := &ErrorInfo{At: now, Op: op, Message: err.Error(), Action: ActionOf(err)}
	state := StateDegraded
	var e *Error
	if errors.As(err, &e) {
		info.Codes, info.GraphCode = e.Codes, e.GraphCode
		state = e.State()
	}
	var f *FlowError
	if errors.As(err, &f) {
		switch f.Reason {
		case ReasonPermissionsShort, ReasonScopesMissing, ReasonDenied:
			state = StateConsentRequired
		case ReasonConsentPropagating:
			state = StateConsentPropagating
		case ReasonNotConfigured:
			state = StateNotConnected
		}
	}
	m.writeFailure(ctx, customer, info, state)
}

// recordFailureState stores err as the customer's last error with state.
func (m *Manager) recordFailureState(ctx context.Context, customer, op string, err error, state State) {
	info := &ErrorInfo{At: time.Now().UTC(), Op: op, Message: err.Error(), Action: ActionOf(err)}
	var e *Error
	if errors.As(err, &e) {
		info.Codes, info.GraphCode = e.Codes, e.GraphCode
	}
	m.writeFailure(ctx, customer, info, state)
}

func (m *Manager) writeFailure(ctx context.Context, customer string, info *ErrorInfo, state State) {
	if uerr := m.updateStatus(ctx, customer, func(st *statusRecord) {
		st.LastError = info
		st.State = state
	}); uerr != nil {
		m.log.WarnContext(ctx, "m365access: recording a failure failed", "customer", customer, "err", uerr)
	}
}

// recordAttempt stores err as the last error without changing the state:
// a failed new sign-in must not degrade a working connection.
func (m *Manager) recordAttempt(ctx context.Context, customer, op string, err error) {
	info := &ErrorInfo{At: time.Now().UTC(), Op: op, Message: err.Error(), Action: ActionOf(err)}
	var e *Error
	if errors.As(err, &e) {
		info.Codes, info.GraphCode = e.Codes, e.GraphCode
	}
	if uerr := m.updateStatus(ctx, customer, func(st *statusRecord) { st.LastError = info }); uerr != nil {
		m.log.WarnContext(ctx, "m365access: recording a failure failed", "customer", customer, "err", uerr)
	}
	m.log.WarnContext(ctx, "m365access: "+op+" failed", "customer", customer, "err", err.Error(), "action", string(info.Action))
}

// recordSuccess marks a successful token acquisition; refreshed says the
// refresh token was redeemed (which restarts its inactivity window).
//
// A token proves that Entra ID accepts the credential, not that Graph
// answers: Entra ID issues tokens to an app without consent. So a token
// moves the state back to connected only from a failure of getting one
// (a refused credential or sign-in recorded by a token request) after a
// validation had passed; it never makes a customer connected that Graph
// or a validation has not shown working, and never clears a state that
// Graph or a validation set (consentRequired from a 403, a failed check).
func (m *Manager) recordSuccess(ctx context.Context, customer string, refreshed bool) {
	st, _, err := m.loadStatus(ctx, customer)
	if err == nil && !refreshed && !tokenCures(&st) {
		return // nothing changes: spare the write
	}
	now := time.Now().UTC()
	if err := m.updateStatus(ctx, customer, func(st *statusRecord) {
		if tokenCures(st) {
			st.State, st.LastError = StateConnected, nil
		}
		if refreshed {
			st.LastRefresh = &now
		}
	}); err != nil {
		m.log.WarnContext(ctx, "m365access: recording a refresh failed", "customer", customer, "err", err)
	}
}

// tokenOps are the ErrorInfo.Op values of failures to get a token.
var tokenOps = map[string]bool{"get a token": true, "keep the token connection alive": true}

// tokenCures reports whether a successful token acquisition disproves the
// recorded failure: the state was set by a failed token request, and the
// last validation had passed (Graph answered then).
func tokenCures(st *statusRecord) bool {
	if st.State == StateConnected || st.State == "" || st.State == StateNotConnected || !st.LastValidationOK {
		return false
	}
	return st.LastError != nil && tokenOps[st.LastError.Op] && !st.LastError.provenBeyondToken()
}

func (m *Manager) emit(ctx context.Context, ev Event) {
	level := slogLevelFor(ev.To)
	m.log.Log(ctx, level, "m365access: connection state changed",
		"customer", ev.Customer, "from", string(ev.From), "to", string(ev.To), "action", string(ev.Action), "err", ev.Err)
	if m.onEvent != nil {
		m.onEvent(ev)
	}
}

func (m *Manager) emitSettingsSaved(ctx context.Context, customer string) {
	m.log.InfoContext(ctx, "m365access: settings saved", "customer", customer)
}
