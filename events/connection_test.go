package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/m365access"
)

func TestOnConnection(t *testing.T) {
	t.Parallel()
	b := newBus(t, testdb.SQLite(t), events.Options{})
	var got []events.Event
	b.Subscribe(func(_ context.Context, e events.Event) { got = append(got, e) })
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		ev         m365access.Event
		want       events.Type // "" for no event
		wantAction string
	}{
		{m365access.Event{From: m365access.StateNotConnected, To: m365access.StateConnected, Transition: "1/1"}, events.ConnectionConnected, ""},
		{m365access.Event{From: m365access.StateNotConnected, To: m365access.StateConnected, Transition: "1/1"}, "", ""}, // the same transition seen by a replica
		{m365access.Event{From: m365access.StateConnected, To: m365access.StateReauthorizationRequired, Transition: "1/2",
			Action: m365access.ActionReInvite, Err: "AADSTS700082: the refresh token has expired due to inactivity. Trace ID: 3f1c2d4e-5b6a-4c7d-8e9f-0a1b2c3d4e5f"}, events.ConnectionFailed, "reInvite"},
		{m365access.Event{From: m365access.StateReauthorizationRequired, To: m365access.StateConnected, Transition: "1/3"}, events.ConnectionRecovered, ""},
		{m365access.Event{From: m365access.StateConnected, To: m365access.StateConsentRequired, Transition: "1/4"}, events.ConsentMissing, "grantConsent"},
		{m365access.Event{From: m365access.StateConsentRequired, To: m365access.StateNotConnected, Transition: "1/5"}, "", ""},
		{m365access.Event{From: m365access.StateConnected, To: m365access.StateDegraded, Transition: "1/6", Action: m365access.ActionWaitAndRetry}, events.ConnectionFailed, "waitAndRetry"},
	}
	for i, s := range steps {
		before := len(got)
		s.ev.Customer, s.ev.At = "contoso", at.Add(time.Duration(i)*time.Minute)
		b.OnConnection(s.ev)
		if s.want == "" {
			assert.Len(t, got, before, "step %d: want no event", i)
			continue
		}
		require.Len(t, got, before+1, "step %d: want %s", i, s.want)
		e := got[len(got)-1]
		assert.Equal(t, s.want, e.Type, "step %d", i)
		assert.Equal(t, s.wantAction, e.Data.Action, "step %d", i)
		assert.Equal(t, "contoso", e.Data.Customer, "step %d", i)
		assert.True(t, e.Time.Equal(s.ev.At), "step %d: time %v, want %v", i, e.Time, s.ev.At)
		assert.Equal(t, string(s.ev.From), e.Data.From, "step %d", i)
		assert.Equal(t, string(s.ev.To), e.Data.To, "step %d", i)
	}
	assert.Equal(t, "AADSTS700082: the refresh token has expired due to inactivity. Trace ID: [redacted]", got[1].Data.Error, "failure message")
	// After an offboarding, the next connection is a first one again.
	require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.CustomerOffboarded, Time: at.Add(time.Hour), Data: events.Data{Customer: "contoso"}}))
	b.OnConnection(m365access.Event{Customer: "contoso", From: m365access.StateNotConnected, To: m365access.StateConnected,
		At: at.Add(2 * time.Hour), Transition: "2/1"})
	assert.Equal(t, events.ConnectionConnected, got[len(got)-1].Type, "after offboarding")
}

func TestCheckExpiry(t *testing.T) {
	t.Parallel()
	b := newBus(t, testdb.SQLite(t), events.Options{})
	var got []events.Event
	b.Subscribe(func(_ context.Context, e events.Event) { got = append(got, e) })
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	secretAt := now.Add(40 * 24 * time.Hour)
	certAt := now.Add(5 * 24 * time.Hour)
	st := m365access.Status{Customer: "contoso", SecretExpiresAt: &secretAt, CertificateExpiresAt: &certAt}
	days := func(d int) time.Duration { return time.Duration(d) * 24 * time.Hour }
	steps := []struct {
		at   time.Time
		want []string // type/credential/daysLeft
	}{
		{now, []string{"secret.expiring/appCertificate/7"}},
		{now.Add(time.Hour), nil}, // the next health check: nothing new
		{now.Add(days(4) + 12*time.Hour), []string{"secret.expiring/appCertificate/1"}},
		{now.Add(days(5)), []string{"secret.expired/appCertificate/0"}},
		{now.Add(days(6)), nil},
		{now.Add(days(10)), []string{"secret.expiring/appSecret/30"}},
		{now.Add(days(39) + time.Hour), []string{"secret.expiring/appSecret/1"}}, // 7 was skipped: no check between
		{now.Add(days(41)), []string{"secret.expired/appSecret/0"}},
	}
	for i, s := range steps {
		before := len(got)
		require.NoError(t, b.CheckExpiry(t.Context(), st, s.at))
		var names []string
		for _, e := range got[before:] {
			d := 0
			if e.Data.DaysLeft != nil {
				d = *e.Data.DaysLeft
			}
			names = append(names, fmt.Sprintf("%s/%s/%d", e.Type, e.Data.Credential, d))
			assert.NotNil(t, e.Data.ExpiresAt, "step %d: %+v lacks expiresAt", i, e.Data)
			assert.NotEmpty(t, e.Data.Action, "step %d: %+v lacks an action", i, e.Data)
		}
		if assert.Len(t, names, len(s.want), "step %d: %v, want %v", i, names, s.want) && len(names) > 0 {
			assert.Equal(t, s.want[0], names[0], "step %d: %v, want %v", i, names, s.want)
		}
	}
	// A rotated secret (new expiry) warns again.
	rotated := now.Add(days(60))
	st.SecretExpiresAt = &rotated
	before := len(got)
	require.NoError(t, b.CheckExpiry(t.Context(), st, now.Add(days(31))))
	if assert.Len(t, got, before+1, "after rotation: want the 30-day warning") {
		assert.Equal(t, 30, *got[before].Data.DaysLeft, "after rotation: want the 30-day warning")
	}
}
