package usersync_test

import (
	"context"
	"fmt"

	"github.com/tenantgate/tenantgate/usersync"
)

// exampleTenant is a DeltaSource over an in-memory tenant: Read lists
// every user, two a page (the example's filter is evaluated client-side:
// there is no $filter to answer), ReadDelta the users changed since the
// link's version.
type exampleTenant struct {
	users   map[string]usersync.User
	changed map[string]int // user ID -> version it changed at
	version int
}

func (t *exampleTenant) Read(_ context.Context, _ string, _ usersync.Query, fn func(usersync.Page) error) error {
	var p usersync.Page
	for _, u := range t.users {
		if p.Users = append(p.Users, u); len(p.Users) == 2 {
			if err := fn(p); err != nil {
				return err
			}
			p.Users = nil
		}
	}
	if len(p.Users) > 0 {
		return fn(p)
	}
	return nil
}

func (t *exampleTenant) LatestDelta(context.Context, string, usersync.Query) (string, error) {
	return fmt.Sprint(t.version), nil
}

func (t *exampleTenant) ReadDelta(_ context.Context, _, link string, _ usersync.Query, fn func(usersync.DeltaPage) error) (string, error) {
	var since int
	fmt.Sscan(link, &since)
	var p usersync.DeltaPage
	for id, v := range t.changed {
		if v <= since {
			continue
		}
		if u, ok := t.users[id]; ok {
			p.Users = append(p.Users, u)
		} else {
			p.Removed = append(p.Removed, id)
		}
	}
	return fmt.Sprint(t.version), fn(p)
}

func (t *exampleTenant) set(u usersync.User) {
	t.version++
	t.users[u.ID], t.changed[u.ID] = u, t.version
}

func (t *exampleTenant) remove(id string) {
	t.version++
	delete(t.users, id)
	t.changed[id] = t.version
}

// Delta rounds: the first sync reads every user and stores a delta link
// with the sink's checkpoint; the next one reads only what changed and
// evaluates the whole filter on it. With Graph the source is a
// GraphSource (/users/delta) and the sink a MemorySink or an sqlsink.Sink.
func ExampleSyncer_deltaRounds() {
	tenant := &exampleTenant{users: map[string]usersync.User{}, changed: map[string]int{}}
	for i, loc := range []string{"IT", "IT", "US", "IT"} {
		tenant.set(usersync.User{ID: fmt.Sprint(i), UserPrincipalName: fmt.Sprintf("user%d@contoso.example", i), UsageLocation: loc})
	}
	sink := &usersync.MemorySink{}
	s := &usersync.Syncer{
		Source:  tenant,
		Sink:    sink,
		Filters: usersync.FilterFunc(func(context.Context, string) (string, error) { return "UsageLocation -like '*T'", nil }),
		Delta:   usersync.DeltaOptions{Enabled: true},
		Logger:  discardLogger,
	}
	report := func(r usersync.Result) {
		fmt.Printf("%s round (%s): %d requests, read %d, added %d, changed %d, removed %d; stored %d\n",
			r.Round, r.Reason, r.Requests, r.Read, r.Added, r.Changed, r.Removed, sink.Len("contoso"))
	}
	report(s.SyncCustomer(context.Background(), "contoso"))

	tenant.set(usersync.User{ID: "2", UserPrincipalName: "user2@contoso.example", UsageLocation: "IT"}) // moves in
	tenant.set(usersync.User{ID: "1", UserPrincipalName: "user1@contoso.example", UsageLocation: "FR"}) // moves out
	tenant.remove("3")
	report(s.SyncCustomer(context.Background(), "contoso"))
	for _, u := range sink.Users("contoso") {
		fmt.Println(u.UserPrincipalName)
	}
	// Output:
	// full round (no delta link stored): 3 requests, read 4, added 3, changed 0, removed 0; stored 3
	// delta round (delta link stored): 1 requests, read 3, added 1, changed 0, removed 2; stored 2
	// user0@contoso.example
	// user2@contoso.example
}
