package m365access

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/m365test"
)

// graphGetVia sends GET path (relative to /v1.0) through tenantgate's
// Graph pipeline with the customer's credential, as user sync and voice
// do, and returns the status.
func (e *env) graphGetVia(t *testing.T, customer, path string) int {
	t.Helper()
	client, err := graphhttp.NewClient(graphhttp.Options{Transport: e.srv.Client().Transport, NoRetry: true})
	require.NoError(t, err)
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://graph.microsoft.com/v1.0"+path, nil)
	require.NoError(t, err)
	require.NoError(t, graphhttp.Authorize(ctx, req, e.m.Credential(customer), []string{"https://graph.microsoft.com/.default"}, []string{"graph.microsoft.com"}))
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusForbidden {
		require.Contains(t, string(body), `"error"`, "the caller still reads the error body")
	}
	return resp.StatusCode
}

// eventsTo returns the customer's recorded events to state.
func (e *env) eventsTo(customer string, to State) []Event {
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	var out []Event
	for _, ev := range e.events.ev {
		if ev.Customer == customer && ev.To == to {
			out = append(out, ev)
		}
	}
	return out
}

// TestGraphRefusalRecordsConsentRequired is issue 26's northwind: an app
// registration without admin consent gets tokens, but Graph answers 403.
// The 403 that user sync (or voice) meets through the pipeline records
// consentRequired; a later token acquisition does not turn it back to
// connected (no false connection.connected); only a Validate whose checks
// pass proves the connection again, and clears the error.
func TestGraphRefusalRecordsConsentRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	const nwApp = "a9d2e8f1-3c4b-4d5e-9f60-7a8b9c0d1e2f"
	_, err := e.srv.AddApp(m365test.AppOptions{ClientID: nwApp, DisplayName: "Northwind app", HomeTenant: e.contoso.ID, SingleTenant: true,
		Secrets:                []m365test.Secret{{Value: custAppSecret}},
		ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", "TeamsUserConfiguration.Read.All"}})
	require.NoError(t, err)
	_, err = e.m.SaveSettings(ctx, "nw", SettingsUpdate{Tenant: ptr(e.contoso.ID), Mode: ptr(ModeAppRegistration),
		AppClientID: ptr(nwApp), AppClientSecret: ptr(custAppSecret)})
	require.NoError(t, err)

	// Entra ID issues the token (no roles in it); Graph refuses the sync's read.
	_, err = e.m.Credential("nw").GetToken(ctx, graphScope())
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, e.graphGetVia(t, "nw", "/users?$top=1&$select=id"))
	st, err := e.m.Status(ctx, "nw")
	require.NoError(t, err)
	assert.Equal(t, StateConsentRequired, st.State)
	require.NotNil(t, st.LastError)
	assert.Equal(t, "Authorization_RequestDenied", st.LastError.GraphCode)
	assert.Equal(t, ActionGrantConsent, st.LastError.Action)

	// Another replica (nothing in memory) acquires a token: still consentRequired.
	connectedBefore := len(e.eventsTo("nw", StateConnected))
	m2, _ := e.manager(t)
	_, err = m2.Credential("nw").GetToken(ctx, graphScope())
	require.NoError(t, err)
	st, err = e.m.Status(ctx, "nw")
	require.NoError(t, err)
	assert.Equal(t, StateConsentRequired, st.State, "a token acquisition proves nothing about Graph's permissions")
	assert.Len(t, e.eventsTo("nw", StateConnected), connectedBefore, "no connection.connected while Graph refuses")

	// A refusal of an optional capability's request leaves the state alone.
	require.NoError(t, e.srv.GrantAdminConsent(e.contoso.ID, nwApp))
	rep, err := e.m.Validate(ctx, "nw")
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep.Checks)
	st, err = e.m.Status(ctx, "nw")
	require.NoError(t, err)
	assert.Equal(t, StateConnected, st.State)
	assert.Nil(t, st.LastError, "a passing validation clears the stale error")
	require.Equal(t, http.StatusForbidden, e.graphGetVia(t, "nw", "/admin/teams/telephoneNumberManagement/numberAssignments?$top=1"))
	st, err = e.m.Status(ctx, "nw")
	require.NoError(t, err)
	assert.Equal(t, StateConnected, st.State, "an optional capability's 403 is not the connection's")
}

func TestGraphArea(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, area string }{
		{"/v1.0/users", "/users"},
		{"/v1.0/users/abc/licenseDetails", "/users"},
		{"/beta/admin/teams/userConfigurations/x", "/admin/teams/userConfigurations"},
		{"/v1.0/organization", "/organization"},
		{"/v1.0/admin/teams/telephoneNumberManagement/numberAssignments", "/admin/teams/telephoneNumberManagement"},
		{"/v1.0/communications/callRecords", "/communications"},
	} {
		assert.Equal(t, tc.area, graphArea(tc.path), tc.path)
	}
	assert.True(t, requiredRead(http.MethodGet, "/users"))
	assert.False(t, requiredRead(http.MethodPost, "/users"))
	assert.False(t, requiredRead(http.MethodGet, "/admin/teams/telephoneNumberManagement"))
}

// TestTokenCuresOnlyTokenFailures: which recorded states a successful
// token acquisition may turn back to connected.
func TestTokenCuresOnlyTokenFailures(t *testing.T) {
	t.Parallel()
	tokenErr := &ErrorInfo{Op: "get a token"}
	graphErr := &ErrorInfo{Op: "Graph GET /users"}
	for _, tc := range []struct {
		name string
		st   statusRecord
		want bool
	}{
		{"never validated", statusRecord{State: StateNotConnected}, false},
		{"Graph refused (northwind)", statusRecord{State: StateConsentRequired, LastError: graphErr, LastValidationOK: true}, false},
		{"validation failed", statusRecord{State: StateConsentRequired, LastError: &ErrorInfo{Op: "validate permissions"}}, false},
		{"secret rotated after a validated connection", statusRecord{State: StateCredentialExpired, LastError: tokenErr, LastValidationOK: true}, true},
		{"token failure, never validated", statusRecord{State: StateCredentialExpired, LastError: tokenErr}, false},
		{"connected", statusRecord{State: StateConnected, LastValidationOK: true}, false},
	} {
		assert.Equal(t, tc.want, tokenCures(&tc.st), tc.name)
	}
}
