package qoe_test

import (
	"github.com/tenantgate/tenantgate/events"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
)

func checkOf(t *testing.T, r *qoe.Report, name string) qoe.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, r.Checks)
	return qoe.Check{}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{})
	ctx := t.Context()
	// Before the subscription exists: the token and role pass, the
	// subscription check says what to do.
	r, err := e.svc.Validate(ctx, customer)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || !checkOf(t, r, "token").OK || !checkOf(t, r, "callRecordsRole").OK || !checkOf(t, r, "pstnRole").OK ||
		checkOf(t, r, "subscription").OK || checkOf(t, r, "subscription").Action == "" {
		t.Errorf("before subscribing: %+v", r)
	}
	if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.svc.Validate(ctx, customer); !r.OK {
		t.Errorf("healthy: %+v", r)
	}
	// A QoE app without the role.
	weak := e.addQoEApp(t, e.tenant, "User.Read.All")
	e.saveQoE(t, "weak", e.tenant, weak.ClientID)
	r, _ = e.svc.Validate(ctx, "weak")
	if c := checkOf(t, r, "callRecordsRole"); r.OK || c.OK || !strings.Contains(c.Action, "CallRecords.Read.All") {
		t.Errorf("without the role: %+v", r)
	}
	// A wrong secret: the token check fails with an action, and the secret
	// appears nowhere in the report.
	bad := "wrong-secret-value-1234567890"
	if _, err := e.m.SaveSettings(ctx, "weak", m365accessQoE(nil, &bad)); err != nil {
		t.Fatal(err)
	}
	r, _ = e.svc.Validate(ctx, "weak")
	if c := checkOf(t, r, "token"); r.OK || c.OK || c.Action == "" || strings.Contains(c.Detail, bad) {
		t.Errorf("wrong secret: %+v", c)
	}
	// No QoE settings at all.
	r, _ = e.svc.Validate(ctx, "nobody")
	if c := checkOf(t, r, "settings"); r.OK || c.OK || c.Action == "" {
		t.Errorf("no settings: %+v", r)
	}
	_ = m365test.LifecycleMissed
}

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{noStart: true})
	for name, cfg := range map[string]qoe.Config{
		"no access":        {Store: e.store, NotificationURL: "https://x.example/n"},
		"typed nil events": {Access: e.m, Store: e.store, NotificationURL: "https://x.example/n", Events: (*events.Bus)(nil)},
		"no store":         {Access: e.m, NotificationURL: "https://x.example/n"},
		"no URL":           {Access: e.m, Store: e.store},
		"http URL":         {Access: e.m, Store: e.store, NotificationURL: "http://portal.example/n"},
		"long lifetime":    {Access: e.m, Store: e.store, NotificationURL: "https://x.example/n", SubscriptionLifetime: 4231 * 60e9},
		"bad lifecycle":    {Access: e.m, Store: e.store, NotificationURL: "https://x.example/n", LifecycleURL: "ftp://x"},
	} {
		if _, err := qoe.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestValidateOpaqueTokens: the roles are checked by what Graph allows,
// so Validate works with access tokens that are not JWTs.
func TestValidateOpaqueTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{opaque: true, noStart: true})
	ctx := t.Context()
	r, err := e.svc.Validate(ctx, customer)
	if err != nil {
		t.Fatal(err)
	}
	if !checkOf(t, r, "token").OK || !checkOf(t, r, "callRecordsRole").OK || !checkOf(t, r, "pstnRole").OK {
		t.Errorf("with opaque tokens: %+v", r.Checks)
	}
	weak := e.addQoEApp(t, e.tenant, "User.Read.All")
	e.saveQoE(t, "weak", e.tenant, weak.ClientID)
	r, _ = e.svc.Validate(ctx, "weak")
	if c, p := checkOf(t, r, "callRecordsRole"), checkOf(t, r, "pstnRole"); c.OK || p.OK || !strings.Contains(c.Action, "CallRecords.Read.All") || !strings.Contains(p.Action, "PstnCalls") {
		t.Errorf("without the roles: %+v", r.Checks)
	}
}
