package fleet_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync"
)

// reportingHook is an OffboardReporter that fails its first call, as a
// Microsoft call that fails once would. The offboarding jobs of several
// customers call it at once.
type reportingHook struct{ calls atomic.Int32 }

func (h *reportingHook) Offboard(context.Context, string) error {
	return errors.New("Offboard must not be called")
}

func (h *reportingHook) OffboardItems(_ context.Context, customer string) ([]fleet.OffboardItem, error) {
	if h.calls.Add(1) == 1 {
		return nil, errors.New("temporarily unavailable")
	}
	return []fleet.OffboardItem{{Item: "qoeSubscription", Result: fleet.OffboardDeleted, Detail: "deleted at Microsoft for " + customer}}, nil
}

// TestOffboardReport: offboarding records what it deleted and, from the
// settings as they were, the exact steps left to the customer's admin at
// Microsoft (per auth mode, naming the app IDs); a hook that reports adds
// its items, and a retried job keeps the steps though the settings are
// gone by then.
func TestOffboardReport(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			access := newFakeAccess("tok", "reg")
			exp := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
			access.settings["tok"] = m365access.Settings{Customer: "tok", Mode: m365access.ModeToken, Tenant: "tok.onmicrosoft.com", ServiceAccount: "svc@tok.onmicrosoft.com"}
			access.settings["reg"] = m365access.Settings{Customer: "reg", Mode: m365access.ModeAppRegistration, TenantID: "7f0e0000-0000-4000-8000-000000000001",
				AppClientID: "a1a1a1a1-0000-4000-8000-000000000002", AppSecretSet: true, AppSecretExpiresAt: &exp, QoEAppID: "b2b2b2b2-0000-4000-8000-000000000003"}
			hook := &reportingHook{}
			sink := &purgingSink{MemorySink: &usersync.MemorySink{}, purged: map[string]bool{}}
			cfg := fleet.Config{Access: access, Store: newStore(t), PlanInterval: time.Hour, ProviderAppID: "c3c3c3c3-0000-4000-8000-000000000004",
				Syncer: &usersync.Syncer{Source: &fakeSource{n: 5}, Sink: sink}, Offboard: []fleet.OffboardHook{hook}}
			db(&cfg)
			f := startFleet(t, cfg)
			ctx := context.Background()
			if _, ok, err := f.OffboardReport(ctx, "reg"); err != nil || ok {
				t.Fatalf("report before offboarding: %v, %v", ok, err)
			}
			for _, c := range []string{"tok", "reg"} {
				if err := f.Enroll(ctx, c, ""); err != nil {
					t.Fatal(err)
				}
				if _, err := f.Offboard(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			// The hook fails once, so one of the two jobs retries (after
			// River's backoff of a second or so).
			reports := map[string]fleet.OffboardReport{}
			eventually(t, "both offboarded", func() bool {
				for _, c := range []string{"tok", "reg"} {
					r, ok, err := f.OffboardReport(ctx, c)
					if err != nil || !ok || r.FinishedAt == nil {
						return false
					}
					reports[c] = r
				}
				return true
			})
			items := func(r fleet.OffboardReport) map[string]fleet.OffboardItem {
				m := map[string]fleet.OffboardItem{}
				for _, it := range r.Items {
					m[it.Item] = it
				}
				return m
			}
			reg, tok := items(reports["reg"]), items(reports["tok"])
			for c, m := range map[string]map[string]fleet.OffboardItem{"reg": reg, "tok": tok} {
				for item, want := range map[string]string{"secrets": fleet.OffboardDeleted, "syncedUsers": fleet.OffboardDeleted,
					"qoeSubscription": fleet.OffboardDeleted, "fleetRecords": fleet.OffboardDeleted} {
					if got := m[item].Result; got != want {
						t.Errorf("%s: %s %q, want %q (%+v)", c, item, got, want, reports[c])
					}
				}
			}
			if it := reg["appCredential"]; it.Result != fleet.OffboardActionRequired || !strings.Contains(it.Action, "a1a1a1a1-0000-4000-8000-000000000002") ||
				!strings.Contains(it.Action, "Certificates & secrets") || !strings.Contains(it.Action, "2027-03-01") {
				t.Errorf("reg: appCredential %+v", it)
			}
			if it := reg["qoeAppCredential"]; it.Result != fleet.OffboardActionRequired || !strings.Contains(it.Action, "b2b2b2b2-0000-4000-8000-000000000003") {
				t.Errorf("reg: qoeAppCredential %+v", it)
			}
			if _, ok := reg["enterpriseApplication"]; ok {
				t.Errorf("reg: an app-registration customer has no provider enterprise application to remove: %+v", reg)
			}
			if it := tok["enterpriseApplication"]; it.Result != fleet.OffboardActionRequired || !strings.Contains(it.Action, "c3c3c3c3-0000-4000-8000-000000000004") ||
				!strings.Contains(it.Action, "Enterprise applications") {
				t.Errorf("tok: enterpriseApplication %+v", it)
			}
			if it := tok["refreshToken"]; it.Result != fleet.OffboardActionRequired || !strings.Contains(it.Action, "svc@tok.onmicrosoft.com") {
				t.Errorf("tok: refreshToken %+v", it)
			}
			for c, r := range reports {
				for _, it := range r.Items {
					if strings.Contains(it.Detail+it.Action, "secret-value") {
						t.Errorf("%s: report holds a secret: %+v", c, it)
					}
				}
			}
		})
	}
}
