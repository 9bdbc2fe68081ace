// Package sqlbackend holds what the SQL backends of tokenstore
// (tokenstore/sqlitestore and tokenstore/pgstore) share: key and argument
// checks, page sizes, lease holder tokens and the polling loop that waits
// for a lease. It runs no SQL itself, so each backend keeps its own
// dialect, error mapping and migrations.
package sqlbackend
