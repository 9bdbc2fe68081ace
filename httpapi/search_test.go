package httpapi

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync"
)

// TestSearchNeverChangesTheScope: searching the synced users (text or the
// filter language) reads only; previewing a new scope says what the next
// sync would remove and asks for confirmation above a tenth, saving
// nothing (the portal's filter box used to save its text as the scope).
func TestSearchNeverChangesTheScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	decode[syncRunJSON](t, e.do(t, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	done := e.waitSync(t, "a")
	require.Equal(t, runSucceeded, done.State)
	all := done.Total // contoso's 120 generated users and its admin
	require.Equal(t, 121, all)

	page := decode[userPageJSON](t, e.do(t, "GET", "/customers/a/users?q=USER00004", tokenA, nil), http.StatusOK)
	assert.Equal(t, 1, page.Total)
	page = decode[userPageJSON](t, e.do(t, "GET", "/customers/a/users?"+url.Values{"filter": {"UsageLocation -eq 'IT'"}}.Encode(), tokenA, nil), http.StatusOK)
	assert.Equal(t, 12, page.Total)
	page = decode[userPageJSON](t, e.do(t, "GET", "/customers/a/users?"+url.Values{"filter": {"UsageLocation -eq 'IT'"}, "q": {"user00004"}}.Encode(), tokenA, nil), http.StatusOK)
	assert.Equal(t, 1, page.Total)

	prev := decode[scopePreviewJSON](t, e.do(t, "GET", "/customers/a/users/scope-preview?"+url.Values{"userFilter": {"UsageLocation -eq 'IT'"}}.Encode(), tokenA, nil), http.StatusOK)
	assert.Equal(t, scopePreviewJSON{UserFilter: "UsageLocation -eq 'IT'", Total: all, Keep: 12, Remove: all - 12,
		RemoveSample: prev.RemoveSample, ConfirmRemoval: true}, prev)
	assert.Len(t, prev.RemoveSample, 10)
	// Everyone: nothing removed, nothing to confirm.
	prev = decode[scopePreviewJSON](t, e.do(t, "GET", "/customers/a/users/scope-preview?userFilter=", tokenA, nil), http.StatusOK)
	assert.Equal(t, 0, prev.Remove)
	assert.False(t, prev.ConfirmRemoval)
	p := problemOf(t, e.do(t, "GET", "/customers/a/users/scope-preview?userFilter=UsageLocation+-eq", tokenA, nil), http.StatusUnprocessableEntity)
	assert.Equal(t, "userFilter", p.Fields[0].Field)

	// The scope and the synced users are as before.
	s := decode[settingsJSON](t, e.do(t, "GET", "/customers/a/m365", tokenA, nil), http.StatusOK)
	assert.Empty(t, s.UserFilter)
	page = decode[userPageJSON](t, e.do(t, "GET", "/customers/a/users", tokenA, nil), http.StatusOK)
	assert.Equal(t, all, page.Total)
}

func TestSearchMatch(t *testing.T) {
	t.Parallel()
	u := &usersync.User{UserPrincipalName: "mario.rossi@contoso.com", DisplayName: "Mario Rossi",
		Teams: &usersync.TeamsConfig{TelephoneNumbers: []usersync.TelephoneNumber{{Number: "+39 02 1234 5678", Category: "Primary"}}}}
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"rossi", true}, {"MARIO R", true}, {"contoso.com", true}, {"+390212345678", true}, {"tel:+3902", true},
		{"1234-5678", true}, {"02 12", true}, {"luigi", false}, {"+44", false}, {"12", false},
	} {
		assert.Equal(t, tc.want, searchMatch(u, tc.text), tc.text)
	}
}
