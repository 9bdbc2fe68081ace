// Package m365access is the core of tenantgate: it gets fresh Microsoft
// Graph tokens for every customer of a service provider, whatever way the
// customer connected.
//
// A [Manager] holds, per customer (the host's opaque customer ID):
//
//   - settings ([Manager.SaveSettings], [Manager.GetSettings]): the
//     tenant, the auth mode ([ModeToken] recommended, [ModeAppRegistration],
//     or the deprecated [ModePassword]), the service account, the
//     customer's app registration, QoE app and user filter. Saves validate
//     every field at once ([ValidationError]); secrets are sealed in the
//     tokenstore and never read back, only whether they are set and when
//     they expire.
//   - the token connection ([Manager.Begin], [Manager.Complete] or
//     [Manager.CompleteCallback] with the redirect's query): the
//     authorization code flow with state, PKCE S256 and nonce on the
//     provider's multi-tenant app, checked against the transaction, the
//     tenant, the service account and the granted scopes. The MSAL token
//     cache (which holds the refresh token) is stored sealed.
//   - day-two access ([Manager.Credential]): an azcore.TokenCredential for
//     msgraph-sdk-go (package m365access/graphclient, the only one that
//     compiles the SDK) or any Azure SDK client.
//     Fresh tokens come from memory; expiring ones are renewed once at a
//     time per customer (singleflight in-process, the tokenstore Locker
//     across replicas). Every customer has its own MSAL client, so many
//     tenants refresh in parallel. [Manager.Run] keeps token connections
//     alive inside Entra's 90-day inactivity window. A Manager remembers
//     each customer's mode in memory: a settings change saved through
//     another replica takes effect here when the cached token is renewed
//     (within the hour).
//   - admin consent ([Manager.ConsentURL], [Manager.CompleteConsent]),
//     switching modes without an outage ([Manager.SwitchToToken],
//     [Manager.SwitchMode]), [Manager.Validate] (a settings screen's
//     "Validate Authentication") and [Manager.Status] with its forecasts and
//     [Event]s. Access tokens are opaque: granted application permissions
//     are read through Graph (the app's service principal app role
//     assignments with Application.Read.All, recommended for exact
//     reports; else a Graph request per permission), delegated ones from
//     the token endpoint's granted scopes, the tenant from the id_token
//     and Graph's /organization, the account from Graph's /me.
//
// Failures from Entra ID and Graph become [*Error], which carries the
// AADSTS codes or Graph code, whether a retry can help and the [Action] a
// person must take; the library's own rejections are [*FlowError]. No
// error or log line holds a secret, token, authorization code or verifier.
//
// The package sits between the HTTP handlers (httpapi) and invitations
// (invite) above it and the tokenstore below it; m365test is
// the fake Microsoft cloud its tests run against.
package m365access
