// Package qoe brings Teams call quality for every customer from the
// customer's QoE app registration (an app in the customer's tenant with
// the application permission CallRecords.Read.All, saved as the QoE
// settings of m365access).
//
// For each customer with QoE settings the Service keeps a change
// notification subscription on /communications/callRecords (created
// with the QoE app's client credentials, replaced under a fresh
// clientState well before Graph's 4,230-minute limit and after
// reauthorizationRequired, recreated after a subscriptionRemoved that
// Graph confirms, backfilled by listing records by startDateTime on
// every renewal pass (Graph drops a call-record notification it could
// not deliver for about four hours, without a "missed" lifecycle
// notification, which it sends for Outlook resources only) and after
// missed, deleted when the QoE settings go away or the customer is
// offboarded).
//
// Handler is the notification receiver: it echoes validationToken,
// checks each notification's clientState in constant time against a
// hash (the clientState itself is never stored), and queues a River job
// before it answers 202, so a crash after the answer loses nothing.
// The job fetches the record with $expand=sessions($expand=segments)
// (following sessions@odata.nextLink), classifies each audio stream
// with the Call Quality Dashboard rule (see Classify) and stores the
// call, its streams' key metrics and the daily aggregates in a Store
// (SQLite or PostgreSQL). The same record notified twice is stored once;
// a higher version replaces it. A 429 snoozes the jobs of that customer
// only, for Retry-After.
//
// Jobs are River jobs: AddWorkers registers the workers on the host's
// *river.Workers, PeriodicJobs returns the renewal pass, the daily PSTN
// pull (getDirectRoutingCalls and getPstnCalls: per SBC FQDN attempts,
// successes, final SIP codes, minutes) and the retention purge, and
// UseInserter gives the Service the client to enqueue with; OffboardHooks
// returns the Service, whose Offboard erases a customer. The Service is a
// fleet.Plugin: in fleet.Config.Plugins, the fleet calls all of these.
package qoe
