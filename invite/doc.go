// Package invite sends the invitations that start a customer's token
// connection: an email to the customer's Global Admin or service account
// with a link to the invitation wizard.
//
// A [Service] creates, sends, resends, revokes, lists and redeems
// invitations of each customer. It keeps them in a [tokenstore.Store]; the
// link's token is 256 bits from crypto/rand and only its SHA-256 is ever
// stored, so a copy of the database opens no invitation. Links are built
// from the configured public base URL only, never from a request's Host.
// Sends are rate-limited per customer and per recipient, redeem guesses per
// client (for example per IP address), and every field that reaches a mail
// header is checked for header injection.
//
// Mail leaves through a [Mailer]: package invite/smtpmail delivers over
// SMTP, invite/outbox keeps messages in memory for development and tests,
// and invite/graphmail (which alone imports msgraph-sdk-go) sends from the
// provider's own mailbox through Microsoft Graph.
//
// The lifecycle of an invitation:
//
//	pending --Redeem--> opened --Complete--> completed
//	   |                  |
//	   +----Revoke/Resend-+--> revoked
//	   +----time passes---+--> expired
//	pending --mail fails--> failed
//
// The customer-facing pages (package httpapi) call [Service.Redeem] with the
// token from the link when the landing page is shown and when the wizard
// starts, and [Service.Complete] once the token connection is established;
// after that the link opens nothing.
package invite
