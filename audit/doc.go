// Package audit keeps an append-only trail of who did what to which
// customer: every admin action that changes something (settings,
// invitations, consent, mode switches, sync starts, offboarding, QoE
// settings), with the acting principal the host's authorizer names, the
// customer, the action, its outcome, the time and the request ID.
//
// A Log lives in the same database as the rest of tenantgate's records
// (SQLite or PostgreSQL). The table refuses UPDATE and DELETE with a
// trigger, so the trail survives offboarding and cannot be edited
// through the library. Entries hold no secrets: their fields are fixed
// and free text passes through a scrubber that removes links and
// anything shaped like a token.
//
// Credential use by host code is counted per customer per hour rather
// than logged per call: wrap a customer's azcore.TokenCredential with
// Log.Credential, run Log.Run to flush the counts, and read them with
// Log.CredentialUse.
package audit
