package fleet_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync"
)

// expiringAccess reports an app secret expiring in five days.
type expiringAccess struct {
	*fakeAccess
	expires time.Time
}

func (a expiringAccess) Status(_ context.Context, c string) (m365access.Status, error) {
	return m365access.Status{Customer: c, State: m365access.StateConnected, Mode: m365access.ModeAppRegistration, SecretExpiresAt: &a.expires}, nil
}

// TestSyncAndExpiryEvents: a finished sync emits sync.succeeded with its
// counts, a failed one sync.failed with the action, and a health check the
// nearest secret.expiring warning (events' own tests check that a warning
// is emitted once).
func TestSyncAndExpiryEvents(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	bus, err := events.New(context.Background(), events.Options{DB: db.DB, Dialect: db.Dialect, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	var mu sync.Mutex
	var got []events.Event
	bus.Subscribe(func(_ context.Context, e events.Event) { mu.Lock(); got = append(got, e); mu.Unlock() })
	of := func(typ events.Type, customer string) []events.Event {
		mu.Lock()
		defer mu.Unlock()
		var out []events.Event
		for _, e := range got {
			if e.Type == typ && e.Data.Customer == customer {
				out = append(out, e)
			}
		}
		return out
	}
	access := expiringAccess{newFakeAccess("ok", "bad"), time.Now().Add(5 * 24 * time.Hour)}
	delete(access.settings, "bad") // its sync fails: no settings, no filter
	src := &fakeSource{n: 25, gate: func(_ context.Context, customer string) error {
		if customer == "bad" {
			return &m365access.Error{Op: "read users", Customer: customer, Action: m365access.ActionGrantConsent, HTTPStatus: 403}
		}
		return nil
	}}
	cfg := fleet.Config{Access: access, Store: newStore(t), PlanInterval: time.Hour, Events: bus,
		Syncer: &usersync.Syncer{Source: src, Sink: &usersync.MemorySink{}}}
	backends(t)["sqlite"](&cfg)
	f, err := fleet.New(context.Background(), cfg)
	require.NoError(t, err)
	for _, c := range []string{"ok", "bad"} {
		require.NoError(t, f.Enroll(context.Background(), c, c))
	}
	startFleetNow(t, f)
	_, err = f.SyncNow(context.Background(), "ok")
	require.NoError(t, err)
	eventually(t, "sync.succeeded", func() bool { return len(of(events.SyncSucceeded, "ok")) == 1 })
	e := of(events.SyncSucceeded, "ok")[0]
	if assert.NotNil(t, e.Data.Added, "sync.succeeded added") {
		assert.Equal(t, 25, *e.Data.Added, "sync.succeeded added")
	}
	assert.NotNil(t, e.Data.Users, "sync.succeeded users")
	assert.NotNil(t, e.Data.DurationMS, "sync.succeeded duration")
	_, err = f.SyncNow(context.Background(), "bad")
	require.NoError(t, err)
	eventually(t, "sync.failed", func() bool { return len(of(events.SyncFailed, "bad")) == 1 })
	failed := of(events.SyncFailed, "bad")[0]
	assert.Equal(t, string(m365access.ActionGrantConsent), failed.Data.Action, "sync.failed action")
	assert.Nil(t, failed.Data.Added, "sync.failed added")
	before, err := f.Customer(context.Background(), "ok")
	require.NoError(t, err)
	_, err = f.CheckNow(context.Background(), "ok")
	require.NoError(t, err)
	eventually(t, "secret.expiring", func() bool { return len(of(events.SecretExpiring, "ok")) == 1 })
	// The check records itself after it emitted its events: once it
	// counts, any second warning would be here (no waiting for one that
	// should not come).
	eventually(t, "the check's end", func() bool {
		c, err := f.Customer(context.Background(), "ok")
		return err == nil && c.Checks > before.Checks
	})
	evs := of(events.SecretExpiring, "ok")
	require.Len(t, evs, 1, "secret.expiring: want one warning")
	if assert.NotNil(t, evs[0].Data.DaysLeft, "secret.expiring days left") {
		assert.Equal(t, 7, *evs[0].Data.DaysLeft, "secret.expiring days left")
	}
	assert.Equal(t, events.CredentialAppSecret, evs[0].Data.Credential, "secret.expiring credential")
}
