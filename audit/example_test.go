package audit_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/tenantgate/tenantgate/audit"
)

func Example() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tenantgate.db")+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	trail, err := audit.New(ctx, audit.Options{DB: db, Dialect: audit.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	_ = trail.Append(ctx, audit.Entry{Actor: "alice@provider.example", Action: "settings.write", Customer: "contoso", Outcome: audit.Succeeded})
	_ = trail.Append(ctx, audit.Entry{Actor: "alice@provider.example", Action: "invitations.write", Customer: "contoso", Outcome: audit.Succeeded})
	page, err := trail.List(ctx, audit.Query{Customer: "contoso"})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range page.Entries {
		fmt.Println(e.Actor, e.Action, e.Outcome)
	}
	// Output:
	// alice@provider.example invitations.write succeeded
	// alice@provider.example settings.write succeeded
}
