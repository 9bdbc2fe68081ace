// Package memstore is the in-memory tokenstore.Backend: records live in a
// map guarded by a mutex and vanish with the process, and leases are
// in-process only.
//
// Use it in tests and demos, and as the reference against which the
// conformance suite (package storetest) was written. For anything that must
// survive a restart use the SQLite backend; for several replicas use
// PostgreSQL. Wrap it with tokenstore.New to seal secret records.
package memstore
