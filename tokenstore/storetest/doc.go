// Package storetest is the conformance suite for tokenstore backends.
//
// Every backend in this module runs it (memory, SQLite, PostgreSQL), and a
// third-party backend can prove itself the same way:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) tokenstore.Backend {
//			b := mybackend.Open(...)
//			t.Cleanup(func() { b.Close() })
//			return b
//		})
//	}
//
// Run checks the Store contract (create-only and versioned writes with
// typed conflicts, deletes, listing and paging in byte order, isolation
// between customers and kinds, timestamps, context cancellation, 50
// concurrent writers), Backend.Scan, the Locker (mutual exclusion, lapse
// after the ttl, ErrLeaseLost, cancellation while waiting) and, through
// tokenstore.New, the sealing layer on top of the backend (round trip, no
// plaintext in the backend, blobs bound to their record, key rotation).
//
// The suite may share one backend between its tests, as a PostgreSQL
// database is shared: every test writes under its own random customer IDs
// and lease names and never assumes the backend is empty.
package storetest
