package qoe_test

import (
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/events"

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
	require.FailNowf(t, "no check", "no check %q in %+v", name, r.Checks)
	return qoe.Check{}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{})
	ctx := t.Context()
	// Before the subscription exists: the token and role pass, the
	// subscription check says what to do.
	r, err := e.svc.Validate(ctx, customer)
	require.NoError(t, err)
	assert.False(t, r.OK, "before subscribing: %+v", r)
	for _, name := range []string{"token", "callRecordsRole", "pstnRole"} {
		assert.True(t, checkOf(t, r, name).OK, "before subscribing: %s", name)
	}
	sub := checkOf(t, r, "subscription")
	assert.False(t, sub.OK, "before subscribing: %+v", sub)
	assert.NotEmpty(t, sub.Action, "before subscribing: %+v", sub)
	require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
	healthy, _ := e.svc.Validate(ctx, customer)
	assert.True(t, healthy.OK, "healthy: %+v", healthy)
	// A QoE app without the role.
	weak := e.addQoEApp(t, e.tenant, "User.Read.All")
	e.saveQoE(t, "weak", e.tenant, weak.ClientID)
	r, _ = e.svc.Validate(ctx, "weak")
	c := checkOf(t, r, "callRecordsRole")
	assert.False(t, r.OK, "without the role: %+v", r)
	assert.False(t, c.OK, "without the role: %+v", c)
	assert.Contains(t, c.Action, "CallRecords.Read.All")
	// A wrong secret: the token check fails with an action, and the secret
	// appears nowhere in the report.
	bad := "wrong-secret-value-1234567890"
	_, err = e.m.SaveSettings(ctx, "weak", m365accessQoE(nil, &bad))
	require.NoError(t, err)
	r, _ = e.svc.Validate(ctx, "weak")
	c = checkOf(t, r, "token")
	assert.False(t, r.OK, "wrong secret: %+v", c)
	assert.False(t, c.OK, "wrong secret: %+v", c)
	assert.NotEmpty(t, c.Action, "wrong secret: %+v", c)
	assert.False(t, strings.Contains(c.Detail, bad), "the detail holds the secret")
	// No QoE settings at all.
	r, _ = e.svc.Validate(ctx, "nobody")
	c = checkOf(t, r, "settings")
	assert.False(t, r.OK, "no settings: %+v", r)
	assert.False(t, c.OK, "no settings: %+v", r)
	assert.NotEmpty(t, c.Action, "no settings: %+v", r)
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
		_, err := qoe.New(cfg)
		assert.Error(t, err, "%s: accepted", name)
	}
}

// TestValidateOpaqueTokens: the roles are checked by what Graph allows,
// so Validate works with access tokens that are not JWTs.
func TestValidateOpaqueTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{opaque: true, noStart: true})
	ctx := t.Context()
	r, err := e.svc.Validate(ctx, customer)
	require.NoError(t, err)
	for _, name := range []string{"token", "callRecordsRole", "pstnRole"} {
		assert.True(t, checkOf(t, r, name).OK, "with opaque tokens: %s in %+v", name, r.Checks)
	}
	weak := e.addQoEApp(t, e.tenant, "User.Read.All")
	e.saveQoE(t, "weak", e.tenant, weak.ClientID)
	r, _ = e.svc.Validate(ctx, "weak")
	c, p := checkOf(t, r, "callRecordsRole"), checkOf(t, r, "pstnRole")
	assert.False(t, c.OK, "without the roles: %+v", r.Checks)
	assert.False(t, p.OK, "without the roles: %+v", r.Checks)
	assert.Contains(t, c.Action, "CallRecords.Read.All")
	assert.Contains(t, p.Action, "PstnCalls")
}
