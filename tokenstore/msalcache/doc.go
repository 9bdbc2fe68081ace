// Package msalcache keeps MSAL Go's token cache in a tokenstore.Store,
// sealed, so that tokens (and the refresh tokens MSAL never hands out)
// survive restarts and are shared by replicas.
//
// A Cache implements cache.ExportReplace from
// github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache:
// pass it to confidential.New with confidential.WithCache. MSAL partitions
// its cache (app tokens per client and tenant, user tokens per home
// account); each partition is one sealed record of the Cache's customer,
// named by a hash of the partition key.
//
// MSAL holds one lock per client across Replace, the network call and
// Export, so all tenants behind one client queue on each other: give each
// customer (or each shard of customers) its own client and Cache. To keep
// two replicas from refreshing the same customer's token at once, hold a
// tokenstore lease around the acquisition.
package msalcache
