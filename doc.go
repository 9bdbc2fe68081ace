// Package tenantgate is a library that managed service providers embed in
// their own Go services to reach their customers' Microsoft 365 tenants
// safely: onboarding (an emailed invitation that ends in a delegated
// sign-in and consent, or the customer's own app registration), day-two
// access (a fresh Microsoft Graph token for every tenant, refreshed and kept
// alive in the background) and filtered user sync.
//
// This root package holds no code; the work is done by its packages:
//
//   - [github.com/tenantgate/tenantgate/tokenstore]: everything the library
//     persists, versioned for optimistic concurrency and sealed with an
//     AES-256-GCM keyring where secret. Backends: memstore, sqlitestore (the
//     embedded default) and pgstore (several replicas); storetest is the
//     conformance suite a third-party backend runs; msalcache plugs a store
//     into MSAL Go's token cache.
//   - [github.com/tenantgate/tenantgate/m365access]: per-customer settings,
//     the token connection (authorization code + PKCE), app registration,
//     admin consent, validation, status, and Credential(customer), an
//     azcore.TokenCredential for msgraph-sdk-go or any Azure SDK client.
//     Errors carry the action a person must take.
//   - [github.com/tenantgate/tenantgate/m365test]: a fake
//     Microsoft cloud (Entra ID and Graph) for tests and demos, which MSAL Go
//     and msgraph-sdk-go talk to unmodified.
//   - [github.com/tenantgate/tenantgate/invite]: invitation links that are
//     safe to email, and mailers (SMTP, Graph sendMail, a dev outbox).
//   - [github.com/tenantgate/tenantgate/usersync] and its filter package:
//     Get-CsOnlineUser-style filters pushed down to Graph, and the sync of
//     many customers at once into a Sink.
//   - [github.com/tenantgate/tenantgate/fleet]: day-two operations for every
//     customer as River jobs shared by replicas: scheduled health checks
//     and user syncs, token keep-alive, offboarding, the fleet listing.
//   - [github.com/tenantgate/tenantgate/httpapi]: http.Handlers a host
//     mounts, the JSON admin API and the customer-facing invitation wizard.
//
// # Wiring
//
// A host service opens a store, builds the access manager for its provider
// app, and asks it for credentials wherever it calls Graph:
//
//	kr, err := tokenstore.KeyringFromEnv("TENANTGATE_SEALING_KEYS")
//	backend, err := pgstore.Open(ctx, dsn, pgstore.Options{})
//	store := tokenstore.New(backend, kr)
//
//	access, err := m365access.New(m365access.Config{
//		Provider: m365access.ProviderConfig{ /* the provider's multi-tenant app */ },
//		Store:    store,
//		Locker:   store, // one refresh per customer across replicas
//	})
//	cred := access.Credential("customer-42") // an azcore.TokenCredential
//
//	// Checks, syncs and token keep-alive for every customer, on River.
//	jobs, err := fleet.New(ctx, fleet.Config{Postgres: pool, Access: access, Store: store})
//	err = jobs.Start(ctx)
//	defer jobs.Stop(ctx)
//
// The reference portal in examples/server wires every package, httpapi
// included, and runs with `go run ./examples/server`.
package tenantgate
