package smtpmail_test

import (
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/smtpmail"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// A provider's mail relay with STARTTLS on port 587 and SMTP AUTH, plugged
// into the invitation service.
func ExampleNew() {
	mailer, err := smtpmail.New(smtpmail.Config{
		Host:     "smtp.fabrikam.example",
		Username: "invites@fabrikam.example",
		Password: lookupSecret("smtp-password"), // from a secret store, never from code
		From:     "invites@fabrikam.example",
		FromName: "Fabrikam IT",
		Timeout:  20 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = invite.New(invite.Options{
		Store:         memstore.New(),
		Mailer:        mailer,
		PublicBaseURL: "https://portal.fabrikam.example",
	})
	fmt.Println(err)

	// Plain-text SMTP is for a mail catcher on the developer's machine only.
	_, err = smtpmail.New(smtpmail.Config{Host: "smtp.fabrikam.example", Security: smtpmail.Insecure, From: "invites@fabrikam.example"})
	fmt.Println(err)
	// Output:
	// <nil>
	// smtpmail: Security Insecure is only allowed to a loopback host, not "smtp.fabrikam.example": use StartTLS or ImplicitTLS
}

// lookupSecret stands for the host's secret store.
func lookupSecret(string) string { return "not-a-real-password" }
