package voice_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
	"github.com/tenantgate/tenantgate/voice"
)

// planEnv is a Service on db against a fake tenant "contoso" of n users,
// its jobs on River.
type planEnv struct {
	svc      *voice.Service
	fake     *m365test.Server
	tenant   *m365test.Tenant
	events   chan events.Event
	access   *m365access.Manager
	provider *m365test.Provider
}

func newPlanEnv(t *testing.T, db testdb.DB, n int, mod func(*voice.Config)) *planEnv {
	return newPlanEnvN(t, db, n, func(o *m365test.Options) { o.NumberOperationDelay = 20 * time.Millisecond }, mod)
}

func newPlanEnvN(t testing.TB, db testdb.DB, n int, fakeOpts func(*m365test.Options), mod func(*voice.Config)) *planEnv {
	t.Helper()
	ctx := context.Background()
	var o m365test.Options
	if fakeOpts != nil {
		fakeOpts(&o)
	}
	fake := m365test.NewServer(&o)
	t.Cleanup(fake.Close)
	provider, err := fake.AddProvider(m365test.ProviderOptions{PublicBaseURL: "https://portal.example/m365"})
	require.NoError(t, err)
	key, _ := tokenstore.GenerateKey("k1")
	keyring, _ := tokenstore.NewKeyring(key)
	m, err := m365access.New(m365access.Config{Store: tokenstore.New(memstore.New(), keyring), HTTPClient: provider.HTTPClient, Logger: discard,
		Provider: m365access.ProviderConfig{ClientID: provider.ClientID, ClientSecret: provider.ClientSecret, PublicBaseURL: provider.PublicBaseURL}})
	require.NoError(t, err)
	store, err := voice.NewStore(ctx, db.DB, db.Dialect)
	require.NoError(t, err)
	evs := make(chan events.Event, 10_000)
	cfg := voice.Config{Access: m, Store: store, HTTPClient: provider.HTTPClient, Events: chanEvents(evs), Logger: discard,
		PollInterval: 20 * time.Millisecond, PollMaxInterval: 50 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := voice.New(cfg)
	require.NoError(t, err)
	w := river.NewWorkers()
	require.NoError(t, svc.AddWorkers(w))
	require.NoError(t, svc.UseInserter(ctx, testdb.River(t, db, w)))
	e := &planEnv{svc: svc, fake: fake, events: evs, access: m, provider: provider}
	e.tenant = e.addCustomer(t, "contoso", n)
	return e
}

// addCustomer adds a tenant of n users as customer (app registration),
// reads its inventory and gives it the Milan range.
func (e *planEnv) addCustomer(t testing.TB, customer string, n int) *m365test.Tenant {
	t.Helper()
	ctx := context.Background()
	tenant, err := e.fake.AddTenant(m365test.TenantOptions{Domains: []string{customer + ".onmicrosoft.com"}, Users: n})
	require.NoError(t, err)
	app, err := e.fake.AddApp(m365test.AppOptions{HomeTenant: tenant.ID, Secrets: []m365test.Secret{{Value: "customer-app-secret-0123456789"}},
		ApplicationPermissions: append([]string{"User.Read.All", m365access.TeamsPermission}, m365access.VoicePermissions...)})
	require.NoError(t, err)
	require.NoError(t, e.fake.GrantAdminConsent(tenant.ID, app.ClientID))
	domain, mode, appID, secret := tenant.Domain(), m365access.ModeAppRegistration, app.ClientID, "customer-app-secret-0123456789"
	_, err = e.access.SaveSettings(ctx, customer, m365access.SettingsUpdate{Tenant: &domain, Mode: &mode, AppClientID: &appID, AppClientSecret: &secret})
	require.NoError(t, err)
	_, err = e.svc.Refresh(ctx, customer)
	require.NoError(t, err)
	_, err = e.svc.PutRanges(ctx, customer, []voice.Range{
		{Name: "Milan", From: "+39020000000", To: "+39029999999", Type: voice.DirectRouting, QuarantineDays: 30}})
	require.NoError(t, err)
	return tenant
}

type chanEvents chan events.Event

func (c chanEvents) Emit(_ context.Context, e events.Event) error { c <- e; return nil }

// waitApplied waits for n per-user events of operation op.
func (e *planEnv) waitApplied(t *testing.T, op string, n int) []events.Event {
	t.Helper()
	var out []events.Event
	deadline := time.After(2 * time.Minute)
	for len(out) < n {
		select {
		case ev := <-e.events:
			if ev.Data.Operation == op {
				out = append(out, ev)
			}
		case <-deadline:
			require.FailNowf(t, "timed out", "%d of %d users' events within 2 minutes", len(out), n)
		}
	}
	return out
}

// itSales are the demo rule's users matching the done-when's filter:
// Italy (i%10 == 4), Sales ((i/10)%5 == 0), not voice-enabled (i%3 != 0).
func itSales(n int) []string {
	var out []string
	for i := range n {
		if i%10 == 4 && (i/10)%5 == 0 && i%3 != 0 {
			out = append(out, fmt.Sprintf("user%05d@contoso.onmicrosoft.com", i))
		}
	}
	return out
}

const itSalesFilter = "UsageLocation -eq 'IT' -and Department -eq 'Sales' -and EnterpriseVoiceEnabled -eq $false"

// TestPlanAndApplyProfile walks the done-when: a profile over the
// filter plans exactly the matching users and changes nothing; applying
// makes each a ready voice user with its own number from the range and
// the profile's policies; applying again and planning again change
// nothing.
func TestPlanAndApplyProfile(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newPlanEnv(t, db, 1000, nil)
			want := itSales(1000)
			require.Len(t, want, 13)

			_, err := e.svc.PutProfile(ctx, "contoso", voice.Profile{Name: "Milan Sales", Filter: "UsageLocation -eq 'XX' -and", Range: "Milan"}, "alice")
			ve, ok := voice.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, "/filter", ve.Field)
			_, err = e.svc.PutProfile(ctx, "contoso", voice.Profile{Name: "Milan Sales", Range: "Rome"}, "alice")
			ve, ok = voice.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, voice.CodeUnknownRange, ve.Code)

			prof, err := e.svc.PutProfile(ctx, "contoso", voice.Profile{Name: "Milan Sales", Range: "milan", Licenses: "auto", Filter: itSalesFilter,
				Policies: map[string]string{voice.PolicyVoiceRouting: "VRP-IT", voice.PolicyDialPlan: "DP-IT", voice.PolicyCalling: "AllowCalling"}}, "alice")
			require.NoError(t, err)
			assert.Equal(t, "Milan", prof.Range)
			assert.Equal(t, voice.DirectRouting, prof.NumberType)
			assert.False(t, prof.Joiners, "joiners are off by default")
			got, err := e.svc.Profile(ctx, "contoso", "Milan Sales")
			require.NoError(t, err)
			assert.Equal(t, itSalesFilter, got.Filter)

			logBefore := len(e.tenant.VoiceLog())
			plan, err := e.svc.PlanProfile(ctx, "contoso", voice.PlanRequest{Profile: "Milan Sales"}, "alice")
			require.NoError(t, err)
			assert.Equal(t, len(want), plan.Users)
			assert.Equal(t, len(want), plan.Changes)
			assert.Zero(t, plan.Errors)
			assert.Equal(t, logBefore, len(e.tenant.VoiceLog()), "a plan changes nothing")
			assert.WithinDuration(t, time.Now(), plan.Read, time.Minute)
			var users, numbers []string
			for _, it := range plan.Items {
				users = append(users, it.User)
				numbers = append(numbers, it.Target.Number)
				assert.Equal(t, voice.PlanChange, it.Status)
				assert.Equal(t, "Milan", it.Target.Range)
				assert.Equal(t, []string{"MCOEV"}, it.Target.Licenses)
				steps := map[string]voice.StepStatus{}
				for _, st := range it.Steps {
					steps[st.Step] = st.Status
				}
				assert.Equal(t, map[string]voice.StepStatus{"license": voice.StepPending, "number": voice.StepPending,
					"policy:OnlineVoiceRoutingPolicy": voice.StepPending, "policy:TenantDialPlan": voice.StepPending,
					"policy:TeamsCallingPolicy": voice.StepPending}, steps)
				require.NotNil(t, it.Current)
				assert.False(t, it.Current.EnterpriseVoiceEnabled)
			}
			assert.ElementsMatch(t, want, users)
			assert.Len(t, slices.Compact(slices.Sorted(slices.Values(numbers))), len(want), "a number a user")
			assert.Equal(t, []voice.LicenseNeed{{SKU: "MCOEV", Needed: len(want), Free: 1000}}, plan.Licenses)

			op, err := e.svc.ApplyPlan(ctx, "contoso", plan.ID, "alice")
			require.NoError(t, err)
			assert.Equal(t, voice.KindApply, op.Kind)
			assert.Equal(t, len(want), op.Total)
			evs := e.waitApplied(t, op.ID, len(want))
			for _, ev := range evs {
				assert.Equal(t, events.VoiceAssigned, ev.Type, "%+v", ev.Data)
			}
			require.Eventually(t, func() bool {
				op, err = e.svc.Operation(ctx, "contoso", op.ID)
				return err == nil && op.State.Done()
			}, time.Minute, 20*time.Millisecond)
			assert.Equal(t, voice.StateSucceeded, op.State)
			assert.Equal(t, len(want), op.Succeeded)
			assert.InDelta(t, 1.0, op.Progress(), 0.001)
			given := map[string]string{}
			for _, it := range op.Items {
				for _, st := range it.Steps {
					if st.Step == "number" {
						given[st.Number] = it.User
					}
				}
			}
			assert.Len(t, given, len(want), "a number a user, none twice")
			for _, u := range want[:4] {
				v, err := e.svc.Voice(ctx, "contoso", u)
				require.NoError(t, err)
				assert.True(t, v.Ready, "%s: %+v", u, v.Checks)
				assert.Equal(t, "VRP-IT", *v.Policies[voice.PolicyVoiceRouting])
				assert.Equal(t, "AllowCalling", *v.Policies[voice.PolicyCalling])
				require.Len(t, v.Numbers, 1)
				assert.True(t, strings.HasPrefix(v.Numbers[0].Number, "+3902"))
			}
			// The fake's log: one license, one number, each user once;
			// policies batched (3 pairs a user, 20 pairs a call at most).
			perUser := map[string]int{}
			assigns := 0
			for _, ev := range e.tenant.VoiceLog()[logBefore:] {
				switch ev.Kind {
				case "assignLicense", "assignNumber":
					perUser[ev.Kind+" "+ev.UserID]++
				case "assignPolicy":
					assigns++
				}
			}
			for k, n := range perUser {
				assert.Equal(t, 1, n, k)
			}
			assert.Len(t, perUser, 2*len(want))
			assert.Equal(t, 3*len(want), assigns)

			// Applying again changes nothing; planning again finds nothing.
			logAfter := len(e.tenant.VoiceLog())
			again, err := e.svc.ApplyPlan(ctx, "contoso", plan.ID, "alice")
			require.NoError(t, err)
			assert.Equal(t, op.ID, again.ID)
			assert.Equal(t, logAfter, len(e.tenant.VoiceLog()))
			plan2, err := e.svc.PlanProfile(ctx, "contoso", voice.PlanRequest{Profile: "Milan Sales"}, "alice")
			require.NoError(t, err)
			assert.Zero(t, plan2.Changes, "%+v", plan2.Items)
			assert.Zero(t, plan2.Users, "the filter no longer matches: they are voice-enabled now")
			plan3, err := e.svc.PlanProfile(ctx, "contoso", voice.PlanRequest{Profile: "Milan Sales",
				Filter: "UsageLocation -eq 'IT' -and Department -eq 'Sales'"}, "alice")
			require.NoError(t, err)
			assert.Zero(t, plan3.Changes)
			assert.Zero(t, plan3.Errors, "%+v", plan3.Items)
		})
	}
}

// TestPlanCSVRows plans a CSV whose bad rows each carry their error.
func TestPlanCSVRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t, testdb.SQLite(t), 200, nil)
	csv := "user,number,range,licenses,OnlineVoiceRoutingPolicy,TenantDialPlan\n" +
		"user00004@contoso.onmicrosoft.com,next,Milan,auto,VRP-IT,DP-IT\n" + // 2: fine
		"nobody@contoso.onmicrosoft.com,next,Milan,auto,VRP-IT,\n" + // 3: unknown user
		"user00014@contoso.onmicrosoft.com,+39 02 abc,,auto,,\n" + // 4: malformed number
		"user00034@contoso.onmicrosoft.com,+39020000024,,auto,,\n" + // 5: taken by user 24
		"user00044@contoso.onmicrosoft.com,next,Milan,auto,VRP-NOPE,\n" + // 6: unknown policy
		"user00064@contoso.onmicrosoft.com,next,,auto,,\n" + // 7: next without a range
		"user00004@contoso.onmicrosoft.com,next,Milan,auto,,\n" + // 8: the same user again
		"user00024@contoso.onmicrosoft.com,+39020000024,,,VRP-IT,DP-IT\n" + // 9: already so
		"user00074@contoso.onmicrosoft.com,+39020000044,,auto,,\n" // 10: explicit free number
	plan, err := e.svc.PlanCSV(ctx, "contoso", strings.NewReader(csv), "alice")
	require.NoError(t, err)
	assert.Equal(t, 9, plan.Users)
	byRow := map[int]voice.PlanItem{}
	for _, it := range plan.Items {
		byRow[it.Row] = it
	}
	for _, tc := range []struct {
		row    int
		status voice.PlanStatus
		code   voice.Code
		detail string
	}{
		{2, voice.PlanChange, "", ""},
		{3, voice.PlanError, voice.CodeUnknownUser, "no user nobody@"},
		{4, voice.PlanError, voice.CodeInvalid, "malformed number"},
		{5, voice.PlanError, voice.CodeNumberTaken, "user00024"},
		{6, voice.PlanError, voice.CodeUnknownPolicy, "VRP-NOPE"},
		{7, voice.PlanError, voice.CodeInvalid, "needs a range"},
		{8, voice.PlanError, voice.CodeInvalid, "row 2"},
		{9, voice.PlanUnchanged, "", ""},
		{10, voice.PlanChange, "", ""},
	} {
		it, ok := byRow[tc.row]
		require.True(t, ok, "row %d", tc.row)
		assert.Equal(t, tc.status, it.Status, "row %d: %+v", tc.row, it.Error)
		if tc.code != "" {
			require.NotNil(t, it.Error, "row %d", tc.row)
			assert.Equal(t, tc.code, it.Error.Code, "row %d", tc.row)
			assert.Contains(t, it.Error.Detail, tc.detail, "row %d", tc.row)
		}
	}
	assert.Equal(t, "+39020000044", byRow[10].Target.Number)
	// The rows refused (row 6 for its policy, after its number and
	// license were known) take no license units: rows 2 and 10 need them.
	require.Len(t, plan.Licenses, 1)
	assert.Equal(t, "MCOEV", plan.Licenses[0].SKU)
	assert.Equal(t, 2, plan.Licenses[0].Needed, "license units for the rows that change")

	// Too few license units for the whole plan: the rows past them say so.
	require.NoError(t, e.tenant.SetLicenseUnits(m365test.SkuTeamsPhone, 67+1)) // 67 voice users of 200, one unit free
	two := "user,number,range,licenses\nuser00004@contoso.onmicrosoft.com,next,Milan,auto\nuser00014@contoso.onmicrosoft.com,next,Milan,auto\n"
	plan, err = e.svc.PlanCSV(ctx, "contoso", strings.NewReader(two), "alice")
	require.NoError(t, err)
	require.Len(t, plan.Items, 2)
	assert.Equal(t, voice.PlanChange, plan.Items[0].Status)
	require.NotNil(t, plan.Items[1].Error)
	assert.Equal(t, voice.CodeNoFreeLicense, plan.Items[1].Error.Code)
	assert.Contains(t, plan.Items[1].Error.Detail, "whole plan")
	assert.Equal(t, []voice.LicenseNeed{{SKU: "MCOEV", Needed: 2, Free: 1}}, plan.Licenses)

	// Malformed CSVs are refused whole.
	for name, body := range map[string]string{
		"empty":          "",
		"no user column": "number\n+39020000044\n",
		"unknown column": "user,colour\nuser00004@contoso.onmicrosoft.com,red\n",
		"field count":    "user,number\nuser00004@contoso.onmicrosoft.com\n",
		"bare quote":     "user,number\n\"user00004,next\n",
		"header only":    "user,number\n",
	} {
		_, err := e.svc.PlanCSV(ctx, "contoso", strings.NewReader(body), "alice")
		ve, ok := voice.AsError(err)
		require.True(t, ok, "%s: %v", name, err)
		assert.Equal(t, voice.CodeMalformedCSV, ve.Code, name)
		assert.Equal(t, 400, ve.HTTPStatus(), name)
	}
}
