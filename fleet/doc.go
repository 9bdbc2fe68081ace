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
// Other packages (qoe, events, voice) plug in as a Plugin in
// Config.Plugins: New calls the small optional interfaces each implements
// (workers, periodic jobs, offboarding hooks, the Graph budget, then the
// inserter) in order, as River calls its plugins and hooks. Config.Workers,
// Config.PeriodicJobs and Config.Offboard remain as lower-level hooks for a
// function without a plugin; Fleet.Inserter enqueues from outside.
package fleet
