package voice_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/voice"
)

// The Italian Sales users of a 200-user tenant: 4, 54, 104 and 154; 54
// is a voice user with +39020000054, the others have no number.
const joinersFilter = "UsageLocation -eq 'IT' -and Department -eq 'Sales'"

func joinersProfile(dryRun bool) voice.Profile {
	return voice.Profile{Name: "Milan Sales", Range: "Milan", Licenses: "auto", Filter: joinersFilter,
		Policies: map[string]string{voice.PolicyVoiceRouting: "VRP-IT"}, Joiners: true, Leavers: true, DryRun: dryRun}
}

// lifecycleEvents waits for n events of type t and returns them.
func (e *planEnv) waitEvents(t *testing.T, want events.Type, n int) []events.Event {
	t.Helper()
	var out []events.Event
	deadline := time.After(2 * time.Minute)
	for len(out) < n {
		select {
		case ev := <-e.events:
			if ev.Type == want {
				out = append(out, ev)
			}
		case <-deadline:
			require.FailNowf(t, "timed out", "%d of %d %s events within 2 minutes", len(out), n, want)
		}
	}
	return out
}

// TestJoinersAndLeavers: after a sync, a profile's joiners (its users
// without a number) are planned and applied, in dry-run mode only
// reported; a retried run applies nothing twice; the next sync finds no
// joiner; a disabled and a deleted user holding the range's numbers are
// released (dry run first), their numbers quarantined.
func TestJoinersAndLeavers(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newPlanEnv(t, db, 200, nil)
			log0 := len(e.tenant.VoiceLog())

			_, err := e.svc.PutProfile(ctx, "contoso", joinersProfile(true), "alice")
			require.NoError(t, err)
			rep, err := e.svc.Lifecycle(ctx, "contoso", "job-1")
			require.NoError(t, err)
			require.Len(t, rep.Profiles, 1)
			pl := rep.Profiles[0]
			assert.True(t, pl.DryRun)
			assert.Equal(t, 3, pl.Joiners, "users 4, 104 and 154")
			assert.Empty(t, pl.Operation)
			assert.Empty(t, pl.Leavers, "every holder of a Milan number is enabled")
			assert.Equal(t, log0, len(e.tenant.VoiceLog()), "a dry run changes nothing")
			ev := e.waitEvents(t, events.VoiceJoiners, 1)[0]
			assert.True(t, ev.Data.DryRun)
			assert.Equal(t, "Milan Sales", ev.Data.Profile)
			assert.Equal(t, 3, *ev.Data.Users)

			_, err = e.svc.PutProfile(ctx, "contoso", joinersProfile(false), "alice")
			require.NoError(t, err)
			rep, err = e.svc.Lifecycle(ctx, "contoso", "job-2")
			require.NoError(t, err)
			pl = rep.Profiles[0]
			assert.Equal(t, 3, pl.Joiners)
			require.NotEmpty(t, pl.Operation)
			ev = e.waitEvents(t, events.VoiceJoiners, 1)[0]
			assert.False(t, ev.Data.DryRun)
			assert.Equal(t, pl.Operation, ev.Data.Operation)
			assigned := e.waitApplied(t, pl.Operation, 3)
			users := []string{}
			for _, a := range assigned {
				assert.Equal(t, events.VoiceAssigned, a.Type, "%+v", a.Data)
				users = append(users, a.Data.User)
			}
			assert.ElementsMatch(t, []string{"user00004@contoso.onmicrosoft.com", "user00104@contoso.onmicrosoft.com", "user00154@contoso.onmicrosoft.com"}, users)
			require.Eventually(t, func() bool {
				op, err := e.svc.Operation(ctx, "contoso", pl.Operation)
				return err == nil && op.State.Done()
			}, time.Minute, 10*time.Millisecond)
			for _, u := range users {
				v, err := e.svc.Voice(ctx, "contoso", u)
				require.NoError(t, err)
				assert.True(t, v.Ready, "%s: %+v", u, v.Checks)
			}

			// The same sync's run again (a retried job): its plan is
			// applied, nothing is sent twice.
			logApplied := len(e.tenant.VoiceLog())
			again, err := e.svc.Lifecycle(ctx, "contoso", "job-2")
			require.NoError(t, err)
			assert.Equal(t, pl.Operation, again.Profiles[0].Operation)
			next, err := e.svc.Lifecycle(ctx, "contoso", "job-3")
			require.NoError(t, err)
			assert.Zero(t, next.Profiles[0].Joiners, "no joiner left")
			assert.Empty(t, next.Profiles[0].Operation)
			assert.Equal(t, logApplied, len(e.tenant.VoiceLog()))

			// Leavers: 104 disabled, 154 deleted.
			require.NoError(t, e.tenant.UpdateUser("user00104@contoso.onmicrosoft.com", map[string]any{"accountEnabled": false}))
			id154 := e.tenant.UserID("user00154@contoso.onmicrosoft.com")
			require.NoError(t, e.tenant.DeleteUser(id154))
			_, err = e.svc.PutProfile(ctx, "contoso", joinersProfile(true), "alice")
			require.NoError(t, err)
			dry, err := e.svc.Lifecycle(ctx, "contoso", "job-4")
			require.NoError(t, err)
			assert.ElementsMatch(t, []string{"user00104@contoso.onmicrosoft.com", "user00154@contoso.onmicrosoft.com"}, dry.Profiles[0].Leavers)
			assert.Equal(t, logApplied, len(e.tenant.VoiceLog()), "a dry run releases nothing")
			ev = e.waitEvents(t, events.VoiceLeavers, 1)[0]
			assert.True(t, ev.Data.DryRun)
			assert.Equal(t, 2, *ev.Data.Users)

			_, err = e.svc.PutProfile(ctx, "contoso", joinersProfile(false), "alice")
			require.NoError(t, err)
			rep, err = e.svc.Lifecycle(ctx, "contoso", "job-5")
			require.NoError(t, err)
			assert.ElementsMatch(t, []string{"user00104@contoso.onmicrosoft.com", "user00154@contoso.onmicrosoft.com"}, rep.Profiles[0].Leavers)
			released := e.waitEvents(t, events.VoiceReleased, 2)
			numbers := []string{}
			for _, r := range released {
				numbers = append(numbers, r.Data.Number)
			}
			require.Eventually(t, func() bool {
				page, err := e.svc.Numbers(ctx, "contoso", voice.NumberQuery{Status: "unassigned", Range: "Milan", Limit: 1000})
				if err != nil {
					return false
				}
				q := 0
				for _, n := range page.Numbers {
					for _, want := range numbers {
						if n.Number == want && n.QuarantinedUntil != nil {
							q++
						}
					}
				}
				return q == 2
			}, time.Minute, 20*time.Millisecond, "both numbers unassigned and quarantined: %v", numbers)
			after, err := e.svc.Lifecycle(ctx, "contoso", "job-6")
			require.NoError(t, err)
			assert.Empty(t, after.Profiles[0].Leavers, "released leavers hold no number")
		})
	}
}

// TestAfterSyncOncePerSync: the fleet's AfterSync from two replicas (two
// Services, each with its own River client, on one database) for the
// same sync queues one job: the joiners are applied once.
func TestAfterSyncOncePerSync(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newPlanEnv(t, db, 200, nil)
			run := fleet.SyncRun{ID: "job-42", State: fleet.RunSucceeded}
			_, err := e.svc.PutProfile(ctx, "contoso", joinersProfile(false), "alice")
			require.NoError(t, err)
			other := e.replica(t, db)
			require.NoError(t, e.svc.AfterSync(ctx, "contoso", run))
			require.NoError(t, other.AfterSync(ctx, "contoso", run))
			require.NoError(t, e.svc.AfterSync(ctx, "contoso", run))
			ev := e.waitEvents(t, events.VoiceJoiners, 1)[0]
			e.waitApplied(t, ev.Data.Operation, 3)
			ops, err := e.svc.Operations(ctx, "contoso", voice.OperationQuery{State: voice.StateQueued})
			require.NoError(t, err)
			assert.Empty(t, ops.Operations)
			all, err := e.svc.Operations(ctx, "contoso", voice.OperationQuery{})
			require.NoError(t, err)
			applies := 0
			for _, op := range all.Operations {
				if op.Kind == voice.KindApply {
					applies++
				}
			}
			assert.Equal(t, 1, applies, "one apply for the sync")
			select {
			case ev := <-e.events:
				assert.NotEqual(t, events.VoiceJoiners, ev.Type, "a second joiners run: %+v", ev.Data)
			default:
			}
		})
	}
}

// replica is a second Service on db, with its own pool and River client,
// against the same fake and events.
func (e *planEnv) replica(t *testing.T, db testdb.DB) *voice.Service {
	t.Helper()
	ctx := context.Background()
	store, err := voice.NewStore(ctx, db.Open(t), db.Dialect)
	require.NoError(t, err)
	svc, err := voice.New(voice.Config{Access: e.access, Store: store, HTTPClient: e.provider.HTTPClient, Events: chanEvents(e.events), Logger: discard,
		PollInterval: 20 * time.Millisecond, PollMaxInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	w := river.NewWorkers()
	require.NoError(t, svc.AddWorkers(w))
	require.NoError(t, svc.UseInserter(ctx, testdb.River(t, db, w)))
	return svc
}
