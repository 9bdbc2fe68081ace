package m365test_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

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
		if gr.status != http.StatusOK {
			t.Fatalf("GET %s: %d %v", link, gr.status, gr.body)
		}
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
		if (next == "") == (delta == "") {
			t.Fatalf("page %d: nextLink %q, deltaLink %q: want exactly one", pages, next, delta)
		}
		link = next
	}
	return users, removed, pages, delta
}

func TestUsersDelta(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 450)
	if err := f.srv.GrantAdminConsent(f.contoso.ID, f.provider.ClientID); err != nil {
		t.Fatal(err)
	}
	tok := appToken(t, f, f.contoso.ID)

	// The first round lists every user (450 + the admin) with the $select,
	// 200 a page.
	users, removed, pages, delta := deltaRound(t, f, tok, "/users/delta?$select=id,jobTitle,city")
	if len(users) != 451 || len(removed) != 0 || pages != 3 {
		t.Fatalf("first round: %d users, %d removed, %d pages", len(users), len(removed), pages)
	}
	for _, u := range users {
		if len(u) != 3 {
			t.Fatalf("user %v: want only id, jobTitle, city", u)
		}
	}
	// Nothing changed: an empty round.
	users, removed, _, delta2 := deltaRound(t, f, tok, delta)
	if len(users) != 0 || len(removed) != 0 {
		t.Fatalf("unchanged tenant: %d users, %d removed", len(users), len(removed))
	}

	// Change two users, add three, delete one: the next round has exactly
	// those, with the $select of the first request.
	u7 := f.contoso.UserID("user00007@contoso.onmicrosoft.com")
	u9 := f.contoso.UserID("user00009@contoso.onmicrosoft.com")
	u3 := f.contoso.UserID("user00003@contoso.onmicrosoft.com")
	if err := f.contoso.UpdateUser(u7, map[string]any{"jobTitle": "Promoted", "city": nil}); err != nil {
		t.Fatal(err)
	}
	if err := f.contoso.UpdateUser("user00009@contoso.onmicrosoft.com", map[string]any{"accountEnabled": false}); err != nil {
		t.Fatal(err)
	}
	added, err := f.contoso.AddUsers(3)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.contoso.DeleteUser(u3); err != nil {
		t.Fatal(err)
	}
	users, removed, _, delta3 := deltaRound(t, f, tok, delta2)
	want := append([]string{u7, u9}, added...)
	var got []string
	for id := range users {
		got = append(got, id)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || !slices.Equal(removed, []string{u3}) {
		t.Fatalf("round after changes: users %v removed %v; want %v and [%s]", got, removed, want, u3)
	}
	if users[u7]["jobTitle"] != "Promoted" || users[u7]["city"] != nil || len(users[u9]) != 3 {
		t.Errorf("changed users: %v, %v", users[u7], users[u9])
	}
	// /users shows the same state.
	gr := graphDo(t, f, "GET", "/users/"+u3, tok, nil)
	if gr.status != http.StatusNotFound {
		t.Errorf("deleted user: %d", gr.status)
	}
	gr = graphDo(t, f, "GET", "/users?$filter="+url.QueryEscape("jobTitle eq 'Promoted'")+"&$select=id", tok, nil)
	if v := gr.body["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != u7 {
		t.Errorf("/users after the change: %v", gr.body)
	}
	gr = graphDo(t, f, "GET", "/users?$top=999&$select=id", tok, nil)
	if v := gr.body["value"].([]any); len(v) != 451+3-1 {
		t.Errorf("/users lists %d users, want %d", len(v), 451+3-1)
	}

	// A smaller page size through Prefer: odata.maxpagesize.
	_, _, pages, _ = deltaRound(t, f, tok, "/users/delta?$select=id", "Prefer", "odata.maxpagesize=100")
	if pages != 5 {
		t.Errorf("maxpagesize=100: %d pages, want 5", pages)
	}

	// latest: no users, a deltaLink from now on.
	users, _, pages, latest := deltaRound(t, f, tok, "/users/delta?$deltatoken=latest&$select=id,city")
	if len(users) != 0 || pages != 1 || latest == "" {
		t.Fatalf("latest: %d users, %d pages", len(users), pages)
	}
	if err := f.contoso.UpdateUser(u9, map[string]any{"city": "Rome"}); err != nil {
		t.Fatal(err)
	}
	users, _, _, _ = deltaRound(t, f, tok, latest)
	if len(users) != 1 || users[u9]["city"] != "Rome" {
		t.Errorf("round after latest: %v", users)
	}

	// Expiry: a reset, and the seven-day lifetime, answer 400 syncStateNotFound.
	f.contoso.ExpireDeltaLinks()
	gr = graphDo(t, f, "GET", delta3, tok, nil)
	if gr.status != http.StatusBadRequest || graphErr(t, gr) != m365test.CodeSyncStateNotFound {
		t.Errorf("reset link: %d %v", gr.status, gr.body)
	}
	_, _, _, fresh := deltaRound(t, f, tok, "/users/delta?$deltatoken=latest")
	f.srv.Advance(m365test.DeltaLinkLifetime + time.Minute)
	tok = appToken(t, f, f.contoso.ID)
	gr = graphDo(t, f, "GET", fresh, tok, nil)
	if gr.status != http.StatusBadRequest || graphErr(t, gr) != m365test.CodeSyncStateNotFound {
		t.Errorf("week-old link: %d %v", gr.status, gr.body)
	}

	// Refusals: $filter, $top, a tampered token, another tenant's token.
	for _, path := range []string{"/users/delta?$filter=" + url.QueryEscape("city eq 'Milan'"), "/users/delta?$top=5",
		"/users/delta?$deltatoken=AAAA", "/users/delta?$skiptoken=AAAA"} {
		if gr := graphDo(t, f, "GET", path, tok, nil); gr.status != http.StatusBadRequest {
			t.Errorf("%s: %d", path, gr.status)
		}
	}
	if err := f.srv.GrantAdminConsent(f.fabrikam.ID, f.provider.ClientID); err != nil {
		t.Fatal(err)
	}
	_, _, _, fab := deltaRound(t, f, appToken(t, f, f.fabrikam.ID), "/users/delta?$deltatoken=latest")
	if gr := graphDo(t, f, "GET", fab, tok, nil); gr.status != http.StatusBadRequest {
		t.Errorf("another tenant's link: %d", gr.status)
	}
}

func TestUserEditsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	for _, props := range []map[string]any{
		{"userPrincipalName": "x@y"}, {"displayName": "X"}, {"id": "1"}, {"nope": "x"},
		{"accountEnabled": "yes"}, {"city": 3}, {"businessPhones": "x"},
	} {
		if err := f.contoso.UpdateUser("user00001@contoso.onmicrosoft.com", props); err == nil {
			t.Errorf("UpdateUser(%v) succeeded", props)
		}
	}
	if err := f.contoso.UpdateUser("user00099@contoso.onmicrosoft.com", map[string]any{"city": "x"}); err == nil {
		t.Error("UpdateUser of a missing user succeeded")
	}
	if err := f.contoso.DeleteUser(f.contoso.AdminUPN()); err == nil {
		t.Error("DeleteUser of the Global Admin succeeded")
	}
	if err := f.contoso.DeleteUser("user00002@contoso.onmicrosoft.com"); err != nil {
		t.Fatal(err)
	}
	if err := f.contoso.DeleteUser("user00002@contoso.onmicrosoft.com"); err == nil {
		t.Error("second DeleteUser succeeded")
	}
	if f.contoso.UserID("user00002@contoso.onmicrosoft.com") != "" {
		t.Error("deleted user still found")
	}
	if _, err := f.contoso.AddUsers(200_000); err == nil {
		t.Error("AddUsers beyond the limit succeeded")
	}
}
