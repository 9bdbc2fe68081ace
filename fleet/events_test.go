package fleet_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

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
	db := testdb.SQLite(t)
	bus, err := events.New(context.Background(), events.Options{DB: db.DB, Dialect: db.Dialect, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"ok", "bad"} {
		if err := f.Enroll(context.Background(), c, c); err != nil {
			t.Fatal(err)
		}
	}
	startFleetNow(t, f)
	if _, err := f.SyncNow(context.Background(), "ok"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sync.succeeded", func() bool { return len(of(events.SyncSucceeded, "ok")) == 1 })
	e := of(events.SyncSucceeded, "ok")[0]
	if e.Data.Added == nil || *e.Data.Added != 25 || e.Data.Users == nil || e.Data.DurationMS == nil {
		t.Errorf("sync.succeeded data = %+v", e.Data)
	}
	if _, err := f.SyncNow(context.Background(), "bad"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sync.failed", func() bool { return len(of(events.SyncFailed, "bad")) == 1 })
	if e := of(events.SyncFailed, "bad")[0]; e.Data.Action != string(m365access.ActionGrantConsent) || e.Data.Added != nil {
		t.Errorf("sync.failed data = %+v", e.Data)
	}
	before, err := f.Customer(context.Background(), "ok")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.CheckNow(context.Background(), "ok"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "secret.expiring", func() bool { return len(of(events.SecretExpiring, "ok")) == 1 })
	// The check records itself after it emitted its events: once it
	// counts, any second warning would be here (no waiting for one that
	// should not come).
	eventually(t, "the check's end", func() bool {
		c, err := f.Customer(context.Background(), "ok")
		return err == nil && c.Checks > before.Checks
	})
	if evs := of(events.SecretExpiring, "ok"); len(evs) != 1 || *evs[0].Data.DaysLeft != 7 || evs[0].Data.Credential != events.CredentialAppSecret {
		t.Errorf("secret.expiring = %+v, want one 7-day warning", evs)
	}
}
