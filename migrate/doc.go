// Package migrate is tenantgate's one schema migration mechanism: every
// package that keeps tables (the tokenstore backends, sqlsink, qoe, voice,
// events, audit, the fleet's replica table) describes its schema history
// as a Line, and Up applies the steps a database lacks, recording them in
// one version table, tenantgate_migrations, with a row per line and
// version, as River's rivermigrate records its lines in river_migration.
//
// By default each package's Open or New migrates its own line, so a
// demo or a single process needs nothing more. A database under change
// control is migrated apart from the application instead: run
//
//	go run ./examples/server migrate -postgres-dsn ...
//
// (the portal's "migrate" subcommand, which applies every line, River's
// included) before the rollout, and open everything with the NoMigrate
// option: an Open or New with NoMigrate checks that its line is current
// and fails with an *OutdatedError naming the command otherwise.
//
// Databases made before this table existed recorded each line in a table
// of its own (tenantgate_qoe_migrations, tokenstore_migrations, ...):
// Up adopts those versions into tenantgate_migrations the first time it
// sees the line, and leaves the old table in place for older replicas
// still running during a rollout.
//
// To add a migration to a package, append a step to its Line's Steps
// (never edit a shipped one) and run the package's tests; the README's
// "Contributing" section says more.
package migrate
