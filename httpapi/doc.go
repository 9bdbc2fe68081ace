// Package httpapi is the net/http face of tenantgate: the handlers a
// provider mounts into its own web server.
//
// It has two parts that can be mounted together (New) or apart:
//
//   - NewAdmin: the JSON admin API for the provider's admins. Every route
//     asks the host's Authorizer (there is no open admin API), refuses
//     cross-origin browser requests (net/http.CrossOriginProtection),
//     reads JSON bodies of at most 1 MiB with unknown fields refused and
//     answers errors as application/problem+json (RFC 9457) with a stable
//     code, the offending fields and, where m365access knows it, the
//     action a person must take. Secrets are write-only: reads say only
//     whether one is set. GET /openapi.json describes every route.
//   - NewWizard: the customer-facing invitation wizard (html/template
//     pages, embedded and overridable): the landing page of an invitation
//     link, the "Sign in with Microsoft" start, the sign-in callback and
//     the admin consent callback. Pages carry a strict Content Security
//     Policy, Referrer-Policy no-referrer and X-Frame-Options DENY; the
//     sign-in is bound to the browser by an HttpOnly, SameSite=Lax cookie.
//
// The handlers hold no global state and build every link from the
// Manager's public base URL (m365access.ProviderConfig.PublicBaseURL, the
// one place it is configured), never from a request's Host, so they work under any
// prefix (http.StripPrefix). They sit on top of m365access (settings,
// connections, consent, status), invite (invitations) and fleet (user
// syncs and offboarding as River jobs, unique per customer across
// replicas, retried with backoff and cancellable; the latest run of each
// customer is kept in the tokenstore, so a restart shows it and a run a
// dead replica left is retried elsewhere; the fleet listing).
//
// POST /customers creates a customer: its ID (customer), display name and
// first settings; it answers 409 (customer_exists, field customer) when
// the ID is taken and 201 with Location otherwise. A refused body (400,
// 422) writes nothing. Every route of a customer answers 404 for an ID
// never created, except PUT /customers/{customer}/m365, which creates
// one as before (clients written before POST /customers keep working;
// send If-Match to only update), and the audit trail and events, which
// outlive customers. The OpenAPI document names a bearer security scheme
// (what the host's Authorizer accepts), servers (".", the mount point),
// unique operationIds and each route's 4xx/5xx besides default. A query parameter a route does not take is refused
// (400 invalid_query, naming it). A PUT accepts and ignores the read-only fields of
// Settings (customer, version, updatedAt, ...), so what a GET returned
// can be sent back.
//
// GET /customers takes limit (1 to 500, default 50), after (the next
// cursor of the previous page), state (a Customer state) and needsAction
// (true: only customers a person must act on). DELETE /customers/{customer}
// starts the offboarding job and answers 202 at once; calling it again
// returns the same job and, once the job began, its report (items
// deleted, revoked, or left to the customer's admin with the exact step
// at Microsoft); once it finished the customer is gone from GET
// /customers and GET /customers/{customer} answers 404.
//
// At shutdown, call Close on the *Handler New or NewAdmin returned, then
// stop the fleet (which drains running jobs), then close the Store: Close
// refuses new sync runs (shutting_down).
//
// Admin routes (relative to the mount point), with the JSON schema of the
// request body, the success status (OK) and the schema of the response body.
// The schemas are those of the OpenAPI 3.1 document the API serves at GET
// /openapi.json (components.schemas); every error is a Problem
// (application/problem+json). Tests check the document against the JSON
// types of the handlers and against the handlers' answers.
//
//	METHOD PATH                                          REQUEST           OK  RESPONSE
//	GET    /customers/{customer}/m365                    -                 200 Settings
//	PUT    /customers/{customer}/m365                    SettingsUpdate    200 Settings
//	POST   /customers/{customer}/m365/validate           -                 200 ValidationReport
//	POST   /customers/{customer}/m365/invitations        InvitationRequest 201 Invitation
//	GET    /customers/{customer}/m365/invitations        -                 200 InvitationList
//	DELETE /customers/{customer}/m365/invitations/{id}   -                 200 Invitation
//	POST   /customers/{customer}/m365/refresh-token      -                 201 WizardLink
//	POST   /customers/{customer}/m365/switch-to-token    -                 200 SignInLink
//	POST   /customers/{customer}/m365/consent            -                 200 ConsentLink
//	GET    /customers/{customer}/m365/status             -                 200 Status
//	GET    /customers/{customer}/m365/qoe                -                 200 QoE
//	PUT    /customers/{customer}/m365/qoe                QoEUpdate         200 QoE
//	POST   /customers                                    CustomerCreate    201 Settings
//	GET    /customers                                    -                 200 CustomerPage
//	GET    /customers/{customer}                         -                 200 Customer
//	DELETE /customers/{customer}                         -                 202 Offboarding
//	POST   /customers/{customer}/users/sync              -                 202 SyncRun
//	GET    /customers/{customer}/users/sync              -                 200 SyncRun
//	DELETE /customers/{customer}/users/sync              -                 202 SyncRun
//	GET    /customers/{customer}/users                   -                 200 UserPage
//	GET    /customers/{customer}/users/scope-preview     -                 200 ScopePreview
//	GET    /customers/{customer}/qoe/summary             -                 200 QoESummary
//	GET    /customers/{customer}/qoe/calls               -                 200 QoECallPage
//	GET    /customers/{customer}/qoe/pstn                -                 200 QoEPSTN
//	POST   /customers/{customer}/m365/qoe/validate       -                 200 QoEValidationReport
//	GET    /audit                                        -                 200 AuditPage
//	GET    /customers/{customer}/audit                   -                 200 AuditPage
//	GET    /customers/{customer}/audit/verify            -                 200 AuditChainReport
//	GET    /customers/{customer}/events                  -                 200 EventList
//	GET    /events                                       -                 200 EventList
//	GET    /webhooks/deliveries                          -                 200 DeliveryList
//	POST   /customers/{customer}/webhooks/deliveries/{event}/{endpoint}/replay -                 200 Delivery
//	GET    /customers/{customer}/voice/numbers           -                 200 VoiceNumberPage
//	POST   /customers/{customer}/voice/numbers/refresh   -                 202 VoiceOperation
//	GET    /customers/{customer}/voice/ranges            -                 200 VoiceRanges
//	PUT    /customers/{customer}/voice/ranges            VoiceRangesPut    200 VoiceRanges
//	GET    /customers/{customer}/users/{user}/voice      -                 200 UserVoice
//	PUT    /customers/{customer}/users/{user}/voice      UserVoiceSet      202 VoiceOperation
//	DELETE /customers/{customer}/users/{user}/voice      -                 202 VoiceOperation
//	GET    /customers/{customer}/voice/operations        -                 200 VoiceOperationPage
//	GET    /customers/{customer}/voice/operations/{id}   -                 200 VoiceOperation
//	POST   /customers/{customer}/voice/operations/{id}/cancel -                 200 VoiceOperation
//	GET    /customers/{customer}/voice/profiles          -                 200 VoiceProfiles
//	GET    /customers/{customer}/voice/profiles/{profile} -                 200 VoiceProfile
//	PUT    /customers/{customer}/voice/profiles/{profile} VoiceProfilePut   200 VoiceProfile
//	DELETE /customers/{customer}/voice/profiles/{profile} -                 204 -
//	POST   /customers/{customer}/voice/plans             VoicePlanRequest  201 VoicePlan
//	GET    /customers/{customer}/voice/plans/{id}        -                 200 VoicePlan
//	POST   /customers/{customer}/voice/plans/{id}/apply  -                 202 VoiceOperation
//	GET    /voice                                        -                 200 VoiceFleetPage
//	GET    /openapi.json                                 -                 200 the OpenAPI document
//
// GET /customers/{customer}/users takes limit (1 to 1000, default 100),
// after (the next cursor of the previous page) and filter (a user filter
// in the sync's language, Teams attributes included, evaluated on the
// stored users; total then counts the matching ones) and q (search text:
// name, UPN or mail containing it, or a phone number containing its
// digits). Searching never changes the sync scope; GET
// /customers/{customer}/users/scope-preview?userFilter=... says how many
// synced users the next sync would remove under a new scope (and whether
// that is more than a tenth, for a person to confirm) without saving it. Each User carries
// its Teams Phone System fields: lineUri (tel: and the primary number, or
// null), enterpriseVoiceEnabled, accountType, featureTypes,
// telephoneNumbers ({number, category}) and policies (policy type to
// name; an absent type is on the Global policy). The qoe/summary and
// qoe/pstn routes take from and to (UTC days, YYYY-MM-DD or RFC 3339;
// default the last 30 days); qoe/calls takes from and to (default the
// last 7 days), poor=true, limit and after. New also mounts the QoE
// notification receiver at POST /qoe/notifications when Config.QoE is
// set: Microsoft calls it, so it asks no Authorizer; each notification's
// clientState is checked instead (see qoe.Service.Handler). The schemas' fields (JSON
// names; * marks the ones always present in responses):
//
//   - AuditChainReport: customer*, entries*, firstBroken, intact*, unchained*
//   - AuditEntry: action*, actor*, customer*, detail, occurredAt*, outcome*, requestId
//   - AuditPage: entries*, next*
//   - Delivery: attempts*, createdAt*, customer*, endpoint*, eventId*, lastError, lastStatus, replays*, state*, type*, updatedAt*
//   - DeliveryList: deliveries*, next*
//   - Event: data*, id*, occurredAt*, type*
//   - EventData: action, added, changed, credential, customer*, daysLeft, dryRun, durationMs, error, expiresAt, free, from, number, numbers, operation, profile, range, removed, roles, state, subscription, to, user, users
//   - EventList: events*, next*
//   - Invitation: completedAt, createdAt, expiresAt*, failedAt, id*, openedAt, revokedAt, sentAt, sentBy, status*, to
//   - InvitationList: invitations*
//   - Customer: action*, addedAt, authMode*, checks*, customer*, lastSyncAt, lastValidatedAt, name*, nextCheckAt, nextSyncAt, secretExpiresAt, state*, syncs*
//   - CustomerCreate: authMode, certificatePem, clientId, clientSecret, clientSecretExpiresAt, cloud, customer*, name, password, serviceAccount, tenant, userFilter
//   - CustomerPage: customers*, next
//   - InvitationRequest: to
//   - Offboarding: customer*, job*, report, state*
//   - Problem: action, code*, detail, fields, reason, status*, title*, type
//   - QoE: appId*, clientSecretExpiresAt, clientSecretSet*
//   - QoEUpdate: appId, clientSecret, clientSecretExpiresAt
//   - QoECallPage: calls*, next
//   - QoEPSTN: callingPlan*, pulledAt, trunks*
//   - QoESubscription: expiresAt, lastCallAt, lastError, rejected*, renewedAt, state*, subscriptionId
//   - QoESummary: calls*, days*, poorByReason*, poorCalls*, poorRate*, subscription*
//   - QoEValidationReport: checks*, ok*, subscription*
//   - Settings: authMode*, certificateExpiresAt, certificateSet, certificateSha256, clientId*, clientSecretExpiresAt, clientSecretSet*, cloud, customer*, passwordSet, serviceAccount*, tenant*, tenantId, updatedAt, userFilter*, version*
//   - ScopePreview: addedKnown*, confirmRemoval*, keep*, remove*, removeSample*, total*, userFilter*
//   - SettingsUpdate: authMode, certificatePem, clientId, clientSecret, clientSecretExpiresAt, cloud, password, serviceAccount, tenant, userFilter
//   - SignInLink: expiresAt*, url*
//   - ConsentLink: clientId*, customerApp*, expiresAt*, redirectUri*, shareExpiresAt*, shareUrl*, url*
//   - Status: account, authMode*, capabilities, certificateExpiresAt, connectedAt, consentGrantedAt, consentReportedAt, grantedRoles, lastError, lastRefreshAt, lastValidatedAt, lastValidationOk, qoeSecretExpiresAt, qoeSubscription, refreshTokenExpiresAt, secretExpiresAt, state*, tenantId
//   - SyncRun: added*, attempt, changed*, error, finishedAt, heartbeatAt, id*, job, progress*, removed*, requests, round, roundReason, startedAt, state*, total*, trigger, unchanged
//   - User: accountEnabled, accountType*, city, companyName, country, department, displayName, enterpriseVoiceEnabled*, featureTypes*, givenName, id*, jobTitle, lineUri*, mail, mailNickname, mobilePhone, officeLocation, policies*, postalCode, preferredLanguage, proxyAddresses, state, streetAddress, surname, telephoneNumbers*, usageLocation, userPrincipalName*
//   - UserPage: next, total*, users*
//   - ValidationReport: authMode, capabilities, checks*, ok*, tenantId, validatedAt
//   - WizardLink: expiresAt, invitation*, link*
//   - UserVoice: accountEnabled, checks*, enterpriseVoiceEnabled*, licenses*, numbers*, policies*, ready*, usageLocation, user*
//   - UserVoiceSet: category, licenses, locationId, number, numberType, policies, range
//   - VoiceNumberPage: next, numbers*, total*
//   - VoiceOperation: actor, created*, createdAt*, customer, failed*, finished, finishedAt, id*, items*, kind*, progress*, state*, succeeded*, total*, updatedAt*
//   - VoiceOperationPage: next, operations*
//   - VoiceRanges: ranges*
//   - VoiceRangesPut: ranges*
//   - VoicePlan: actor, changes*, customer, errors*, expiresAt*, filter, id*, items*, licenses, next, operation, profile, readAt*, source*, unchanged*, users*
//   - VoicePlanRequest: filter, profile*
//   - VoiceProfile: dryRun*, filter, joiners*, leavers*, licenses, locationId, name*, numberType, policies, range, updatedAt
//   - VoiceProfilePut: dryRun, filter, joiners, leavers, licenses, locationId, numberType, policies, range
//   - VoiceProfiles: profiles*
//   - VoiceFleetPage: customers*, next, total*
//
// The audit trail, events and webhook deliveries are listed newest
// first, a page at a time: limit (1 to 500, default 50) and after (the
// next of the previous page). Cursors are opaque and bound to the query:
// one edited, or from another listing or from the same listing with other
// filters, is refused with 400 invalid_cursor. Filters: from and to (a
// time range, RFC 3339 or YYYY-MM-DD), customer (on the listings of every
// customer), action and outcome (audit), type (events, deliveries) and
// state (deliveries). A failed delivery is sent again with POST
// .../webhooks/deliveries/{event}/{endpoint}/replay (audited as
// webhooks.replay).
//
// Timestamps are RFC 3339 strings named for what they time, ending in At
// (occurredAt for when an audited action or an event happened, createdAt,
// updatedAt, expiresAt, ...). The exceptions are names design.md fixes as
// a contract: a voice operation's created and finished (which repeat
// createdAt and finishedAt) and a number's quarantinedUntil; and the
// webhook body keeps Standard Webhooks' timestamp. Responses omit absent optional fields
// (never null, except User.lineUri). In SettingsUpdate and QoEUpdate an absent or null field
// keeps the stored value and "" clears it; unknown fields are refused
// (malformed_json). Secrets (clientSecret, certificatePem, password) are write-only:
// responses say only whether one is set (clientSecretSet, certificateSet,
// passwordSet) and when it expires.
//
// Wizard routes:
//
//	GET  /invite/{token}        landing page
//	POST /invite/{token}/start  redirects to Microsoft sign-in
//	GET  /auth/callback         completes the token connection
//	GET  /consent/callback      takes admin consent at once, confirms it in the background
//	GET  /consent/progress      follows that confirmation (refreshes itself)
//
// The voice routes (Config.Voice, a *voice.Service) provision Teams
// Phone: {user} is a user principal name or an object ID; PUT and DELETE
// of users/{user}/voice answer 202 with Location naming the operation
// (200 when the user is already in that state: the operation is
// succeeded with every step unchanged). A request voice refuses answers
// 409 or 422 with the voice error code in snake case (number_taken,
// number_not_in_tenant, number_held, range_exhausted, no_free_license,
// user_not_licensed, unknown_user, unknown_policy, unknown_range,
// operation_in_progress, permission_missing with action grantConsent,
// ...) and the offending field as a JSON pointer (/number,
// /policies/TenantDialPlan, /ranges/1/to); nothing was changed. POST
// voice/numbers/refresh answers 202 with Location naming a refresh
// operation (kind refresh; its inventory step says how many numbers were
// read); while one is queued or running, that one is answered.
//
// GET /voice (Config.Voice when it is also a VoiceFleet) is the fleet's
// voice at a glance, served filtered to the customers the Authorizer
// allows: per customer its voice users, ready and not ready by first
// failed check (counted after each user sync), each range's free numbers
// and level (ok, low, exhausted: after each inventory read or
// operation), and its operations queued or running. It takes search (a
// customer ID or name containing it), notReady, low and running
// (true: only customers with users not ready, a range low or exhausted,
// operations running), sort (customer, notReady, free, users, running),
// limit (1 to 500, default 50) and after (a cursor bound to the filters
// and order).
//
// Voice profiles and plans (Config.Voice when it is also a VoicePlans):
// POST voice/plans takes {"profile", "filter"} as application/json, or a
// text/csv body of at most 8 MiB (a header row, one user a row), and
// answers 201 with the plan and Location; it changes nothing at
// Microsoft. A CSV that cannot be read is 400 malformed_csv naming the
// line; each row's problem is its item's error. GET voice/plans/{id}
// pages the items (status, limit, after). POST voice/plans/{id}/apply
// answers 202 with Location naming the operation (kind apply, an item
// per user); applying again returns the same operation.
//
// Problems carry one of these codes: unauthenticated (401), forbidden and
// cross_origin (403), invalid_customer, malformed_json, invalid_field,
// empty_body, invalid_query and invalid_cursor (400), not_found (404),
// method_not_allowed (405), conflict, connection_rejected,
// invitation_completed, sync_running, offboarding, customer_exists and
// customer_erased (409: a write for a customer offboarding erased and
// fenced; POST /customers creates it again), version_mismatch (412),
// body_too_large (413), unsupported_media_type (415), validation_failed
// (422, with fields), rate_limited (429, with Retry-After), internal and
// audit_unavailable (500: a change not made because its audit entry
// could not be recorded),
// not_configured (501), microsoft_error and delivery_failed (502) and
// microsoft_unavailable and shutting_down (503, starting a sync after
// Close). Where a person must act, action holds the
// m365access.Action ("reInvite", "grantConsent", "fixFilter", ...).
//
// The switch-to-token and consent routes return a Microsoft link bound to
// the browser that called them (they set the binding cookie on the
// response, scoped to the public base URL's path): open the link in that browser.
package httpapi
