package sqlsink_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// A pass stores a batch and commits; the portal then lists the users
// page by page.
func ExampleSink() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlsink-example")
	defer os.RemoveAll(dir)
	// Normally the tokenstore's database file.
	sink, err := sqlsink.OpenSQLite(ctx, filepath.Join(dir, "tenantgate.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sink.Close()

	pass, _ := sink.Begin(ctx, "contoso")
	c, _ := pass.Put(ctx, []usersync.User{
		{ID: "1", UserPrincipalName: "ada@contoso.example", DisplayName: "Ada"},
		{ID: "2", UserPrincipalName: "bob@contoso.example", DisplayName: "Bob"},
	})
	fmt.Printf("added %d\n", c.Added)
	if _, err := pass.Commit(ctx); err != nil {
		fmt.Println(err)
		return
	}

	page, _ := sink.List(ctx, "contoso", sqlsink.ListOptions{Limit: 1})
	fmt.Println(page.Users[0].DisplayName, page.Next != "")
	page, _ = sink.List(ctx, "contoso", sqlsink.ListOptions{Limit: 1, After: page.Next})
	fmt.Println(page.Users[0].DisplayName, page.Next != "")
	// Output:
	// added 2
	// Ada true
	// Bob false
}
