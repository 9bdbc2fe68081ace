// Package outbox is an invite.Mailer that keeps messages in memory instead
// of sending them, for development and tests. The reference portal
// (examples/server) lists them so that a newcomer can follow an invitation
// link without any mail server.
//
// The messages hold live invitation links: never use an Outbox where
// people other than the developers can read it.
package outbox
