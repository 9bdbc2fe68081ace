package m365access

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidationChecksInOrder(t *testing.T) {
	t.Parallel()
	var names []string
	for _, c := range validationChecks {
		names = append(names, c.name)
	}
	assert.Equal(t, []string{"settings", "consent", "token", "tenant", "permissions", "teams", "serviceAccount"}, names)
}

func TestFailedWith(t *testing.T) {
	t.Parallel()
	c := failedWith("token", errors.New("boom"))
	assert.Equal(t, Check{Name: "token", Action: ActionWaitAndRetry, Detail: "boom"}, c)
	c = failedWith("token", &Error{Op: "refresh token", Action: ActionReInvite})
	assert.False(t, c.OK)
	assert.Equal(t, ActionReInvite, c.Action)
}

func TestTenantCheck(t *testing.T) {
	t.Parallel()
	const id = "AAAAAAAA-1111-2222-3333-444444444444"
	org := []organization{{ID: id, DisplayName: "Contoso"}}
	for _, tc := range []struct {
		name     string
		orgs     []organization
		want     string
		err      error
		ok       bool
		action   Action
		tenantID string
	}{
		{name: "read fails", err: errors.New("down"), want: "w", action: ActionWaitAndRetry, tenantID: "w"},
		{name: "no organization", orgs: nil, action: ActionFixTenant},
		{name: "empty ID", orgs: []organization{{}}, want: "w", action: ActionFixTenant, tenantID: "w"},
		{name: "learned from Graph", orgs: org, ok: true, tenantID: "aaaaaaaa-1111-2222-3333-444444444444"},
		{name: "matches ignoring case", orgs: org, want: "aaaaaaaa-1111-2222-3333-444444444444", ok: true, tenantID: "aaaaaaaa-1111-2222-3333-444444444444"},
		{name: "another tenant", orgs: org, want: "bbbbbbbb-1111-2222-3333-444444444444", action: ActionFixTenant, tenantID: "bbbbbbbb-1111-2222-3333-444444444444"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, tenantID := tenantCheck(tc.orgs, tc.want, tc.err)
			assert.Equal(t, "tenant", c.Name)
			assert.Equal(t, tc.ok, c.OK)
			assert.Equal(t, tc.action, c.Action)
			assert.NotEmpty(t, c.Detail)
			assert.Equal(t, tc.tenantID, tenantID)
		})
	}
}

func TestPermissionsChecks(t *testing.T) {
	t.Parallel()
	c := appPermissionsCheck(appPermissions{Source: PermissionsFromDirectory, Granted: []string{"User.Read.All"}}, nil)
	assert.True(t, c.OK)
	assert.Contains(t, c.Detail, "granted User.Read.All")
	c = appPermissionsCheck(appPermissions{Source: PermissionsFromDirectory, Missing: []string{"User.Read.All"}}, nil)
	assert.False(t, c.OK)
	assert.Equal(t, ActionGrantConsent, c.Action)
	assert.Contains(t, c.Detail, "not granted: User.Read.All")
	c = appPermissionsCheck(appPermissions{}, errors.New("down"))
	assert.Equal(t, ActionWaitAndRetry, c.Action)

	c = delegatedPermissionsCheck([]string{"User.Read.All"}, []string{"User.Read.All", "openid"})
	assert.True(t, c.OK)
	assert.Contains(t, c.Detail, "User.Read.All openid")
	c = delegatedPermissionsCheck([]string{"User.Read.All", "Organization.Read.All"}, []string{"User.Read.All"})
	assert.False(t, c.OK)
	assert.Equal(t, ActionGrantConsent, c.Action)
	assert.Contains(t, c.Detail, "not granted: Organization.Read.All")
}

func TestTeamsCheck(t *testing.T) {
	t.Parallel()
	assert.True(t, teamsCheck(ModeToken, nil).OK)
	refused := &Error{HTTPStatus: 403, GraphCode: "Forbidden"}
	c := teamsCheck(ModeAppRegistration, refused)
	assert.Equal(t, ActionGrantConsent, c.Action)
	assert.Contains(t, c.Detail, "HTTP 403 Forbidden")
	assert.Contains(t, c.Detail, "application permission "+TeamsPermission)
	c = teamsCheck(ModeToken, refused)
	assert.Contains(t, c.Detail, "delegated permission "+TeamsPermission)
	c = teamsCheck(ModeToken, &Error{HTTPStatus: 503, Action: ActionWaitAndRetry})
	assert.False(t, c.OK)
	assert.Equal(t, ActionWaitAndRetry, c.Action)
}

func TestServiceAccountChecks(t *testing.T) {
	t.Parallel()
	const account = "svc@contoso.onmicrosoft.com"
	no, yes := false, true
	c := accountCheck(account, &yes, nil)
	assert.True(t, c.OK)
	assert.Equal(t, ActionFixSettings, accountCheck(account, &no, nil).Action)
	assert.Contains(t, accountCheck(account, nil, &Error{GraphCode: "Request_ResourceNotFound"}).Detail, "does not exist")
	assert.Equal(t, ActionWaitAndRetry, accountCheck(account, nil, errors.New("down")).Action)
	assert.True(t, accountCheck(account, nil, nil).OK, "accountEnabled not read")

	s := &settings{ServiceAccount: account}
	assert.True(t, signedInCheck(s, me{UserPrincipalName: "SVC@contoso.onmicrosoft.com"}, nil).OK)
	c = signedInCheck(s, me{UserPrincipalName: "other@contoso.onmicrosoft.com"}, nil)
	assert.Equal(t, ActionReInvite, c.Action)
	assert.Equal(t, "signed in as other@contoso.onmicrosoft.com, expected "+account, c.Detail)
	pinned := &settings{ServiceAccount: account, ServiceAccountID: "id-1"}
	assert.True(t, signedInCheck(pinned, me{ID: "ID-1", UserPrincipalName: "renamed@contoso.onmicrosoft.com"}, nil).OK, "the pinned object ID decides")
	assert.Equal(t, ActionWaitAndRetry, signedInCheck(s, me{}, errors.New("down")).Action)
}
