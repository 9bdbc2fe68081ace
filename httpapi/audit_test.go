package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
)

// namingAuthorizer is testAuthorizer that also names who holds a token.
type namingAuthorizer struct{ Authorizer }

func (namingAuthorizer) Actor(r *http.Request) string {
	switch strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") {
	case tokenA:
		return "alice@provider.example"
	case tokenB:
		return "bob@provider.example"
	}
	return ""
}

func (e *env) auditOf(t *testing.T, path string) auditPageJSON {
	t.Helper()
	return decode[auditPageJSON](t, e.do(t, "GET", path, tokenAll, nil), http.StatusOK)
}

func TestAdminChangesAreAuditedWithTheActor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Authorizer = namingAuthorizer{testAuthorizer()} })
	const appSecret = "Zq8~app-secret-value-0123456789abcdefXYZ"

	// Reads are not audited.
	problemOf(t, e.do(t, "GET", "/customers/a/m365", tokenA, nil), http.StatusNotFound)

	r := httptest.NewRequest("PUT", testPublic+"/customers/a/m365", strings.NewReader(
		`{"authMode":"appRegistration","tenant":"contoso.onmicrosoft.com","clientId":"c0c0c0c0-1111-2222-3333-444444444444","clientSecret":"`+appSecret+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tokenA)
	r.Header.Set(RequestIDHeader, "req-save-1")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "req-save-1", w.Header().Get(RequestIDHeader))

	decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{"to": "admin@contoso.onmicrosoft.com"}), http.StatusCreated)
	// Bad input is audited as failed; another customer's admin as denied.
	require.Equal(t, http.StatusUnprocessableEntity, e.do(t, "PUT", "/customers/a/m365", tokenA, `{"authMode":"sideways"}`).Code)
	require.Equal(t, http.StatusForbidden, e.do(t, "PUT", "/customers/a/m365", tokenB, map[string]string{"userFilter": ""}).Code)
	// Anonymous refusals are not: anyone can make those.
	require.Equal(t, http.StatusUnauthorized, e.do(t, "PUT", "/customers/a/m365", "", map[string]string{}).Code)

	page := e.auditOf(t, "/customers/a/audit")
	var got []string
	for _, en := range page.Entries {
		got = append(got, en.Actor+" "+en.Action+" "+en.Outcome)
		assert.Equal(t, "a", en.Customer)
		assert.False(t, en.OccurredAt.IsZero())
		assert.NotEmpty(t, en.RequestID)
	}
	assert.Equal(t, []string{
		"bob@provider.example settings.write denied",
		"alice@provider.example settings.write failed",
		"alice@provider.example invitations.write succeeded",
		"alice@provider.example settings.write succeeded",
	}, got)
	assert.Equal(t, "req-save-1", page.Entries[3].RequestID)
	assert.Equal(t, "", page.Next)

	// The invitation names its sender with Config.Actor.
	invs := decode[struct {
		Invitations []invitationJSON `json:"invitations"`
	}](t, e.do(t, "GET", "/customers/a/m365/invitations", tokenA, nil), http.StatusOK)
	require.Len(t, invs.Invitations, 1)
	assert.Equal(t, "Example MSP", invs.Invitations[0].SentBy)

	// Paging newest first; GET /audit holds every customer's.
	p1 := e.auditOf(t, "/customers/a/audit?limit=3")
	require.Len(t, p1.Entries, 3)
	require.NotEmpty(t, p1.Next)
	p2 := e.auditOf(t, "/customers/a/audit?limit=3&after="+p1.Next)
	require.Len(t, p2.Entries, 1)
	assert.Equal(t, "alice@provider.example settings.write succeeded", p2.Entries[0].Actor+" "+p2.Entries[0].Action+" "+p2.Entries[0].Outcome)
	e.saveToken(t, "b", e.fabrikam)
	all := e.auditOf(t, "/audit")
	require.Len(t, all.Entries, 5)
	assert.Equal(t, "b", all.Entries[0].Customer)
	assert.Equal(t, http.StatusBadRequest, e.do(t, "GET", "/audit?limit=501", tokenAll, nil).Code)
	// tokenA may read its customer's trail, not another's.
	assert.Equal(t, http.StatusOK, e.do(t, "GET", "/customers/a/audit", tokenA, nil).Code)
	assert.Equal(t, http.StatusForbidden, e.do(t, "GET", "/customers/b/audit", tokenA, nil).Code)

	// No entry holds the secret.
	raw := e.do(t, "GET", "/audit", tokenAll, nil).Body.String()
	assert.NotContains(t, raw, appSecret)
	assert.NotContains(t, raw, "app-secret")
}

func TestAuditNotConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Audit, c.Events = nil, nil })
	e.saveToken(t, "a", e.contoso)
	for _, p := range []string{"/audit", "/customers/a/audit", "/customers/a/events", "/webhooks/deliveries"} {
		w := e.do(t, "GET", p, tokenAll, nil)
		assert.Equal(t, http.StatusNotImplemented, w.Code, p)
		assert.Contains(t, w.Body.String(), codeNotImplemented, p)
	}
}

func TestEventsListed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	require.NoError(t, e.bus.Emit(context.Background(), events.Event{Type: events.SyncFailed, Data: events.Data{Customer: "a", Error: "Graph answered 503"}}))
	e.connect(t, "a", e.contoso) // the wizard: connection.connected through the Manager's OnEvent
	list := decode[eventListJSON](t, e.do(t, "GET", "/customers/a/events", tokenA, nil), http.StatusOK)
	types := []events.Type{}
	for _, ev := range list.Events {
		types = append(types, ev.Type)
		assert.Equal(t, "a", ev.Data.Customer)
		assert.True(t, strings.HasPrefix(ev.ID, "msg_"))
	}
	assert.Equal(t, []events.Type{events.ConnectionConnected, events.SyncFailed}, types)
	// The sign-in is in the trail, the signed-in account as actor.
	trail := e.auditOf(t, "/customers/a/audit")
	require.NotEmpty(t, trail.Entries)
	assert.Equal(t, "connection.complete", trail.Entries[0].Action)
	assert.Equal(t, e.contoso.AdminUPN()+" (customer)", trail.Entries[0].Actor)
	b, _ := json.Marshal(list)
	assert.NotContains(t, string(b), "://")
	assert.Equal(t, http.StatusForbidden, e.do(t, "GET", "/customers/a/events", tokenB, nil).Code)
	d := decode[deliveryListJSON](t, e.do(t, "GET", "/webhooks/deliveries", tokenAll, nil), http.StatusOK)
	assert.NotNil(t, d.Deliveries) // no endpoints: an empty log
}
