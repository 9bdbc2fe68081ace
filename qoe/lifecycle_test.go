package qoe_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
)

func TestLifecycleNotifications(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{})
	ctx := t.Context()
	require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
	first := e.srv.Subscriptions()[0]

	t.Run("a forged subscriptionRemoved is confirmed with Graph and ignored", func(t *testing.T) {
		// Whoever holds the clientState (the customer's admin can read it
		// from Graph) sends subscriptionRemoved for a live subscription.
		before := e.jobs(t, qoe.KindLifecycle)
		status, _ := e.post(t, "/qoe/lifecycle", `{"value":[{"subscriptionId":"`+first.ID+`","clientState":"`+first.ClientState+
			`","lifecycleEvent":"subscriptionRemoved","resource":"communications/callRecords","tenantId":"`+e.tenant.ID+`"}]}`)
		require.Equal(t, http.StatusAccepted, status)
		waitFor(t, "the lifecycle job ran", func() bool {
			res, err := e.rc.JobList(ctx, river.NewJobListParams().Kinds(qoe.KindLifecycle).States(rivertype.JobStateCompleted).First(100))
			return err == nil && len(res.Jobs) >= before+1
		})
		subs := e.srv.Subscriptions()
		require.Len(t, subs, 1, "no second subscription was created")
		assert.Equal(t, first.ID, subs[0].ID)
		st, err := e.svc.Status(ctx, customer)
		require.NoError(t, err)
		assert.Equal(t, first.ID, st.SubscriptionID)
	})

	t.Run("reauthorizationRequired replaces the subscription under a new clientState", func(t *testing.T) {
		require.NoError(t, e.srv.SendLifecycleNotification(ctx, first.ID, m365test.LifecycleReauthorizationRequired))
		waitFor(t, "replaced", func() bool {
			st, _ := e.svc.Status(ctx, customer)
			return st.SubscriptionID != first.ID && st.State == qoe.StateActive
		})
		// The old one is deleted at Microsoft right after the new one is
		// stored.
		waitFor(t, "the old subscription deleted", func() bool { return len(e.srv.Subscriptions()) == 1 })
		subs := e.srv.Subscriptions()
		require.Len(t, subs, 1, "the old subscription is deleted at Microsoft")
		assert.NotEqual(t, first.ClientState, subs[0].ClientState, "the clientState rotated")
		status, _ := e.post(t, "/qoe/notifications", `{"value":[{"subscriptionId":"`+first.ID+`","clientState":"`+first.ClientState+
			`","changeType":"created","resource":"communications/callRecords/1"}]}`)
		assert.Equal(t, http.StatusForbidden, status, "the old subscription's notifications are refused")
		first = subs[0]
	})

	t.Run("dropped notifications backfilled by the renewal pass", func(t *testing.T) {
		// Graph drops undeliverable notifications without a "missed"
		// lifecycle notification for call records: the periodic pass
		// must find them.
		e.down.Store(true)
		_, _ = e.srv.PlaceCalls(ctx, e.tenant.ID, 4)
		waitFor(t, "fake gave up", func() bool { return e.srv.PendingNotifications() == 0 })
		require.Equal(t, 4, e.srv.MissedNotifications(first.ID), "missed notifications")
		e.down.Store(false)
		_, err := e.rc.Insert(ctx, qoe.RenewAllArgs{}, nil)
		require.NoError(t, err)
		waitFor(t, "backfilled", func() bool {
			s, _ := e.svc.Summary(ctx, customer, today(), today())
			return s.Calls == 4
		})
	})

	t.Run("subscriptionRemoved recreates", func(t *testing.T) {
		require.NoError(t, e.srv.RemoveSubscription(ctx, first.ID))
		waitFor(t, "recreated", func() bool {
			subs := e.srv.Subscriptions()
			return len(subs) == 1 && subs[0].ID != first.ID
		})
		waitFor(t, "status shows the new one", func() bool {
			st, _ := e.svc.Status(ctx, customer)
			return st.State == qoe.StateActive && st.SubscriptionID != first.ID
		})
		_, err := e.srv.PlaceCalls(ctx, e.tenant.ID, 1)
		require.NoError(t, err)
		waitFor(t, "new subscription delivers", func() bool {
			s, _ := e.svc.Summary(ctx, customer, today(), today())
			return s.Calls == 5
		})
	})
}

func TestRenewalAndRemoval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{cfg: func(c *qoe.Config) {
		c.SubscriptionLifetime = time.Hour
		c.RenewBefore = 30 * time.Minute
	}})
	ctx := t.Context()
	var offset time.Duration
	// The Service and the fake share a clock that tests move.
	e.cfg.Now = func() time.Time { return time.Now().Add(offset) }
	e.start(t, true)
	require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
	st, _ := e.svc.Status(ctx, customer)
	require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
	st2, _ := e.svc.Status(ctx, customer)
	assert.True(t, st2.RenewedAt.Equal(*st.RenewedAt), "renewed a fresh subscription")
	offset = 40 * time.Minute
	e.srv.Advance(offset)
	expiring, _ := e.svc.Status(ctx, customer)
	assert.Equal(t, qoe.StateExpiring, expiring.State, "state after 40 of 60 minutes")
	require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
	st3, _ := e.svc.Status(ctx, customer)
	fakeExp := e.srv.Subscriptions()[0].ExpirationDateTime
	assert.Equal(t, qoe.StateActive, st3.State, "after renewal")
	assert.True(t, st3.ExpiresAt.Equal(fakeExp), "after renewal: expires %v, fake expiry %v", st3.ExpiresAt, fakeExp)
	assert.GreaterOrEqual(t, fakeExp.Sub(*st.ExpiresAt), 39*time.Minute, "the renewal moved the expiry")
	// Removing the QoE settings deletes the subscription.
	empty := ""
	_, err := e.m.SaveSettings(ctx, customer, m365accessQoE(&empty, &empty))
	require.NoError(t, err)
	require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
	if len(e.srv.Subscriptions()) != 1 {
		// The QoE credentials are gone, so Microsoft's copy cannot be
		// deleted with them; it expires by itself and its notifications
		// are refused.
		t.Logf("fake subscriptions: %d", len(e.srv.Subscriptions()))
	}
	removed, _ := e.svc.Status(ctx, customer)
	assert.Equal(t, qoe.StateNone, removed.State, "after removing the settings")
}

func TestOffboardDeletesEverything(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{})
			ctx := t.Context()
			require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
			_, err := e.srv.PlaceCalls(ctx, e.tenant.ID, 10)
			require.NoError(t, err)
			waitFor(t, "stored", func() bool { return e.svc.Stats().Stored == 10 })
			require.NoError(t, e.srv.PlaceDirectRoutingCalls(e.tenant.ID, 4))
			require.NoError(t, e.svc.PullPSTN(ctx, customer, today()))
			require.NoError(t, e.svc.Offboard(ctx, customer))
			assert.Empty(t, e.srv.Subscriptions(), "subscriptions left at Microsoft")
			sum, _ := e.svc.Summary(ctx, customer, today(), today())
			page, _ := e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
			pstn, _ := e.svc.PSTN(ctx, customer, today(), today())
			st, _ := e.svc.Status(ctx, customer)
			assert.Zero(t, sum.Calls, "after offboarding: %+v", sum)
			assert.Empty(t, page.Calls, "after offboarding")
			assert.Empty(t, pstn.Trunks, "after offboarding")
			assert.Equal(t, qoe.StateNone, st.State, "after offboarding")
			assert.NoError(t, e.svc.Offboard(ctx, customer), "offboarding twice")
		})
	}
}

func TestPSTNPull(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{})
			ctx := t.Context()
			require.NoError(t, e.srv.PlaceDirectRoutingCalls(e.tenant.ID, 20))
			require.NoError(t, e.srv.AddPstnCalls(e.tenant.ID, m365test.PstnCall{UserPrincipalName: "user00001@contoso.onmicrosoft.com",
				Start: time.Now().Add(-10 * time.Minute), End: time.Now().Add(-7 * time.Minute), CallType: "user_out"}))
			require.NoError(t, e.svc.PullPSTN(ctx, customer, today()))
			rep, err := e.svc.PSTN(ctx, customer, today(), today())
			require.NoError(t, err)
			require.Len(t, rep.Trunks, 2, "trunks %+v", rep.Trunks)
			s1, s2 := rep.Trunks[0], rep.Trunks[1]
			assert.Equal(t, "sbc1.contoso.onmicrosoft.com", s1.FQDN)
			assert.Equal(t, 10, s1.Attempts, "sbc1 %+v", s1)
			assert.Equal(t, 10, s1.Successes, "sbc1 %+v", s1)
			assert.Equal(t, 11.5, s1.Minutes, "sbc1 %+v", s1)
			assert.Equal(t, 10, s1.SIPCodes["200"], "sbc1 %+v", s1)
			assert.Equal(t, 10, s2.Attempts, "sbc2 %+v", s2)
			assert.Equal(t, 7, s2.Successes, "sbc2 %+v", s2)
			assert.Equal(t, 2, s2.SIPCodes["486"], "sbc2 %+v", s2)
			assert.Equal(t, 1, s2.SIPCodes["503"], "sbc2 %+v", s2)
			assert.Equal(t, 7, s2.SIPCodes["200"], "sbc2 %+v", s2)
			assert.Equal(t, 1, rep.CallingPlan.Calls, "calling plan %+v", rep)
			assert.Equal(t, 3.0, rep.CallingPlan.Minutes, "calling plan %+v", rep)
			assert.NotNil(t, rep.PulledAt, "calling plan %+v", rep)
			// Pulling the day again replaces it.
			require.NoError(t, e.svc.PullPSTN(ctx, customer, today()))
			rep2, _ := e.svc.PSTN(ctx, customer, today(), today())
			require.NotEmpty(t, rep2.Trunks)
			assert.Equal(t, 10, rep2.Trunks[0].Attempts, "second pull doubled: %+v", rep2.Trunks[0])
		})
	}
}

func TestRetentionPurge(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{cfg: func(c *qoe.Config) { c.Retention = 48 * time.Hour }})
			ctx := t.Context()
			require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
			for _, age := range []time.Duration{0, 24 * time.Hour, 72 * time.Hour, 100 * 24 * time.Hour} {
				_, err := e.srv.AddCallRecord(ctx, e.tenant.ID, m365test.DemoCall(e.tenant, 3, time.Now().Add(-age)))
				require.NoError(t, err)
			}
			waitFor(t, "stored", func() bool { return e.svc.Stats().Stored == 4 })
			n, err := e.svc.Purge(ctx)
			require.NoError(t, err)
			require.Equal(t, int64(2), n, "purged")
			sum, _ := e.svc.Summary(ctx, customer, today().AddDate(0, 0, -200), today())
			assert.Equal(t, 2, sum.Calls, "after purge")
			assert.Equal(t, 2, sum.PoorCalls, "after purge")
		})
	}
}

// TestOffboardItemsSayWhatMicrosoftDid: the offboarding report says the
// subscription was deleted at Microsoft only when the fake no longer has
// it; when the QoE credentials are already gone it says the deletion was
// not done, when the subscription expires, and keeps no secret.
func TestOffboardItemsSayWhatMicrosoftDid(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, credsGone := range []bool{false, true} {
				e := newEnv(t, b, envOptions{})
				ctx := t.Context()
				// The second round uses the customer the first offboarded:
				// created again.
				require.NoError(t, e.svc.Unfence(ctx, customer))
				require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
				if credsGone {
					// The QoE app's secret no longer works (rotated at
					// Microsoft, say): no token, no deletion.
					wrong := "a-rotated-away-qoe-secret-0123456789"
					_, err := e.m.SaveSettings(ctx, customer, m365accessQoE(nil, &wrong))
					require.NoError(t, err)
				}
				items, err := e.svc.OffboardItems(ctx, customer)
				require.NoError(t, err)
				got := map[string]fleet.OffboardItem{}
				for _, it := range items {
					got[it.Item] = it
				}
				left := len(e.srv.Subscriptions())
				sub := got["qoeSubscription"]
				if credsGone {
					assert.Equal(t, 1, left, "without credentials: subscriptions left at the fake")
					assert.Equal(t, fleet.OffboardNotDone, sub.Result, "without credentials: %+v", sub)
					assert.Contains(t, sub.Detail, "expires by itself")
				} else {
					assert.Zero(t, left, "with credentials: subscriptions left at the fake")
					assert.Equal(t, fleet.OffboardDeleted, sub.Result, "with credentials: %+v", sub)
				}
				assert.Equal(t, fleet.OffboardDeleted, got["callData"].Result, "callData %+v", got["callData"])
				// Again: nothing more to say about the subscription.
				again, err := e.svc.OffboardItems(ctx, customer)
				require.NoError(t, err)
				if assert.Len(t, again, 1, "second call: %+v", again) {
					assert.Equal(t, "callData", again[0].Item, "second call: %+v", again)
				}
			}
		})
	}
}
