// Package events tells the host what happened to its customers' Microsoft
// 365 access: typed lifecycle events with a stable type
// (connection.connected, connection.failed, secret.expiring, ...), sent
// to in-process subscribers and delivered as signed webhooks following
// Standard Webhooks (https://www.standardwebhooks.com).
//
// A Bus records every event in the database it is given (SQLite or
// PostgreSQL, normally the one the tokenstore uses) before anything else
// sees it. An event carries a deduplication key, unique per customer in
// that table, so a transition observed by several replicas sharing one
// PostgreSQL is emitted once: the first insert wins, the others are
// dropped.
//
// Webhook deliveries are River jobs (github.com/riverqueue/river): Emit
// enqueues one job per endpoint through an Inserter (a *river.Client
// satisfies it) and the worker that Bus.AddWorkers adds to a
// *river.Workers sends it, retrying with backoff. The job holds the
// signed body, never the signing secret: secrets stay in the process
// configuration and sign each attempt with a fresh webhook-timestamp.
// Every delivery's state is kept in a delivery log (Bus.Deliveries).
//
// Payloads never hold a secret, a token or a link: event data has fixed
// fields, and error messages pass through Scrub, which removes URLs and
// anything shaped like a token.
//
// A Bus is a fleet plugin: put it in fleet.Config.Plugins and the fleet
// adds its worker (AddWorkers) and gives it the River client (UseInserter).
//
// Connection state changes come from m365access: pass Bus.OnConnection as
// m365access.Config.OnEvent. CheckExpiry turns a customer's status into
// secret.expiring (30, 7 and 1 days before) and secret.expired events.
package events
