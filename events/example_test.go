package events_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/riverqueue/river"
	_ "modernc.org/sqlite"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/m365access"
)

// A host subscribes in process and passes OnConnection to m365access;
// with webhook endpoints, it registers the delivery worker on its River
// client's Workers and hands the client back as the Inserter.
func Example() {
	dir, _ := os.MkdirTemp("", "events-example")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "tenantgate.db")+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	ctx := context.Background()
	bus, err := events.New(ctx, events.Options{DB: db, Dialect: events.SQLite, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	bus.Subscribe(func(_ context.Context, e events.Event) {
		fmt.Println(strings.TrimSpace(fmt.Sprint(e.Type, " ", e.Data.Customer, " ", e.Data.Action)))
	})
	workers := river.NewWorkers()
	if err := bus.AddWorkers(workers); err != nil {
		log.Fatal(err)
	}
	// ... river.NewClient(driver, &river.Config{Workers: workers, ...}),
	// then bus.UseInserter(ctx, client).

	// m365access.Config{OnEvent: bus.OnConnection, ...} reports changes:
	bus.OnConnection(m365access.Event{Customer: "contoso", From: m365access.StateNotConnected, To: m365access.StateConnected, Transition: "1/1"})
	bus.OnConnection(m365access.Event{Customer: "contoso", From: m365access.StateConnected, To: m365access.StateReauthorizationRequired,
		Action: m365access.ActionReInvite, Transition: "1/2"})
	// Output:
	// connection.connected contoso
	// connection.failed contoso reInvite
}
