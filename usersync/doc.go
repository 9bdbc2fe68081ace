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
// through msgraph-sdk-go's pipeline — the Azure Identity authentication
// provider with the customer's azcore.TokenCredential and allowed hosts,
// and the Graph client's middleware with retry (Retry-After on 429, 503
// and 504, exponential backoff otherwise) — and asks only for the
// properties it stores ($select), 999 users a page. It decodes the pages
// itself, streaming with encoding/json, instead of through Kiota's parse
// nodes, which are about ten times slower and allocate far more; memory
// stays at about one page per running customer however large the tenant.
//
// MemorySink keeps users in memory; package usersync/sqlsink stores them
// in SQLite or PostgreSQL next to the tokenstore.
package usersync
