// Package directory is the pure engine behind the fake Microsoft Graph
// `GET /v1.0/users` endpoint of package m365test.
//
// A [Directory] is one fake tenant's user list. It never stores its users:
// user i (0 <= i < n) is computed from i on demand, exactly as the "Demo
// data" section of the design describes, so a tenant of 50,000 users costs a
// few hundred bytes and any test, in any language, can predict the answer of
// a query. Besides the n generated users a tenant has its Global Admin
// `admin@{domain}`.
//
// [Directory.Query] answers a Graph list request: `$filter` (the OData subset
// Graph supports on users, with its default/advanced-query rules), `$select`,
// `$top`, `$count` + `ConsistencyLevel: eventual`, `$orderby` and paging by an
// opaque, tamper-evident `$skiptoken`. Each page costs time proportional to the
// users it scans, never to the size of the tenant: the skip token carries the
// position where the next page starts.
//
// [ParseFilter] and [Expr.Match] are exported so that tests of other packages
// (for example the usersync filter compiler) can evaluate a compiled
// `$filter` exactly as the fake does.
//
// # Serving GET /v1.0/users
//
// Map the request onto a [Query] ($filter, $select split at commas, $top,
// $skiptoken, $count=true, $orderby, and whether the ConsistencyLevel header
// is "eventual"), call [Directory.Query], and write
//
//	{"@odata.context": ..., "@odata.count": Result.Count (when >= 0),
//	 "@odata.nextLink": the request URL with $skiptoken=Result.NextSkipToken (when not ""),
//	 "value": Result.Value()}
//
// A *[QueryError] carries the status and Graph error code to answer with.
// [Directory.User] serves /users/{id | userPrincipalName}.
//
// # What is not modelled
//
// The operators gt and lt (the filter table has no column for them),
// functions other than startsWith and endsWith, and `all` lambdas are
// refused with Request_UnsupportedQuery. ge and le work where the filter
// table lists them, column by column; `collection/$count eq|ne N` works in
// advanced queries on businessPhones, otherMails, proxyAddresses and
// assignedLicenses. $search and $expand are not [Query] options (the
// server answers them). Properties outside [Properties] are unknown (400
// BadRequest), like any misspelt property. Graph's limit on filter nesting
// is not enforced beyond a recursion limit of 64.
//
// # Listing order
//
// Users are listed in "position" order: position 0 is the Global Admin,
// position k (1 <= k <= n) is generated user k-1. This is also ascending order
// by displayName ("Global Admin" < "User 00000" < ...) and by
// userPrincipalName ("admin@..." < "user00000@..."), so `$orderby` on those
// properties costs nothing extra. n is limited to [MaxUsers] so that the
// five-digit numbering keeps sorting.
//
// # Generated data
//
// For generated user i, with nnnnn = i formatted as %05d:
//
//	id                 UUIDv5(NAMESPACE_URL, "urn:tenantgate:m365test:" + lower(tenantID) + ":user:" + decimal(i))
//	userPrincipalName  usernnnnn@{domain}          mail: the same
//	mailNickname       usernnnnn
//	displayName        User nnnnn                  givenName: User, surname: nnnnn
//	usageLocation, country, city by i % 10 (US United States Seattle, GB United Kingdom London,
//	                   DE Germany Berlin, FR France Paris, IT Italy Milan, ES Spain Madrid,
//	                   NL Netherlands Amsterdam, SE Sweden Stockholm, PL Poland Warsaw, JP Japan Tokyo)
//	officeLocation     <city> Office
//	department         by (i/10) % 5: Sales, Engineering, Support, Finance, Marketing
//	jobTitle           by (i/50) % 4: Engineer, Manager, Analyst, Director
//	accountEnabled     false when i % 20 == 19, else true
//	companyName        the tenant's display name
//	userType           Member
//	businessPhones     []          otherMails: []
//	proxyAddresses     ["SMTP:usernnnnn@{domain}"]
//	state, employeeId, mobilePhone, postalCode, preferredLanguage, streetAddress: null
//	createdDateTime    2024-01-02T00:00:00Z + i seconds ([GeneratedCreated])
//	identities         [{signInType userPrincipalName, issuer {domain}, issuerAssignedId the UPN}]
//
// The Global Admin has id UUIDv5(NAMESPACE_URL, "urn:tenantgate:m365test:" +
// lower(tenantID) + ":user:admin"), userPrincipalName and mail admin@{domain},
// mailNickname admin, displayName "Global Admin" (givenName Global, surname
// Admin), usageLocation US, country United States, city Seattle,
// officeLocation "Seattle Office", department Administration, jobTitle Global
// Administrator, accountEnabled true, createdDateTime [AdminCreated] and the
// other properties as above.
// NAMESPACE_URL is the RFC 9562 namespace 6ba7b811-9dad-11d1-80b4-00c04fd430c8;
// in Python the id of user 42 is
// uuid.uuid5(uuid.NAMESPACE_URL, "urn:tenantgate:m365test:" + tenant.lower() + ":user:42").
//
// # Filter semantics
//
// String comparisons are case-insensitive (Unicode simple folding), like
// Graph. A null property equals only null: `state eq null` is true and
// `state ne 'WA'` is true for a user without a state (two-valued logic), and
// startsWith/endsWith on null are false.
package directory
