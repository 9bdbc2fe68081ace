// Package smtpmail is an invite.Mailer that delivers over SMTP with
// github.com/wneessen/go-mail: STARTTLS (the default) or implicit TLS,
// SMTP AUTH, and timeouts. Plain-text SMTP is allowed only to a loopback
// host, for development mail catchers such as mailpit.
//
// Each Send opens its own connection, so a Mailer is safe for concurrent
// use. Message bodies carry invitation links and are never logged.
package smtpmail
