// Package m365test is a fake Microsoft cloud — Entra ID (identity platform
// v2.0) and Microsoft Graph v1.0 — that MSAL Go and msgraph-sdk-go talk to
// unmodified. It is to Microsoft 365 what net/http/httptest is to HTTP:
// tenantgate's integration tests, the demo portal and the benchmarks run
// against it, and a provider's engineers can use it in their own tests.
//
// # Listeners
//
// [NewServer] starts two loopback listeners:
//
//   - a TLS listener ([Server.URL]) for the machine traffic: OpenID
//     discovery, the token endpoint, JWKS, MSAL's user realm lookup and
//     Graph. Its certificate comes from a private CA generated per server;
//     [Server.Client], [Server.Transport] and [Server.CertPool] trust it.
//   - a plain-http listener ([Server.BrowserURL]) for what a person's
//     browser opens: the sign-in + consent page of authorize and the admin
//     consent page, so an ordinary browser shows no certificate warning.
//     The discovery document names this listener's authorize endpoint (MSAL
//     checks only the issuer's host against the authority, not the
//     authorization endpoint's), so MSAL's AuthCodeURL points there; a GET
//     of authorize or adminconsent on the TLS listener redirects there too.
//
// # Using it with MSAL Go
//
// Two ways, both tested:
//
//  1. Custom authority: the authority is [Server.AuthorityURL] (e.g.
//     "https://127.0.0.1:41234/organizations"), with
//     confidential.WithInstanceDiscovery(false) (MSAL would otherwise ask
//     login.microsoftonline.com to validate the unknown host) and
//     confidential.WithHTTPClient(srv.Client()) so the private CA is trusted.
//  2. Real authority, injected client: the authority stays
//     "https://login.microsoftonline.com/organizations" and only
//     WithHTTPClient(srv.Client()) is set. The client's transport dials
//     login.microsoftonline.com:443 and graph.microsoft.com:443 to the fake,
//     whose certificate is valid for both names, so production code runs
//     with nothing but the HTTP client swapped.
//
// The same holds for Graph: either the base URL [Server.GraphURL] (add the
// fake's host to the allowed hosts of Kiota's authentication provider), or
// the real https://graph.microsoft.com/v1.0 with [Server.Transport] as the
// parent transport of Graph's middleware. Package graphtest builds such a
// msgraph-sdk-go client; this package does not import msgraph-sdk-go.
//
// # Tenants, apps, consent
//
// [Server.AddTenant] creates a tenant, addressable by GUID and by every
// verified domain, with its Global Admin admin@{domain} and N generated
// users, as "Demo data" below specifies. [Server.AddApp]
// registers an app (secrets with expiry, certificates, redirect URIs,
// PKCE requirement, required permissions). Consent is per tenant per app:
// admin consent (the adminconsent endpoint, the sign-in page's "Consent on
// behalf of your organization", or [Server.GrantAdminConsent]) and user
// consent (the sign-in page). "organizations" and "common" address every
// tenant. [Server.AddGuest] invites a guest (B2B) user whose home tenant
// differs; it signs in at the resource tenant with its home credentials.
//
// # Demo data
//
// A tenant with N users generates user i (0 <= i < N) deterministically, so
// a test can predict what any filter selects:
//
//   - userPrincipalName and mail: user%05d@{domain}; displayName: User %05d
//   - usageLocation, country, city by i % 10: US United States Seattle; GB
//     United Kingdom London; DE Germany Berlin; FR France Paris; IT Italy
//     Milan; ES Spain Madrid; NL Netherlands Amsterdam; SE Sweden Stockholm;
//     PL Poland Warsaw; JP Japan Tokyo
//   - officeLocation: the city followed by " Office"
//   - department by (i / 10) % 5: Sales, Engineering, Support, Finance,
//     Marketing
//   - jobTitle by (i / 50) % 4: Engineer, Manager, Analyst, Director
//   - accountEnabled: false when i % 20 == 19, else true
//   - companyName: the tenant's display name; id: a stable UUID derived
//     from the tenant and i
//   - createdDateTime: 2024-01-02T00:00:00Z plus i seconds
//   - identities: the userPrincipalName identity (issuer the UPN's
//     domain, issuerAssignedId the UPN) only
//
// The Global Admin admin@{domain} has usageLocation US, country United
// States, city Seattle, department Administration, jobTitle Global
// Administrator, accountEnabled true and createdDateTime
// 2024-01-01T00:00:00Z. Users added later ([Tenant.AddUsers],
// [Server.AddGuest]) were created at the fake's time ([Server.Now]), never
// before the user listed before them, so ascending createdDateTime is
// listing order; [Tenant.UpdateUser] gives a user more identities. With 50,000 users (the demo tenant
// of examples/server, contoso.onmicrosoft.com, "Contoso Ltd") the filter
// UsageLocation -eq 'IT' selects exactly 5,000.
//
// # Non-interactive sign-in
//
// [Server.SetAuthorizeAnswer] makes authorize and adminconsent answer at
// once with the redirect to the app, as decided by the test (which user,
// accept or decline, admin consent, or an AADSTS error), so a test drives
// the authorization code flow with an HTTP client that stops at the
// redirect URI.
//
// # Errors
//
// Identity errors have Entra's shape (error, error_description starting
// with "AADSTSnnnn:", error_codes, trace_id, correlation_id, timestamp) and
// its codes (see the Code constants); Graph errors have Graph's shape with
// innerError. MSAL surfaces the former as errors.CallErr whose response
// body carries error_codes.
//
// # Test controls
//
// [Server.InjectFault] (429 with or without Retry-After, 503, latency,
// dropped connections, any AADSTS code) per tenant, endpoint and grant
// type; [Server.RevokeSignInSessions], [Server.ExpireSecrets],
// [Server.WithdrawConsent]; [Server.Advance] moves the server's clock (for
// code expiry, the 90-day refresh token inactivity, secret expiry);
// [Server.Requests] and [Server.Count] for assertions; [Server.SentMail]
// for Graph sendMail; [Server.AddCallRecord] with change notifications;
// [Server.SetTeamsUserConfiguration] changes or removes a user's Teams
// Phone System configuration; [Server.SetMailFault] makes one mailbox's
// sendMail fail as Exchange Online does (mailbox not enabled, access or
// send-as denied, quota, invalid recipients, message size, 429 with or
// without Retry-After); [Server.AddGuest] adds a guest (B2B) user.
// Options.OpaqueAccessTokens issues access tokens that are not JWTs (a
// client must never decode one), Options.AdvancedQueryLag makes advanced
// queries read an index that lags behind writes. Granted app roles are
// readable through Graph as in Entra ID: servicePrincipals(appId='...'),
// /servicePrincipals/{id}/appRoleAssignments and Graph's own service
// principal with its appRoles ([AppRoleID]).
//
// # Teams Phone System and JSON batching
//
// GET /v1.0/admin/teams/userConfigurations lists every user's Teams
// configuration (the demo rule: users with i % 3 == 0 are voice-enabled,
// with a primary number of their country and policies; see
// [TeamsUserConfiguration]) with $top (default [TeamsDefaultTop], at most
// [TeamsMaxTop]), $select, $skiptoken paging and a $filter subset; GET
// /v1.0/admin/teams/userConfigurations/{id} reads one. Both need
// TeamsUserConfiguration.Read.All. Microsoft documents neither a page size
// nor per-property filter support for the endpoint, so both are
// assumptions of the fake: $filter accepts terms joined by "and", each
// isEnterpriseVoiceEnabled eq true|false, accountType eq '...' or
// featureTypes/any(x:x eq '...'), and answers anything else with 400
// BadRequest in Graph's error shape. POST /v1.0/$batch serves JSON
// batches of at most [MaxBatchRequests] requests with URLs relative to
// the version, each authorized, throttled and logged as if sent alone,
// with its own headers and status (a 429 carries its Retry-After), with
// dependsOn (424 after a failed dependency), answered out of request
// order.
//
// # Teams Phone provisioning
//
// Each tenant also holds what a provider changes to give users Teams Phone
// (design.md, "Licenses", "Telephone numbers", "Voice policies"): four
// subscribed SKUs ([SkuE3], [SkuTeamsPhone], [SkuCallingPlan],
// [SkuAudioConf]) served by GET /v1.0/subscribedSkus and as users'
// assignedLicenses and assignedPlans (POST /users/{id}/assignLicense
// changes them, with Graph's refusals); N telephone numbers at
// /v1.0/admin/teams/telephoneNumberManagement/numberAssignments ($filter,
// $select, $top up to [NumbersMaxTop], $skip), changed by assignNumber and
// unassignNumber (202 and a long-running operation that settles after
// Options.NumberOperationDelay on the server's clock) and updateNumber; and
// Teams policies resolved by getPolicyId and assigned by
// /admin/teams/policy/userAssignments/assign and unassign (at most
// [MaxPolicyAssignments] pairs a call). A user's Teams configuration
// derives from them: licenses give featureTypes, the inventory
// telephoneNumbers and Enterprise Voice, the assignments
// effectivePolicyAssignments. Test controls: [Tenant.SetVoiceControls]
// (number service unavailable, policy types refused),
// [Tenant.SetLicenseUnits], [Tenant.SetNumberCapabilities],
// [Tenant.EmergencyLocationID], Options.TeamsPropagationDelay (the user
// configuration lags the inventory) and [Tenant.VoiceLog], the accepted
// changes with their outcomes, to prove a number or license was assigned
// once.
//
// The command m365test/cmd/fakecloud runs a server standalone.
package m365test
