package events

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/m365access"
)

// OnConnection turns m365access connection state changes into events; use
// it as m365access.Config.OnEvent. A change to connected is
// connection.connected the first time (or after an offboarding) and
// connection.recovered after that; to consentRequired consent.missing; to
// degraded, reauthorizationRequired or credentialExpired
// connection.failed with the action a person must take. The change's
// Transition is the deduplication key, so a change is emitted once even
// when replicas race.
func (b *Bus) OnConnection(ev m365access.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, ok, err := b.connectionEvent(ctx, ev)
	if err != nil || !ok {
		if err != nil {
			b.log.WarnContext(ctx, "events: connection event", "customer", ev.Customer, "err", err.Error())
		}
		return
	}
	if err := b.Emit(ctx, e); err != nil {
		b.log.WarnContext(ctx, "events: connection event", "customer", ev.Customer, "err", err.Error())
	}
}

func (b *Bus) connectionEvent(ctx context.Context, ev m365access.Event) (Event, bool, error) {
	e := Event{Time: ev.At, Data: Data{Customer: ev.Customer, From: string(ev.From), To: string(ev.To)}}
	if ev.Transition != "" {
		e.Key = "state/" + ev.Transition
	}
	switch ev.To {
	case m365access.StateConnected:
		first, err := b.st.neverConnected(ctx, ev.Customer)
		if err != nil {
			return e, false, err
		}
		e.Type = ConnectionRecovered
		if first {
			e.Type = ConnectionConnected
		}
	case m365access.StateConsentRequired:
		e.Type = ConsentMissing
		e.Data.Action, e.Data.Error = string(ev.Action), ev.Err
		if e.Data.Action == "" {
			e.Data.Action = string(m365access.ActionGrantConsent)
		}
	case m365access.StateDegraded, m365access.StateReauthorizationRequired, m365access.StateCredentialExpired:
		e.Type = ConnectionFailed
		e.Data.Action, e.Data.Error = string(ev.Action), ev.Err
	default:
		return e, false, nil
	}
	return e, true, nil
}

// neverConnected reports whether customer has no connection.connected
// event since its last offboarding.
func (s *store) neverConnected(ctx context.Context, customer string) (bool, error) {
	var typ string
	err := s.db.QueryRowContext(ctx, s.d.Rebind(`SELECT coalesce(max(type), '') FROM (
		SELECT type FROM tenantgate_events WHERE customer = ? AND type IN (?, ?) ORDER BY at DESC, id DESC LIMIT 1) latest`),
		customer, string(ConnectionConnected), string(CustomerOffboarded)).Scan(&typ)
	if err != nil {
		return false, fmt.Errorf("events: connection history of %q: %w", customer, err)
	}
	return typ != string(ConnectionConnected), nil
}

// ExpiryWarnings are the days before a credential's expiry at which
// secret.expiring is emitted.
var ExpiryWarnings = []int{30, 7, 1}

// CheckExpiry emits secret.expiring when one of the customer's
// credentials (app secret, app certificate, QoE secret, refresh token
// inactivity deadline) is within 30, 7 or 1 days of expiring, and
// secret.expired once it has. Each warning is emitted once per
// credential expiry and threshold, across replicas: call it on every
// health check. Only the nearest threshold is emitted (5 days before,
// the 7-day warning, not also the 30-day one).
func (b *Bus) CheckExpiry(ctx context.Context, st m365access.Status, now time.Time) error {
	type cred struct {
		c      Credential
		at     *time.Time
		action m365access.Action
	}
	creds := []cred{
		{CredentialAppSecret, st.SecretExpiresAt, m365access.ActionRotateSecret},
		{CredentialAppCertificate, st.CertificateExpiresAt, m365access.ActionRotateCertificate},
		{CredentialQoESecret, st.QoESecretExpiresAt, m365access.ActionRotateSecret},
		{CredentialRefreshToken, st.RefreshTokenDeadline, m365access.ActionReInvite},
	}
	for _, c := range creds {
		if c.at == nil {
			continue
		}
		if err := b.emitExpiry(ctx, st.Customer, c.c, *c.at, c.action, now); err != nil {
			return err
		}
	}
	return nil
}

// CheckProviderExpiry emits secret.expiring and secret.expired for the
// provider app's own secret or certificate (c is
// CredentialProviderSecret or CredentialProviderCertificate, expiresAt
// from m365access.Manager.ProviderCredentialExpiry) under the customer
// ProviderCustomer, with the same thresholds and once-only keys as
// CheckExpiry. Call it periodically (the portal does at start and every
// check interval).
func (b *Bus) CheckProviderExpiry(ctx context.Context, c Credential, expiresAt, now time.Time) error {
	action := m365access.ActionRotateSecret
	if c == CredentialProviderCertificate {
		action = m365access.ActionRotateCertificate
	}
	return b.emitExpiry(ctx, ProviderCustomer, c, expiresAt, action, now)
}

// emitExpiry emits the nearest expiry warning of one credential, or its
// expiry, once per expiry and threshold.
func (b *Bus) emitExpiry(ctx context.Context, customer string, c Credential, at time.Time, action m365access.Action, now time.Time) error {
	at = at.UTC()
	left := at.Sub(now)
	e := Event{Time: now, Data: Data{Customer: customer, Credential: c, ExpiresAt: &at, Action: string(action)}}
	switch {
	case left <= 0:
		e.Type, e.Key = SecretExpired, fmt.Sprintf("expired/%s/%d", c, at.Unix())
	default:
		days := 0
		for _, d := range ExpiryWarnings {
			if left <= time.Duration(d)*24*time.Hour {
				days = d
			}
		}
		if days == 0 {
			return nil
		}
		e.Type, e.Key, e.Data.DaysLeft = SecretExpiring, fmt.Sprintf("expiring/%s/%d/%d", c, at.Unix(), days), intp(days)
	}
	return b.Emit(ctx, e)
}
