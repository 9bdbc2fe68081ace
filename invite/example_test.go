package invite_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// Example sends an invitation into a development outbox, follows its link
// as the customer's admin would, and completes it.
func Example() {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC) }
	box := outbox.New(outbox.Options{})
	svc, err := invite.New(invite.Options{
		Store:         memstore.New(), // in production: a sealed SQLite or PostgreSQL store
		Mailer:        box,            // in production: smtpmail or graphmail
		PublicBaseURL: "https://portal.example.com",
		Branding:      invite.Branding{ProviderName: "Fabrikam IT", SupportEmail: "help@fabrikam.example"},
		Now:           clock,
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}

	inv, err := svc.Send(ctx, invite.SendRequest{
		Customer:     "cust-42",
		CustomerName: "Contoso Ltd",
		Tenant:       "contoso.onmicrosoft.com",
		Recipient:    "admin@contoso.example",
		SentBy:       "Alice Admin",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(inv.Status, "until", inv.ExpiresAt.Format(time.DateOnly))

	msg := box.List()[0].Message
	fmt.Println("To:", msg.To)
	fmt.Println("Subject:", msg.Subject)

	// The customer's admin opens the link: the wizard page calls Redeem
	// with the token from the path and the client's address.
	token := regexp.MustCompile(`/invite/([\w-]{43})`).FindStringSubmatch(msg.Text)[1]
	opened, _ := svc.Redeem(ctx, token, "203.0.113.7")
	fmt.Println(opened.Status)

	// Once the token connection is established, the link is used up.
	done, _ := svc.Complete(ctx, "cust-42", inv.ID)
	fmt.Println(done.Status)
	_, err = svc.Redeem(ctx, token, "203.0.113.7")
	fmt.Println(errors.Is(err, invite.ErrCompleted))
	// Output:
	// pending until 2026-12-03
	// To: admin@contoso.example
	// Subject: Fabrikam IT asks you to connect Contoso Ltd's Microsoft 365 tenant
	// opened
	// completed
	// true
}
