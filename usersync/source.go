package usersync

import "context"

// Query is what a Source reads for one customer: the part of the
// customer's user filter Graph evaluates, and the remainder evaluated here.
// The zero Query reads every user.
type Query struct {
	// Filter is the Graph $filter expression; empty reads every user.
	Filter string
	// Advanced marks a Filter that needs Graph's advanced query
	// capabilities (header ConsistencyLevel: eventual and $count=true).
	Advanced bool
	// Select names properties of ExtraProperties the Source must read
	// besides Properties, because Match reads them.
	Select []string
	// Teams says the filter reads Teams Phone System attributes: the
	// Source must join each user with its configuration (User.Teams)
	// before Match sees it.
	Teams bool
	// TeamsFilter is an optimistic $filter for
	// /admin/teams/userConfigurations from the filter's Teams part. A
	// Source may use it to read fewer configurations, dropping users
	// whose configuration it excludes, or ignore it (Match re-checks
	// the Teams part); a GraphSource that gets 400 for it reads without
	// it from then on for that customer.
	TeamsFilter string
	// Match, when set, is the client-side remainder of the user filter:
	// the Syncer drops users it rejects before they reach the Sink.
	// Sources ignore it.
	Match func(*User) bool
	// MatchAll, when set, is the whole user filter, the part Graph
	// evaluates included: delta rounds, which Graph cannot filter, keep
	// only the changed users it accepts. Nil accepts every user.
	MatchAll func(*User) bool
	// Split, when set, replaces Filter and Advanced: a filter past
	// Graph's query limits split into several queries. The Syncer reads
	// each (with Select) in turn and keeps every user once, by ID.
	// Sources ignore it.
	Split []Subquery
}

// Subquery is one of the queries a Query is split into.
type Subquery struct {
	// Filter is the Graph $filter expression.
	Filter string
	// Advanced marks a Filter that needs Graph's advanced query
	// capabilities.
	Advanced bool
}

// Page is one page of users read from a Source.
type Page struct {
	// Users are the page's users, in the source's order. The slice and
	// its backing array belong to the Source and are reused for the next
	// page: copy what you keep.
	Users []User
	// Estimate is the total number of users the query selects, as
	// reported by the source (Graph's @odata.count), or -1 when unknown.
	Estimate int64
	// Teams says how the Teams configurations were read, so far.
	Teams TeamsRead
}

// TeamsMode is how a Source read Teams configurations.
type TeamsMode string

// The Teams read modes.
const (
	TeamsNone  TeamsMode = ""      // not read
	TeamsList  TeamsMode = "list"  // the tenant's configurations listed, with TeamsFilter when accepted
	TeamsBatch TeamsMode = "batch" // fetched by ID for the selected users only, 20 per JSON $batch
)

// TeamsRead reports how a Source read the Teams configurations of a sync.
type TeamsRead struct {
	Mode TeamsMode
	// Filter is the userConfigurations $filter Graph evaluated, "" for
	// none.
	Filter string
	// Refused is a Query.TeamsFilter Graph refused (400), in this sync or
	// an earlier one of the customer: the Teams part ran client-side.
	Refused string
	// Requests counts the Graph requests made for Teams configurations:
	// in TeamsList mode each listing page requested, alone or inside a
	// JSON batch; in TeamsBatch mode each $batch sent, which carries up to
	// TeamsBatchSize requests that Graph counts (and throttles) one by
	// one.
	Requests int
	// Shared counts the Requests that rode in a JSON $batch together
	// with a /users page (a paired listing, see GraphSource.Read): the
	// sync's HTTP round trips are its /users requests plus Requests minus
	// Shared, while Graph counts (and throttles) every request in a
	// batch.
	Shared int
}

// Source reads a customer's users page by page.
type Source interface {
	// Read calls fn for each page of the customer's users selected by q,
	// in order, one at a time. It stops at the first error, including one
	// returned by fn, and returns it. Read never holds more than one page.
	Read(ctx context.Context, customer string, q Query, fn func(Page) error) error
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, customer string, q Query, fn func(Page) error) error

// Read calls f.
func (f SourceFunc) Read(ctx context.Context, customer string, q Query, fn func(Page) error) error {
	return f(ctx, customer, q, fn)
}
