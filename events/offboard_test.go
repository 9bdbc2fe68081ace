package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/fence/fencetest"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// TestOffboardErasesEvents: offboarding erases the customer's events and
// webhook delivery rows except customer.offboarded; other customers keep
// theirs.
func TestOffboardErasesEvents(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			secret := events.GenerateSecret()
			b := newBus(t, db, events.Options{Endpoints: []events.Endpoint{{URL: "http://127.0.0.1:1/hook", Secrets: []string{secret}}}})
			for _, c := range []string{"contoso", "fabrikam"} {
				require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.SyncSucceeded, Key: "sync/1", Data: events.Data{Customer: c}}))
			}
			require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.CustomerOffboarded, Key: "offboarded/1", Data: events.Data{Customer: "contoso"}}))
			require.NoError(t, b.Offboard(t.Context(), "contoso"))
			require.NoError(t, b.Offboard(t.Context(), "contoso"), "idempotent")

			evs, err := b.Recent(t.Context(), events.Query{Customer: "contoso"})
			require.NoError(t, err)
			require.Len(t, evs, 1)
			assert.Equal(t, events.CustomerOffboarded, evs[0].Type)
			ds, err := b.Deliveries(t.Context(), events.Query{Customer: "contoso"})
			require.NoError(t, err)
			require.Len(t, ds, 1)
			assert.Equal(t, events.CustomerOffboarded, ds[0].Type)

			other, err := b.Recent(t.Context(), events.Query{Customer: "fabrikam"})
			require.NoError(t, err)
			assert.Len(t, other, 1)
		})
	}
}

// TestCheckProviderExpiry: the provider app's own certificate expiring in
// 5 days gives one secret.expiring (7-day warning) under
// ProviderCustomer, once however often it is checked; expired gives
// secret.expired.
func TestCheckProviderExpiry(t *testing.T) {
	t.Parallel()
	b := newBus(t, testdb.SQLite(t), events.Options{})
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	exp := now.Add(5 * 24 * time.Hour)
	for range 3 {
		require.NoError(t, b.CheckProviderExpiry(t.Context(), events.CredentialProviderCertificate, exp, now))
	}
	evs, err := b.Recent(t.Context(), events.Query{Customer: events.ProviderCustomer})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, events.SecretExpiring, evs[0].Type)
	assert.Equal(t, events.CredentialProviderCertificate, evs[0].Data.Credential)
	require.NotNil(t, evs[0].Data.DaysLeft)
	assert.Equal(t, 7, *evs[0].Data.DaysLeft)
	assert.Equal(t, "rotateCertificate", evs[0].Data.Action)

	later := now.Add(time.Hour) // Recent lists newest first
	require.NoError(t, b.CheckProviderExpiry(t.Context(), events.CredentialProviderSecret, now, later))
	evs, err = b.Recent(t.Context(), events.Query{Customer: events.ProviderCustomer})
	require.NoError(t, err)
	require.Len(t, evs, 2)
	assert.Equal(t, events.SecretExpired, evs[0].Type)
	assert.Equal(t, events.CredentialProviderSecret, evs[0].Data.Credential)
}

// TestFence: an offboarded customer's events cannot be written again (an
// event of a job racing the offboarding leaves nothing behind) until
// Unfence; customer.offboarded still can.
func TestFence(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			b := newBus(t, db, events.Options{})
			fencetest.Run(t, "events", fencetest.Subject{
				Write: func(ctx context.Context, c string, i int) error {
					return b.Emit(ctx, events.Event{Type: events.SyncSucceeded, Key: fmt.Sprintf("sync/%d", i), Data: events.Data{Customer: c}})
				},
				Erase:   b.Offboard,
				Unfence: b.Unfence,
				Count: func(ctx context.Context, c string) (int, error) {
					evs, err := b.Recent(ctx, events.Query{Customer: c})
					return len(evs), err
				},
			})
			require.NoError(t, b.Offboard(t.Context(), "gone"))
			assert.ErrorIs(t, b.Emit(t.Context(), events.Event{Type: events.SyncFailed, Key: "sync/9", Data: events.Data{Customer: "gone"}}), events.ErrErased)
			require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.CustomerOffboarded, Key: "offboarded/2", Data: events.Data{Customer: "gone"}}),
				"customer.offboarded is kept on purpose")
		})
	}
}
