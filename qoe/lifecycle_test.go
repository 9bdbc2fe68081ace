package qoe_test

import (
	"net/http"
	"strings"
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
	if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
		t.Fatal(err)
	}
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
		if err := e.srv.SendLifecycleNotification(ctx, first.ID, m365test.LifecycleReauthorizationRequired); err != nil {
			t.Fatal(err)
		}
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
		if e.srv.MissedNotifications(first.ID) != 4 {
			t.Fatalf("missed = %d", e.srv.MissedNotifications(first.ID))
		}
		e.down.Store(false)
		if _, err := e.rc.Insert(ctx, qoe.RenewAllArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "backfilled", func() bool {
			s, _ := e.svc.Summary(ctx, customer, today(), today())
			return s.Calls == 4
		})
	})

	t.Run("subscriptionRemoved recreates", func(t *testing.T) {
		if err := e.srv.RemoveSubscription(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "recreated", func() bool {
			subs := e.srv.Subscriptions()
			return len(subs) == 1 && subs[0].ID != first.ID
		})
		waitFor(t, "status shows the new one", func() bool {
			st, _ := e.svc.Status(ctx, customer)
			return st.State == qoe.StateActive && st.SubscriptionID != first.ID
		})
		if _, err := e.srv.PlaceCalls(ctx, e.tenant.ID, 1); err != nil {
			t.Fatal(err)
		}
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
	if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
		t.Fatal(err)
	}
	st, _ := e.svc.Status(ctx, customer)
	if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
		t.Fatal(err)
	}
	if st2, _ := e.svc.Status(ctx, customer); !st2.RenewedAt.Equal(*st.RenewedAt) {
		t.Error("renewed a fresh subscription")
	}
	offset = 40 * time.Minute
	e.srv.Advance(offset)
	if st, _ := e.svc.Status(ctx, customer); st.State != qoe.StateExpiring {
		t.Errorf("state after 40 of 60 minutes: %s", st.State)
	}
	if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
		t.Fatal(err)
	}
	st3, _ := e.svc.Status(ctx, customer)
	fakeExp := e.srv.Subscriptions()[0].ExpirationDateTime
	if st3.State != qoe.StateActive || !st3.ExpiresAt.Equal(fakeExp) || fakeExp.Sub(st.ExpiresAt.Add(0)) < 39*time.Minute {
		t.Errorf("after renewal: %+v, fake expiry %v", st3, fakeExp)
	}
	// Removing the QoE settings deletes the subscription.
	empty := ""
	if _, err := e.m.SaveSettings(ctx, customer, m365accessQoE(&empty, &empty)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
		t.Fatal(err)
	}
	if len(e.srv.Subscriptions()) != 1 {
		// The QoE credentials are gone, so Microsoft's copy cannot be
		// deleted with them; it expires by itself and its notifications
		// are refused.
		t.Logf("fake subscriptions: %d", len(e.srv.Subscriptions()))
	}
	if st, _ := e.svc.Status(ctx, customer); st.State != qoe.StateNone {
		t.Errorf("after removing the settings: %s", st.State)
	}
}

func TestOffboardDeletesEverything(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{})
			ctx := t.Context()
			if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
				t.Fatal(err)
			}
			if _, err := e.srv.PlaceCalls(ctx, e.tenant.ID, 10); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "stored", func() bool { return e.svc.Stats().Stored == 10 })
			if err := e.srv.PlaceDirectRoutingCalls(e.tenant.ID, 4); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.PullPSTN(ctx, customer, today()); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.Offboard(ctx, customer); err != nil {
				t.Fatal(err)
			}
			if n := len(e.srv.Subscriptions()); n != 0 {
				t.Errorf("%d subscriptions left at Microsoft", n)
			}
			sum, _ := e.svc.Summary(ctx, customer, today(), today())
			page, _ := e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
			pstn, _ := e.svc.PSTN(ctx, customer, today(), today())
			st, _ := e.svc.Status(ctx, customer)
			if sum.Calls != 0 || len(page.Calls) != 0 || len(pstn.Trunks) != 0 || st.State != qoe.StateNone {
				t.Errorf("after offboarding: %+v %+v %+v %+v", sum, page, pstn, st)
			}
			if err := e.svc.Offboard(ctx, customer); err != nil {
				t.Errorf("offboarding twice: %v", err)
			}
		})
	}
}

func TestPSTNPull(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{})
			ctx := t.Context()
			if err := e.srv.PlaceDirectRoutingCalls(e.tenant.ID, 20); err != nil {
				t.Fatal(err)
			}
			if err := e.srv.AddPstnCalls(e.tenant.ID, m365test.PstnCall{UserPrincipalName: "user00001@contoso.onmicrosoft.com",
				Start: time.Now().Add(-10 * time.Minute), End: time.Now().Add(-7 * time.Minute), CallType: "user_out"}); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.PullPSTN(ctx, customer, today()); err != nil {
				t.Fatal(err)
			}
			rep, err := e.svc.PSTN(ctx, customer, today(), today())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Trunks) != 2 {
				t.Fatalf("trunks %+v", rep.Trunks)
			}
			s1, s2 := rep.Trunks[0], rep.Trunks[1]
			if s1.FQDN != "sbc1.contoso.onmicrosoft.com" || s1.Attempts != 10 || s1.Successes != 10 || s1.Minutes != 11.5 || s1.SIPCodes["200"] != 10 {
				t.Errorf("sbc1 %+v", s1)
			}
			if s2.Attempts != 10 || s2.Successes != 7 || s2.SIPCodes["486"] != 2 || s2.SIPCodes["503"] != 1 || s2.SIPCodes["200"] != 7 {
				t.Errorf("sbc2 %+v", s2)
			}
			if rep.CallingPlan.Calls != 1 || rep.CallingPlan.Minutes != 3 || rep.PulledAt == nil {
				t.Errorf("calling plan %+v", rep)
			}
			// Pulling the day again replaces it.
			if err := e.svc.PullPSTN(ctx, customer, today()); err != nil {
				t.Fatal(err)
			}
			if rep2, _ := e.svc.PSTN(ctx, customer, today(), today()); rep2.Trunks[0].Attempts != 10 {
				t.Errorf("second pull doubled: %+v", rep2.Trunks[0])
			}
		})
	}
}

func TestRetentionPurge(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{cfg: func(c *qoe.Config) { c.Retention = 48 * time.Hour }})
			ctx := t.Context()
			if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
				t.Fatal(err)
			}
			for _, age := range []time.Duration{0, 24 * time.Hour, 72 * time.Hour, 100 * 24 * time.Hour} {
				if _, err := e.srv.AddCallRecord(ctx, e.tenant.ID, m365test.DemoCall(e.tenant, 3, time.Now().Add(-age))); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "stored", func() bool { return e.svc.Stats().Stored == 4 })
			n, err := e.svc.Purge(ctx)
			if err != nil || n != 2 {
				t.Fatalf("purged %d, %v", n, err)
			}
			sum, _ := e.svc.Summary(ctx, customer, today().AddDate(0, 0, -200), today())
			if sum.Calls != 2 || sum.PoorCalls != 2 {
				t.Errorf("after purge: %d calls %d poor", sum.Calls, sum.PoorCalls)
			}
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
				if err := e.svc.Unfence(ctx, customer); err != nil {
					t.Fatal(err)
				}
				if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
					t.Fatal(err)
				}
				if credsGone {
					// The QoE app's secret no longer works (rotated at
					// Microsoft, say): no token, no deletion.
					wrong := "a-rotated-away-qoe-secret-0123456789"
					if _, err := e.m.SaveSettings(ctx, customer, m365accessQoE(nil, &wrong)); err != nil {
						t.Fatal(err)
					}
				}
				items, err := e.svc.OffboardItems(ctx, customer)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]fleet.OffboardItem{}
				for _, it := range items {
					got[it.Item] = it
				}
				left := len(e.srv.Subscriptions())
				sub := got["qoeSubscription"]
				switch {
				case !credsGone && (left != 0 || sub.Result != fleet.OffboardDeleted):
					t.Errorf("with credentials: %d subscriptions left at the fake, item %+v", left, sub)
				case credsGone && (left != 1 || sub.Result != fleet.OffboardNotDone || !strings.Contains(sub.Detail, "expires by itself")):
					t.Errorf("without credentials: %d subscriptions left at the fake, item %+v", left, sub)
				}
				if got["callData"].Result != fleet.OffboardDeleted {
					t.Errorf("callData %+v", got["callData"])
				}
				// Again: nothing more to say about the subscription.
				again, err := e.svc.OffboardItems(ctx, customer)
				if err != nil || len(again) != 1 || again[0].Item != "callData" {
					t.Errorf("second call: %+v, %v", again, err)
				}
			}
		})
	}
}
