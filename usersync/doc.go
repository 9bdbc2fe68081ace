// Package usersync syncs the users of many customers' Microsoft 365
// tenants into a store the provider's portal lists, each customer with its
// own user filter.
//
// A Syncer reads each customer's filter (Get-CsOnlineUser syntax, from a
// FilterSource such as the m365access settings), compiles it with package
// usersync/filter into the part Microsoft Graph evaluates ($filter, with
// the advanced query headers when needed) and a client-side remainder,
// reads the users page by page from a Source and hands them in batches to
// a Sink. Many customers run at once (Syncer.Concurrency); the pages of
// one customer run in order. One customer failing — a revoked token,
// missing consent, throttling beyond the retries, a bad filter — never
// stops the others: each customer gets a Result with its counts (added,
// changed, unchanged, removed), its error (typically an *m365access.Error)
// and the action a person must take.
//
// Removals happen only at the end of a complete, successful pass: a pass
// that fails or whose context is cancelled removes nothing, so the
// previous snapshot stays.
//
// GraphSource is the Source for Microsoft Graph. It sends every request
// through Graph's middleware pipeline (msgraph-sdk-go-core, kiota-http-go; not
// msgraph-sdk-go's models) — the Azure Identity authentication
// provider with the customer's azcore.TokenCredential and allowed hosts,
// and the Graph client's middleware with retry (Retry-After on 429, 503
// and 504, exponential backoff otherwise) — and asks only for the
// properties it stores ($select), 999 users a page. It decodes the pages
// itself, with a tokenizer that knows the page shape (checked against
// encoding/json), instead of through Kiota's parse nodes, which are about
// ten times slower than encoding/json and allocate far more; memory stays
// at about one page per running customer however large the tenant.
//
// # Delta rounds
//
// With Syncer.Delta.Enabled, a sync after a customer's first one can be a
// delta round: GraphSource.ReadDelta reads /users/delta from the delta
// link stored with the Sink's Checkpoint, the Syncer evaluates the whole
// filter on the changed users (Graph cannot filter delta rounds) and the
// DeltaPass stores them, removing those deleted or changed out of the
// filter; Teams configurations are fetched again for the changed users
// only. A full read takes the next delta link before it reads. The
// planner reads every user again when no link is stored, the filter
// changed, Graph refuses the link (syncStateNotFound: links live seven
// days), every DeltaOptions.FullEvery rounds or FullAfter, or when the
// last delta round cost as many requests as a full read; Result.Round and
// Result.Reason say which it chose and why. MemorySink and sqlsink's Sink
// keep checkpoints.
//
// MemorySink keeps users in memory; package usersync/sqlsink stores them
// in SQLite or PostgreSQL next to the tokenstore.
package usersync
