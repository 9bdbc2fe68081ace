// Package voice provisions Teams Phone for every customer: the day-two
// write side of what usersync reads. It sits beside qoe, above fleet:
// its Graph traffic goes through the fleet's Budget and its work runs as
// the fleet's River jobs; httpapi serves it.
//
// What it does, all through Microsoft Graph v1.0 with plain JSON (no
// msgraph-sdk-go), in Microsoft's global service only:
//
//   - Inventory: the customer's telephone numbers
//     (/admin/teams/telephoneNumberManagement/numberAssignments, pages of
//     1,000 by @odata.nextLink or $skip; single numbers and a user's
//     numbers by $filter), stored in a Store (SQLite or PostgreSQL) with
//     the provider's own data beside Microsoft's: range, reservation,
//     quarantine. Refresh reads it again; StartRefresh does it as an
//     operation (the API's 202); a periodic job does it for every
//     customer.
//   - Ranges: per customer, named E.164 ranges with a number type, an
//     emergency location and quarantine days; overlapping ranges are
//     refused. "next" takes a range's lowest number that is free at
//     Microsoft, not reserved and not quarantined, and never hands one
//     number to two users, across goroutines and replicas: the claim is
//     a row under a primary key in the shared database.
//   - SetVoice: licenses ("licenses": "auto": Teams Phone, and a Calling
//     Plan for Calling Plan numbers, from SKUs with free units), the
//     number (assignNumber, then Microsoft's long-running operation
//     followed with backoff, bounded, its Location kept so a restarted
//     job follows it instead of submitting again), the voice policies
//     (getPolicyId, cached per tenant; one userAssignments/assign for
//     all of them). What can be seen to fail first is refused with an
//     *Error (409 or 422 in the API) and nothing changes; a user already
//     in that state is a no-op with no Graph write; a failure midway
//     leaves the operation partial with each step's status and
//     Microsoft's detail, and applying again skips what is already true.
//   - Release: unassign the user's numbers (each goes to its range's
//     quarantine), remove the direct voice policy assignments, and
//     optionally the voice licenses.
//   - Voice: the user as Microsoft holds it now and its readiness, each
//     failed check with the Action that fixes it (assignLicense,
//     assignNumber, assignPolicy, setLocation, setUsageLocation,
//     enableAccount, grantConsent).
//   - Operations: each change is an Operation run by a River job; a
//     unique index of the shared database admits one queued or running
//     operation per user, so two never race on one user, across
//     replicas. Operations are listed and cancellable, each step audited
//     with its actor,
//     ending in voice.assigned, voice.released or voice.failed events.
//
// The Graph permissions it needs beyond the read-only defaults are in
// Permissions (TeamsTelephoneNumber.ReadWrite.All,
// TeamsPolicyUserAssign.ReadWrite.All, LicenseAssignment.ReadWrite.All).
// A customer without one gets an *Error with CodePermissionMissing and
// ActionGrantConsent naming it, never Graph's 403 text.
//
// Graph cannot create policies, emergency addresses or locations, nor
// order or release numbers back to Microsoft, and has no switch for
// Enterprise Voice (assigning a number turns it on): voice does not
// pretend otherwise.
//
// Joiners and leavers: after each successful user sync the fleet calls
// AfterSync, which queues a job keyed by the customer and the sync (so
// two replicas never both act); Lifecycle then provisions each
// profile's joiners through a plan and its apply, and releases its
// leavers (numbers to quarantine), or in dry-run mode only reports.
//
// A Service plugs into the fleet as a plugin: AddWorkers, PeriodicJobs,
// UseInserter, OffboardHooks, UseBudget and AfterSync.
package voice
