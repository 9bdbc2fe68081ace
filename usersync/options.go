package usersync

// SyncOption changes one SyncCustomer call; the Syncer's fields stay the
// defaults of every other call. Options let a caller such as the fleet
// use the host's Syncer (and its in-progress guard) instead of a copy.
type SyncOption func(*syncOptions)

// syncOptions are one call's options.
type syncOptions struct {
	progress func(Progress)
	filters  FilterSource
	round    Round
}

// WithProgress sends this call's Progress events to fn too, after
// Syncer.OnProgress; fn has the same obligations (fast, no blocking).
func WithProgress(fn func(Progress)) SyncOption {
	return func(o *syncOptions) { o.progress = fn }
}

// WithFilters reads this call's filter text from fs instead of
// Syncer.Filters; nil keeps Syncer.Filters.
func WithFilters(fs FilterSource) SyncOption {
	return func(o *syncOptions) { o.filters = fs }
}

// WithRound asks for a kind of read. RoundFull reads every user (taking a
// fresh delta link when delta rounds are on); RoundDelta applies the
// changes since the stored delta link whenever one for the same query is
// stored, skipping the periodic and cost-based full reads. The zero value
// lets the planner choose (see DeltaOptions). It has no effect while
// delta rounds are off: every read is full.
func WithRound(r Round) SyncOption {
	return func(o *syncOptions) { o.round = r }
}

func newSyncOptions(s *Syncer, opts []SyncOption) *syncOptions {
	o := &syncOptions{}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if o.filters == nil {
		o.filters = s.Filters
	}
	return o
}
