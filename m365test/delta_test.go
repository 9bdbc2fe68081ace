package m365test_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

// deltaRound follows a /users/delta round from link to its deltaLink and
// returns the users (by id, with their properties), the removed IDs, the
// page count and the deltaLink.
func deltaRound(t *testing.T, f *fixture, tok, link string, hdr ...string) (users map[string]map[string]any, removed []string, pages int, delta string) {
	t.Helper()
	users = map[string]map[string]any{}
	for link != "" {
		gr := graphDo(t, f, "GET", link, tok, nil, hdr...)
		require.Equal(t, http.StatusOK, gr.status, "GET %s: %v", link, gr.body)
		pages++
		for _, v := range gr.body["value"].([]any) {
			u := v.(map[string]any)
			id := u["id"].(string)
			if _, ok := u["@removed"]; ok {
				removed = append(removed, id)
				continue
			}
			users[id] = u
		}
		next, _ := gr.body["@odata.nextLink"].(string)
		delta, _ = gr.body["@odata.deltaLink"].(string)
		require.NotEqual(t, next == "", delta == "", "page %d: nextLink %q, deltaLink %q: want exactly one", pages, next, delta)
		link = next
	}
	return users, removed, pages, delta
}

func TestUsersDelta(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 450)
	require.NoError(t, f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID))
	tok := appToken(t, f, f.contoso.ID)

	// The first round lists every user (450 + the admin) with the $select,
	// 200 a page.
	users, removed, pages, delta := deltaRound(t, f, tok, "/users/delta?$select=id,jobTitle,city")
	require.Len(t, users, 451, "first round: users")
	require.Empty(t, removed, "first round: removed")
	require.Equal(t, 3, pages, "first round: pages")
	for _, u := range users {
		require.Len(t, u, 3, "user %v: want only id, jobTitle, city", u)
	}
	// Nothing changed: an empty round.
	users, removed, _, delta2 := deltaRound(t, f, tok, delta)
	require.Empty(t, users, "unchanged tenant: users")
	require.Empty(t, removed, "unchanged tenant: removed")

	// Change two users, add three, delete one: the next round has exactly
	// those, with the $select of the first request.
	u7 := f.contoso.UserID("user00007@contoso.onmicrosoft.com")
	u9 := f.contoso.UserID("user00009@contoso.onmicrosoft.com")
	u3 := f.contoso.UserID("user00003@contoso.onmicrosoft.com")
	require.NoError(t, f.contoso.UpdateUser(u7, map[string]any{"jobTitle": "Promoted", "city": nil}))
	require.NoError(t, f.contoso.UpdateUser("user00009@contoso.onmicrosoft.com", map[string]any{"accountEnabled": false}))
	added, err := f.contoso.AddUsers(3)
	require.NoError(t, err)
	require.NoError(t, f.contoso.DeleteUser(u3))
	users, removed, _, delta3 := deltaRound(t, f, tok, delta2)
	want := append([]string{u7, u9}, added...)
	var got []string
	for id := range users {
		got = append(got, id)
	}
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got, "round after changes: users")
	require.Equal(t, []string{u3}, removed, "round after changes: removed")
	assert.Equal(t, "Promoted", users[u7]["jobTitle"], "changed user %v", users[u7])
	assert.Nil(t, users[u7]["city"], "changed user %v", users[u7])
	assert.Len(t, users[u9], 3, "changed user %v", users[u9])
	// /users shows the same state.
	gr := graphDo(t, f, "GET", "/users/"+u3, tok, nil)
	assert.Equal(t, http.StatusNotFound, gr.status, "deleted user")
	gr = graphDo(t, f, "GET", "/users?$filter="+url.QueryEscape("jobTitle eq 'Promoted'")+"&$select=id", tok, nil)
	if v := gr.body["value"].([]any); assert.Len(t, v, 1, "/users after the change: %v", gr.body) {
		assert.Equal(t, u7, v[0].(map[string]any)["id"], "/users after the change")
	}
	gr = graphDo(t, f, "GET", "/users?$top=999&$select=id", tok, nil)
	assert.Len(t, gr.body["value"].([]any), 451+3-1, "/users lists")

	// A smaller page size through Prefer: odata.maxpagesize.
	_, _, pages, _ = deltaRound(t, f, tok, "/users/delta?$select=id", "Prefer", "odata.maxpagesize=100")
	assert.Equal(t, 5, pages, "maxpagesize=100: pages")

	// latest: no users, a deltaLink from now on.
	users, _, pages, latest := deltaRound(t, f, tok, "/users/delta?$deltatoken=latest&$select=id,city")
	require.Empty(t, users, "latest: users")
	require.Equal(t, 1, pages, "latest: pages")
	require.NotEmpty(t, latest, "latest: deltaLink")
	require.NoError(t, f.contoso.UpdateUser(u9, map[string]any{"city": "Rome"}))
	users, _, _, _ = deltaRound(t, f, tok, latest)
	assert.Len(t, users, 1, "round after latest: %v", users)
	assert.Equal(t, "Rome", users[u9]["city"], "round after latest: %v", users)

	// Expiry: a reset, and the seven-day lifetime, answer 400 syncStateNotFound.
	f.contoso.ExpireDeltaLinks()
	gr = graphDo(t, f, "GET", delta3, tok, nil)
	assertGraphError(t, gr, http.StatusBadRequest, m365test.CodeSyncStateNotFound, "reset link")
	_, _, _, fresh := deltaRound(t, f, tok, "/users/delta?$deltatoken=latest")
	f.srv.Advance(m365test.DeltaLinkLifetime + time.Minute)
	tok = appToken(t, f, f.contoso.ID)
	gr = graphDo(t, f, "GET", fresh, tok, nil)
	assertGraphError(t, gr, http.StatusBadRequest, m365test.CodeSyncStateNotFound, "week-old link")

	// Refusals: $filter, $top, a tampered token, another tenant's token.
	for _, path := range []string{"/users/delta?$filter=" + url.QueryEscape("city eq 'Milan'"), "/users/delta?$top=5",
		"/users/delta?$deltatoken=AAAA", "/users/delta?$skiptoken=AAAA"} {
		gr := graphDo(t, f, "GET", path, tok, nil)
		assert.Equal(t, http.StatusBadRequest, gr.status, path)
	}
	require.NoError(t, f.srv.GrantAdminConsent(f.fabrikam.ID, f.provider.ClientID))
	_, _, _, fab := deltaRound(t, f, appToken(t, f, f.fabrikam.ID), "/users/delta?$deltatoken=latest")
	gr = graphDo(t, f, "GET", fab, tok, nil)
	assert.Equal(t, http.StatusBadRequest, gr.status, "another tenant's link")
}

func TestUserEditsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	for _, props := range []map[string]any{
		{"userPrincipalName": "x@y"}, {"displayName": "X"}, {"id": "1"}, {"nope": "x"},
		{"accountEnabled": "yes"}, {"city": 3}, {"businessPhones": "x"},
	} {
		assert.Error(t, f.contoso.UpdateUser("user00001@contoso.onmicrosoft.com", props), "UpdateUser(%v) succeeded", props)
	}
	assert.Error(t, f.contoso.UpdateUser("user00099@contoso.onmicrosoft.com", map[string]any{"city": "x"}), "UpdateUser of a missing user succeeded")
	assert.Error(t, f.contoso.DeleteUser(f.contoso.AdminUPN()), "DeleteUser of the Global Admin succeeded")
	require.NoError(t, f.contoso.DeleteUser("user00002@contoso.onmicrosoft.com"))
	assert.Error(t, f.contoso.DeleteUser("user00002@contoso.onmicrosoft.com"), "second DeleteUser succeeded")
	assert.Empty(t, f.contoso.UserID("user00002@contoso.onmicrosoft.com"), "deleted user still found")
	_, err := f.contoso.AddUsers(200_000)
	assert.Error(t, err, "AddUsers beyond the limit succeeded")
}
