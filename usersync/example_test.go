package usersync_test

import (
	"context"
	"fmt"

	"github.com/tenantgate/tenantgate/usersync"
)

// A Syncer over a Source and a Sink. Here the source is a function handing
// out two fixed pages; in production it is a GraphSource with each
// customer's credential, and the filter text comes from the customer's
// settings.
func ExampleSyncer() {
	pages := [][]usersync.User{
		{{ID: "1", UserPrincipalName: "ada@contoso.example", UsageLocation: "IT"},
			{ID: "2", UserPrincipalName: "bob@contoso.example", UsageLocation: "US"}},
		{{ID: "3", UserPrincipalName: "cy@contoso.example", UsageLocation: "IT"}},
	}
	src := usersync.SourceFunc(func(ctx context.Context, customer string, q usersync.Query, fn func(usersync.Page) error) error {
		fmt.Printf("Graph $filter: %s\n", q.Filter)
		for _, p := range pages {
			// A real Graph answers the $filter; here the users are
			// filtered with the compiled query's client-side matcher.
			var sel []usersync.User
			for _, u := range p {
				if u.UsageLocation == "IT" {
					sel = append(sel, u)
				}
			}
			if err := fn(usersync.Page{Users: sel, Estimate: 2}); err != nil {
				return err
			}
		}
		return nil
	})
	sink := &usersync.MemorySink{}
	s := &usersync.Syncer{
		Source:  src,
		Sink:    sink,
		Filters: usersync.FilterFunc(func(context.Context, string) (string, error) { return "UsageLocation -eq 'IT'", nil }),
		OnProgress: func(p usersync.Progress) {
			if !p.Done {
				fmt.Printf("%s: page %d, %d of ~%d users\n", p.Customer, p.Pages, p.Matched, p.Estimate)
			}
		},
		Logger: discardLogger,
	}
	for _, r := range s.Sync(context.Background(), "contoso") {
		fmt.Printf("%s: added %d, changed %d, removed %d, err %v\n", r.Customer, r.Added, r.Changed, r.Removed, r.Err)
	}
	for _, u := range sink.Users("contoso") {
		fmt.Println(u.UserPrincipalName)
	}
	// Output:
	// Graph $filter: usageLocation eq 'IT'
	// contoso: page 1, 1 of ~2 users
	// contoso: page 2, 2 of ~2 users
	// contoso: added 2, changed 0, removed 0, err <nil>
	// ada@contoso.example
	// cy@contoso.example
}
