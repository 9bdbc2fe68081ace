// Package sqlsink is a usersync.Sink on SQL: the synced users table the
// portal lists, in the same SQLite file or PostgreSQL database the
// tokenstore uses (its own tables, prefixed tenantgate_, migrated on
// open).
//
// Each customer's users are rows keyed by (customer, user ID) with a
// content hash (usersync.User.Hash) for change detection and the
// generation of the pass that last saw them. A pass takes the next
// generation of the customer, upserts each batch in one transaction
// (rows whose hash is unchanged only get the new generation) and, at
// Commit, removes in one statement the customer's rows of any other
// generation. An aborted or interrupted pass removes nothing; rows it
// already added or changed keep their new content, so the table never
// holds a user Graph did not return, and every user of the previous
// complete pass stays until the next complete pass.
//
// A newer pass of the same customer (another replica, say) supersedes an
// older one still running: the older one's writes and Commit then fail
// with ErrSuperseded and remove nothing.
package sqlsink
