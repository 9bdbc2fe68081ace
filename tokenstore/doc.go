// Package tokenstore is everything tenantgate persists: customer settings,
// invitations, sealed refresh-token caches and the like, as small
// versioned records.
//
// # Records and the Store
//
// A Record is named by a Key (customer ID, kind, name) and carries a
// Version for optimistic concurrency: Put with expectVersion 0 creates,
// Put with n replaces exactly version n, and a stale write fails with a
// *ConflictError (errors.Is(err, ErrConflict)) instead of overwriting
// someone else's change. List pages through one customer's records of one
// kind in byte order of Name.
//
// # Backends
//
// A Backend stores records as given and grants leases (Locker) so that
// only one replica refreshes a customer's token at a time. This module has
// three: memstore (memory, tests and demos), sqlitestore (SQLite, the
// embedded default) and pgstore (PostgreSQL, for several replicas). Every backend runs the
// conformance suite in package storetest.
//
// # Sealing
//
// New wraps a Backend with a Keyring into a SealedStore, the Store the
// rest of the library uses. Records with Sealed set have their Data
// encrypted with AES-256-GCM before the backend sees it, bound to the
// record's customer, kind and name, so a database dump holds no secrets
// and a blob copied to another record does not open. Blobs name the key
// that sealed them; the keyring's last (primary) key seals and all keys
// open, so keys rotate without downtime:
//
//  1. generate a key (GenerateKey, or `openssl rand -base64 32`) and append
//     "id:base64key" to the keyring configuration of every replica;
//  2. run SealedStore.Rotate once to re-seal old records under it;
//  3. remove the old key from the configuration.
//
// Keys come from configuration with ParseKeyring, LoadKeyringFile or
// KeyringFromEnv; a missing, short or malformed key is an error meant to
// stop the process at startup (errors.Is(err, ErrKeyConfig)). A blob that
// fails to open is an *OpenError matching ErrMalformedBlob, ErrUnknownKey
// or ErrTampered, never wrong plaintext.
//
// Package msalcache stores MSAL Go's token cache in a Store, sealed.
package tokenstore
