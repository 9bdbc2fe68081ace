// Package filter is the user sync filter language of tenantgate: the
// Get-CsOnlineUser -Filter syntax of Teams PowerShell, compiled to a
// Microsoft Graph $filter for the part Graph can evaluate plus a client-side
// matcher for the rest, so a sync reads only the users it needs (for
// example the 5,000 users in Italy out of 50,000) and still gets exactly the
// users the filter means.
//
// It is pure Go with no I/O: package usersync calls Compile on a customer's
// configured filter, sends Plan.GraphFilter as $filter (adding the header
// ConsistencyLevel: eventual and $count=true when Plan.Advanced is set),
// $selects at least Plan.Select, and keeps the returned users for which
// Plan.MatchClientSide is true.
//
// # Syntax
//
//	filter     = [ "{" ] [ expr ] [ "}" ]          a blank filter means all users
//	expr       = unary { ( "-and" | "-or" ) unary } equal precedence, left to right
//	unary      = ( "-not" | "!" ) unary | "(" expr ")" | comparison
//	comparison = attribute operator value
//	attribute  = Name | "$_." Name | "$PSItem." Name
//	operator   = "-eq" | "-ne" | "-like" | "-notlike" | "-contains" | "-notcontains"
//	value      = 'single quoted' | "double quoted" | digits | $null | $true | $false
//
// As in PowerShell, operators, attribute names and $null/$true/$false are
// case-insensitive; the -i forms (-ieq, -ilike, ...) are accepted, the
// case-sensitive -c forms are rejected (Graph compares case-insensitively).
// -and and -or have equal precedence and group left to right, so
// `A -or B -and C` means `(A -or B) -and C`. -not applies to the comparison
// or parenthesized expression after it. En and em dashes and typographic
// quotes, which word processors substitute, are read as - and quotes.
//
// Strings: in single quotes everything is literal and a quote is written
// twice; in double quotes a quote is written twice or escaped with a
// backtick, and the backtick escapes `0 `a `b `e `f `n `r `t `v `u{hex}
// apply; $ is literal (a stored filter expands no variables):
//
//	LastName -eq 'O''Brien'
//	LastName -eq "O'Brien"
//	Title -eq "Head of ""Sales"""
//	Title -eq "Head of `"Sales`""
//
// A number stands for its decimal text.
//
// -like patterns are PowerShell wildcards: * (any run), ? (one character),
// [abc] and [a-z] (one character of a set), and ` to escape one of them.
// Comparisons are case-insensitive. A null string is "" to -like, so
// `City -notlike 'M*'` includes users with no city, and `City -ne 'Milan'`
// includes them too, as in PowerShell. On ProxyAddresses, a list,
// -contains/-eq test for an element, -like for an element matching, and
// -eq $null for an empty list.
//
// # Attributes
//
// Each attribute maps to one Graph user property. "default" means Graph
// evaluates the operation in a plain request, "advanced" that it needs the
// advanced query parameters, "-" that it runs client-side. -ne and -not need
// an advanced query wherever -eq works.
//
//	Attribute (aliases)                  Graph property     eq/in     startsWith endsWith not()    null
//	UserPrincipalName                    userPrincipalName  default   default    advanced -        -
//	DisplayName                          displayName        default   default    -        advanced advanced
//	GivenName (FirstName)                givenName          default   default    -        -        advanced
//	LastName (Surname)                   surname            default   default    -        -        advanced
//	Title (JobTitle)                     jobTitle           default   default    -        -        advanced
//	Department                           department         default   default    -        advanced advanced
//	Company (CompanyName)                companyName        advanced  advanced   -        advanced advanced
//	City                                 city               default   default    -        advanced advanced
//	StateOrProvince (State)              state              default   default    -        -        advanced
//	Country                              country            default   default    -        advanced advanced
//	UsageLocation                        usageLocation      default   default    -        -        -
//	AccountEnabled ($true/$false)        accountEnabled     default   -          -        advanced -
//	Street (StreetAddress)               streetAddress      advanced  advanced   -        -        advanced
//	Office (OfficeLocation)              officeLocation     advanced  advanced   -        -        advanced
//	PostalCode                           postalCode         advanced  advanced   -        -        advanced
//	MobilePhone                          mobilePhone        advanced  advanced   -        -        advanced
//	PreferredLanguage                    preferredLanguage  advanced  advanced   -        -        advanced
//	Alias (MailNickname)                 mailNickname       default   default    -        -        advanced
//	WindowsEmailAddress (Mail)           mail               default   default    advanced -        -
//	ProxyAddresses (list)                proxyAddresses     default   default    advanced advanced -
//
// Teams Phone System attributes come from the user's configuration in
// /admin/teams/userConfigurations, joined to the /users result by user ID:
//
//	EnterpriseVoiceEnabled ($true/$false)  isEnterpriseVoiceEnabled
//	LineUri                                "tel:" + the primary telephone number, null without one
//	FeatureTypes (list)                    featureTypes (-contains 'PhoneSystem')
//	AccountType                            accountType (User, ResourceAccount, Guest, ...)
//	TeamsCallingPolicy, OnlineVoiceRoutingPolicy, TenantDialPlan, TeamsMeetingPolicy,
//	CallingLineIdentity, OnlineVoicemailPolicy, TeamsEmergencyCallingPolicy, ...
//	                                       the effective policy's name; null when the Global policy applies
//
// PolicyTypes lists the policy attributes. A user without a Teams
// configuration reads null for all of them. Other Get-CsOnlineUser
// attributes (SipAddress, HostedVoiceMail, ...) exist in neither endpoint:
// Compile rejects them with an *AttributeError of kind TeamsOnlyAttribute,
// and unknown names with UnknownAttribute (suggesting the closest
// attribute). Attributes returns the table.
//
// The matcher reads Teams attributes through User.Value by the names
// TeamsEnterpriseVoiceEnabled, TeamsLineURI, TeamsFeatureTypes,
// TeamsAccountType and TeamsProperty(policy type).
//
// # Pushdown
//
// Compile pushes -not down to the comparisons (exact, as PowerShell's logic
// is two-valued), then compiles each term of the top-level -and on its own:
// a term Graph can evaluate is pushed down, the others run client-side, each
// with its reason in Plan.ClientSide. An -or is pushed down only if all its
// branches are. Comparisons compile as follows:
//
//	A -eq 'v'                  a eq 'v'           (-or of several on one property: a in ('v','w'), at most 15 per in)
//	A -ne 'v'                  a ne 'v'           advanced (OData: null ne 'v' is true, as in PowerShell)
//	A -eq $null / -ne $null    a eq null / a ne null, where Graph filters the property on null
//	A -like 'v'                a eq 'v'           (no wildcard)
//	A -like 'v*'               startsWith(a,'v')
//	A -like '*v'               endsWith(a,'v')    advanced; only mail-like properties, else client-side
//	A -like '*v*', 'v?', '[..]'                   client-side
//	A -notlike 'v*'            not(startsWith(a,'v')) or a eq null   advanced; where Graph allows not()
//	AccountEnabled -ne $true   accountEnabled eq false
//	ProxyAddresses -contains 'v'   proxyAddresses/any(x:x eq 'v')
//
// Values are quoted with each ' doubled, so no value can end its literal.
// A pushed term nesting deeper than 3 levels (parentheses, not(), any())
// runs client-side. Options changes the limits, or disables advanced
// queries for tenants without them.
//
// # Graph's query-size limits
//
// Graph refuses, with 400 Request_UnsupportedQuery, a plain query whose
// filter with in or or holds more than 15 expressions (each comparison,
// each in value), an eq or in value over 120 characters in a plain query,
// and an advanced query whose URL is over 2,048 characters. Plan.Queries
// never exceeds them: a value over 120 characters makes its query
// advanced; a filter past the others is split on its largest pushed -or
// (or in list) into several queries, each the other pushed parts and a
// share of the branches, read in turn and merged by user ID (Plan.Split
// says so); what cannot be split within them runs client-side (its
// ClientSide reason says so). A query's encoded $filter is kept within
// Options.MaxGraphFilterLength, leaving room in the URL for $select and
// paging.
//
// # Teams parts
//
// A term of the top-level -and that reads only Teams attributes goes to
// Plan.TeamsFilter when it has a form there, and always runs client-side
// after the join too (MatchClientSide). Microsoft documents no $filter
// support per property for /admin/teams/userConfigurations, so this
// pushdown is an assumption: a reader that gets 400 for TeamsFilter reads
// the configurations without it, and the result is the same. Only
// positive comparisons are pushed (a user without a configuration reads
// null, which -ne and -notlike match):
//
//	EnterpriseVoiceEnabled -eq $true     isEnterpriseVoiceEnabled eq true
//	AccountType -eq 'User'               accountType eq 'user'
//	FeatureTypes -contains 'PhoneSystem' featureTypes/any(x:x eq 'PhoneSystem')
//	LineUri -like 'tel:+39*'             telephoneNumbers/any(t:startsWith(t/telephoneNumber,'+39'))
//	LineUri -eq 'tel:+3902...'           telephoneNumbers/any(t:t/telephoneNumber eq '+3902...')
//	TenantDialPlan -eq 'DP-IT'           effectivePolicyAssignments/any(p:p/policyType eq 'TenantDialPlan' and p/policyAssignment/displayName eq 'DP-IT')
//
// A term mixing both kinds under -or, such as
// (Department -eq 'Sales' -or LineUri -like 'tel:+44*'), runs client-side
// after the join.
package filter
