package m365access

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// TestPermanentAccountFailures: Entra ID refusing the service account or
// the app itself (disabled, locked, password expired, not assigned, device
// policy, app disabled) is an action a person must take, not a degraded
// connection to retry.
func TestPermanentAccountFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		break_ func(e *env) error
		code   int
		action Action
		state  State
		hint   string
	}{
		{"disabled", func(e *env) error {
			return e.srv.SetAccountState(e.contoso.ID, e.contoso.AdminUPN(), m365test.AccountDisabled)
		}, 50057, ActionFixAccount, StateAccountBlocked, "disabled"},
		{"locked", func(e *env) error {
			return e.srv.SetAccountState(e.contoso.ID, e.contoso.AdminUPN(), m365test.AccountLocked)
		}, 50053, ActionFixAccount, StateAccountBlocked, "locked"},
		{"password expired", func(e *env) error {
			return e.srv.SetAccountState(e.contoso.ID, e.contoso.AdminUPN(), m365test.AccountPasswordExpired)
		}, 50055, ActionFixAccount, StateAccountBlocked, "password expired"},
		{"password changed", func(e *env) error {
			return e.srv.SetAccountState(e.contoso.ID, e.contoso.AdminUPN(), m365test.AccountPasswordChanged)
		}, 50133, ActionReInvite, StateReauthorizationRequired, "sign in again"},
		{"device not compliant", func(e *env) error {
			return e.srv.SetAccountState(e.contoso.ID, e.contoso.AdminUPN(), m365test.AccountDeviceNotCompliant)
		}, 53000, ActionFixAccount, StateAccountBlocked, "compliant"},
		{"not domain joined", func(e *env) error {
			return e.srv.SetAccountState(e.contoso.ID, e.contoso.AdminUPN(), m365test.AccountDeviceNotDomainJoined)
		}, 53001, ActionFixAccount, StateAccountBlocked, "domain-joined"},
		{"client app not approved", func(e *env) error {
			return e.srv.SetAccountState(e.contoso.ID, e.contoso.AdminUPN(), m365test.AccountClientAppNotApproved)
		}, 53002, ActionFixAccount, StateAccountBlocked, "approved client app"},
		{"not assigned", func(e *env) error {
			return e.srv.RequireAssignment(e.contoso.ID, testProviderID, "user00003@contoso.onmicrosoft.com")
		}, 50105, ActionFixAccount, StateAccountBlocked, "not assigned"},
		{"app disabled", func(e *env) error {
			return e.srv.SetAppEnabled(e.contoso.ID, testProviderID, false)
		}, 7000112, ActionEnableApp, StateAccountBlocked, "enable its enterprise application"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// One-minute tokens: MSAL redeems the refresh token each time.
			e := newEnv(t, envOptions{atLifetime: time.Minute})
			ctx := context.Background()
			e.connect(t, "c1")
			require.NoError(t, tc.break_(e))
			m, _ := e.manager(t) // nothing cached in memory
			_, err := m.Credential("c1").GetToken(ctx, graphScope())
			var me *Error
			require.ErrorAs(t, err, &me)
			require.True(t, me.HasCode(tc.code), "GetToken: %v, want AADSTS%d", err, tc.code)
			assert.Equal(t, tc.action, me.Action)
			assert.False(t, me.Retryable)
			assert.Contains(t, me.Hint, tc.hint)
			st, err := m.Status(ctx, "c1")
			require.NoError(t, err)
			assert.Equal(t, tc.state, st.State)
			if assert.NotNil(t, st.LastError) {
				assert.Contains(t, st.LastError.Codes, tc.code)
				assert.Equal(t, tc.action, st.LastError.Action)
				assert.Contains(t, st.LastError.Message, tc.hint)
			}
		})
	}
}
