// Package graphmail is an invite.Mailer that sends from the provider's own
// Microsoft 365 mailbox through Microsoft Graph (POST
// /users/{sender}/sendMail) with msgraph-sdk-go.
//
// The Graph client must authenticate as the provider's app in the
// provider's own tenant with the application permission Mail.Send (admin
// consent granted). Mail.Send lets an app send as any mailbox of the
// tenant: restrict it to the sending mailbox with an Exchange Online
// application access policy (or RBAC for Applications).
//
// Graph's sendMail takes one body, so the message goes out as HTML; the
// text part is not sent (Exchange derives a plain-text alternative for
// clients that want one).
//
// This is the only invite package that imports msgraph-sdk-go, so that
// package invite itself compiles without it.
package graphmail
