package usersync

import "context"

// Sink stores synced users. A sync of one customer is a Pass: Begin, any
// number of Put calls with the users in batches, then Commit after a
// complete, successful read, or Abort otherwise. Implementations are safe
// for concurrent passes of different customers; the Syncer never runs two
// passes of one customer at once.
type Sink interface {
	// Begin starts a pass over the customer's users.
	Begin(ctx context.Context, customer string) (Pass, error)
}

// Pass is one sync of one customer's users into a Sink.
type Pass interface {
	// Put stores a batch of users and reports how many of them were new,
	// changed or unchanged since the last committed pass. The Sink must
	// not keep users (the slice is reused); User values may be copied.
	Put(ctx context.Context, users []User) (Counts, error)
	// Commit ends a complete pass: it removes the customer's users that
	// this pass did not Put and reports how many (Counts.Removed).
	Commit(ctx context.Context) (Counts, error)
	// Abort ends an incomplete pass. It removes nothing: every user of
	// the last committed pass stays.
	Abort(ctx context.Context) error
}

// Counts tallies what a pass did to a customer's stored users.
type Counts struct {
	Added     int // users not stored before
	Changed   int // stored users whose properties changed
	Unchanged int // stored users seen again with the same properties
	Removed   int // stored users the complete pass did not see
}

// Add returns the sum of c and d.
func (c Counts) Add(d Counts) Counts {
	return Counts{
		Added:     c.Added + d.Added,
		Changed:   c.Changed + d.Changed,
		Unchanged: c.Unchanged + d.Unchanged,
		Removed:   c.Removed + d.Removed,
	}
}
