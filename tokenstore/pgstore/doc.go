// Package pgstore is the tokenstore backend for several replicas: a
// PostgreSQL database through github.com/jackc/pgx/v5 (pgxpool). Every
// replica opens its own Store on the same database and schema; they see
// the same records and exclude each other through leases. A single process
// can use tokenstore/sqlitestore instead.
//
// Open creates a pool from a DSN; OpenPool uses a host's existing pool and
// leaves it open on Close. Both migrate the schema on open (tables
// tokenstore_records, tokenstore_leases and the version table
// tenantgate_migrations of package migrate, in Options.Schema if set, created
// if missing; Options.NoMigrate only checks them). Migrations run in one
// transaction holding pg_advisory_xact_lock, so replicas starting together
// queue and each step runs once; an up-to-date schema is recognised with a
// plain read. Key columns use the "C" collation so List and Scan order
// byte-wise, as tokenstore.Key.Compare does, whatever the database's
// default collation.
//
// Writes are optimistic: Put is a single INSERT ... ON CONFLICT DO NOTHING
// (create) or UPDATE ... WHERE version = $n (replace), so of any number of
// writers racing to replace one version exactly one wins and the others get
// a *tokenstore.ConflictError. Timestamps come from the server's clock.
//
// # Leases: a row with an expiry, not an advisory lock
//
// Lock takes a row of tokenstore_leases (name, random holder token,
// expires_at on the server's clock) with one INSERT ... ON CONFLICT DO
// UPDATE ... WHERE expires_at <= now(), polling while another holder has
// it; Release deletes the row only if it still carries the caller's token.
// Session advisory locks (pg_advisory_lock) were rejected: they belong to
// one connection, so a lease would have to pin a pooled connection until
// Release (exhausting the pool under many leases, and breaking behind
// transaction-pooling proxies such as PgBouncer), and they have no expiry:
// a replica that hangs while its connection stays up blocks everyone else
// forever. A lease row can be released from any pooled connection, lapses
// after its ttl whatever the holder does, is measured with one clock (the
// server's) for all replicas, and can be inspected with a SELECT. The
// price is polling (5 to 200 ms between attempts) and a row write per
// Lock.
//
// A Store is a tokenstore.Backend: it stores what it is given. Wrap it with
// tokenstore.New and a keyring so that sealed records reach the database
// encrypted.
//
// The tests need a database: set TENANTGATE_TEST_POSTGRES (for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable); each test works
// in a schema of its own, dropped afterwards. Without the variable they
// are skipped.
package pgstore
