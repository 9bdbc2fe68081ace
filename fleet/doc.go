// Package fleet runs day-two operations across every customer as durable
// background jobs on River (github.com/riverqueue/river): scheduled health
// checks (m365access Validate, with secret and certificate expiry), scheduled
// user syncs with a per-customer interval and jitter, token keep-alive well
// inside the 90-day refresh-token inactivity limit, the same jobs on demand,
// and offboarding.
//
// One Fleet wraps one River client. On PostgreSQL (riverpgxv5) several
// replicas share the job table: periodic work is enqueued by the elected
// leader only, jobs are unique per customer and kind across replicas, and a
// job left running by a replica that died is rescued and retried by another.
// On the embedded SQLite (riversqlite) Fleet opens its own database/sql pool
// with one connection. Both run River's migrations in New.
//
// Graph's throttling limits are kept by a Budget under all of the app's
// Graph traffic (user syncs, Validate, keep-alive, QoE): per customer and
// per app. Replicas on PostgreSQL share the per-app budget: each keeps a
// heartbeat row in tenantgate_fleet_replicas and spends the app's budget
// divided among the live replicas that are busy (Config.Budget).
//
// Offboarding erases everything tenantgate holds for a customer and keeps
// a report (OffboardReport): per item what was deleted or revoked (QoE's
// subscription at Microsoft, through its hook) and, for what only the
// customer's admin can remove at Microsoft (the provider's enterprise
// application, their own app registration's credential), the exact step.
//
// A job whose worker is gone — its process crashed, was killed or lost the
// database — is given back in seconds rather than after River's
// RescueAfter (35 minutes by default), whatever its kind: the fleet reads
// River's job rows, not its own records. On PostgreSQL a running job whose
// process (the last of its attempted_by, River's client ID, which is the
// replica's ID in tenantgate_fleet_replicas) has no heartbeat within three
// Config.ReplicaHeartbeat intervals is made available again, with an
// attempt error saying so, by whichever replica sees it first (every
// replica looks at each heartbeat); on SQLite, where one process owns the
// file, Start gives back every job left running before it works. SyncNow
// and CancelSync look first too, so a new sync is accepted and a cancel
// takes effect at once. A sync's run record says RunInterrupted (when its
// process was last heard of, how far it got). Another package's job kind
// gets this by running on the fleet's River client (a Plugin's workers)
// with a worker that can run again after an interrupted attempt — the
// attempt error "orphaned: ..." in the job's Errors tells it that the
// previous attempt died — and needs nothing else; one process per SQLite
// file is assumed.
//
// Other packages (qoe, events, voice) plug in as a Plugin in
// Config.Plugins: New calls the small optional interfaces each implements
// (workers, periodic jobs, offboarding hooks, the Graph budget, then the
// inserter) in order, as River calls its plugins and hooks. Config.Workers,
// Config.PeriodicJobs and Config.Offboard remain as lower-level hooks for a
// function without a plugin; Fleet.Inserter enqueues from outside.
package fleet
