// Package graphmail is an invite.Mailer that sends from the provider's own
// Microsoft 365 mailbox through Microsoft Graph (POST
// /users/{sender}/sendMail), through Graph's middleware pipeline (plain
// JSON, not msgraph-sdk-go's models).
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
// Refusals come back as [*SendError] with a [Reason] and the action a
// person must take: grant Mail.Send (ReasonPermission), license or enable
// the sender mailbox (ReasonMailbox), fix the recipient address
// (ReasonRecipient), free the full mailbox (ReasonQuota), and so on.
// Only throttling (429 ApplicationThrottled / MailboxConcurrency, with or
// without Retry-After) and 503/504 are retried, with backoff
// (Config.MaxRetries, Config.RetryDelay); invite.Service then records the
// invitation as failed with the error's text, so nothing is lost and the
// provider sees why.
package graphmail
