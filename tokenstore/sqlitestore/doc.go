// Package sqlitestore is the embedded tokenstore backend: one SQLite
// database file through modernc.org/sqlite (pure Go, no cgo), the default
// for a single process or a few processes on one machine. For several
// replicas on different machines use tokenstore/pgstore.
//
// Open creates the file if needed (mode 0600), switches it to WAL (readers run
// alongside the single writer), sets a busy timeout and foreign keys on
// every pooled connection, and migrates the schema (tables tokenstore_records,
// tokenstore_leases; versions in tenantgate_migrations, see package migrate;
// Options.NoMigrate only checks them). Migrations are idempotent and
// safe when several processes open the same file at once: they run in an
// IMMEDIATE transaction that holds SQLite's write lock, and an up-to-date
// schema is recognised without taking it. Commits are durable
// (synchronous=FULL): a Put that returned survives a power loss, which
// matters for refresh tokens that cannot be fetched again. Keep the file on
// a local disk: WAL needs memory shared between the processes, which
// network file systems (NFS, SMB) do not provide.
//
// Writes are optimistic: Put is a single INSERT ... ON CONFLICT DO NOTHING
// (create) or UPDATE ... WHERE version = ? (replace), so of any number of
// writers racing to replace one version exactly one wins and the others get
// a *tokenstore.ConflictError. A statement that waits longer than
// Options.BusyTimeout for another process's write lock fails with an error
// matching ErrBusy; an ended context interrupts it, busy wait included.
//
// Leases (Lock) are rows of tokenstore_leases holding a random holder token
// and an expiry, so they exclude every process sharing the file, not only
// goroutines of this one. Lock polls until the row is free or lapsed;
// Release deletes the row only if it still carries the caller's token.
// Expiry is measured with the local clock, which all processes on one
// machine share.
//
// A Store is a tokenstore.Backend: it stores what it is given. Wrap it with
// tokenstore.New and a keyring so that sealed records reach the file
// encrypted.
package sqlitestore
