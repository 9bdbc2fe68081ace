package fleet_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	t.Parallel()
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
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
			_, ok, err := f.OffboardReport(ctx, "reg")
			require.NoError(t, err, "report before offboarding")
			require.False(t, ok, "report before offboarding")
			for _, c := range []string{"tok", "reg"} {
				require.NoError(t, f.Enroll(ctx, c, ""))
				_, err := f.Offboard(ctx, c)
				require.NoError(t, err)
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
					assert.Equal(t, want, m[item].Result, "%s: %s (%+v)", c, item, reports[c])
				}
			}
			it := reg["appCredential"]
			assert.Equal(t, fleet.OffboardActionRequired, it.Result, "reg: appCredential %+v", it)
			assert.Contains(t, it.Action, "a1a1a1a1-0000-4000-8000-000000000002", "reg: appCredential")
			assert.Contains(t, it.Action, "Certificates & secrets", "reg: appCredential")
			assert.Contains(t, it.Action, "2027-03-01", "reg: appCredential")
			it = reg["qoeAppCredential"]
			assert.Equal(t, fleet.OffboardActionRequired, it.Result, "reg: qoeAppCredential %+v", it)
			assert.Contains(t, it.Action, "b2b2b2b2-0000-4000-8000-000000000003", "reg: qoeAppCredential")
			assert.NotContains(t, reg, "enterpriseApplication", "reg: an app-registration customer has no provider enterprise application to remove")
			it = tok["enterpriseApplication"]
			assert.Equal(t, fleet.OffboardActionRequired, it.Result, "tok: enterpriseApplication %+v", it)
			assert.Contains(t, it.Action, "c3c3c3c3-0000-4000-8000-000000000004", "tok: enterpriseApplication")
			assert.Contains(t, it.Action, "Enterprise applications", "tok: enterpriseApplication")
			it = tok["refreshToken"]
			assert.Equal(t, fleet.OffboardActionRequired, it.Result, "tok: refreshToken %+v", it)
			assert.Contains(t, it.Action, "svc@tok.onmicrosoft.com", "tok: refreshToken")
			for c, r := range reports {
				for _, it := range r.Items {
					assert.NotContains(t, it.Detail+it.Action, "secret-value", "%s: report holds a secret: %+v", c, it)
				}
			}
		})
	}
}
