package events_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// TestOffboardErasesEvents: offboarding erases the customer's events and
// webhook delivery rows except customer.offboarded; other customers keep
// theirs.
func TestOffboardErasesEvents(t *testing.T) {
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
