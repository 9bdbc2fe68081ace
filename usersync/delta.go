package usersync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrDeltaExpired is matched by errors of a DeltaSource whose delta link
// the source no longer accepts (Graph: 400 syncStateNotFound, or 410
// Gone): the Syncer then reads every user again.
var ErrDeltaExpired = errors.New("usersync: the delta link expired")

// DeltaPage is one page of a delta round.
type DeltaPage struct {
	// Users are the users added or changed since the round's delta link,
	// with every property the round's Query selects. The slice belongs to
	// the Source and is reused for the next page.
	Users []User
	// Removed are the object IDs of users deleted since the link.
	Removed []string
	// Teams says how the changed users' Teams configurations were read,
	// so far in the round.
	Teams TeamsRead
}

// DeltaSource is a Source that also reads what changed since a delta
// link, as Graph's /users/delta does. A delta round cannot filter: its
// pages hold every changed user of the tenant, and the Syncer evaluates
// the customer's whole filter (Query.MatchAll) on them.
type DeltaSource interface {
	Source
	// LatestDelta returns a delta link for the current state of the
	// customer's users with the properties q selects, reading no user.
	LatestDelta(ctx context.Context, customer string, q Query) (string, error)
	// ReadDelta calls fn for each page of the changes since link, in
	// order, and returns the delta link of the next round. It stops at
	// the first error, including one returned by fn. An error for a link
	// the source no longer accepts matches ErrDeltaExpired.
	ReadDelta(ctx context.Context, customer, link string, q Query, fn func(DeltaPage) error) (next string, err error)
}

// Checkpoint is what a DeltaSink keeps with a customer's last committed
// pass so that the next sync can be a delta round.
type Checkpoint struct {
	// DeltaLink starts the next delta round; "" when there is none.
	DeltaLink string
	// Query identifies the filter and properties the link was taken for
	// (see QueryKey): a sync with another filter reads every user.
	Query string
	// FullAt is when the last full read began.
	FullAt time.Time
	// Rounds counts the delta rounds since the last full read.
	Rounds int
	// FullRequests are the Graph requests (pages) of the last full read,
	// the request for its delta link not included; 0 when unknown.
	FullRequests int
	// DeltaRequests are the Graph requests of the last delta round, 0
	// before the first.
	DeltaRequests int
}

// DeltaSink is a Sink that also applies delta rounds and keeps a
// Checkpoint per customer with its committed passes. MemorySink and
// package sqlsink's Sink are DeltaSinks.
type DeltaSink interface {
	Sink
	// Checkpoint returns the customer's checkpoint, the zero Checkpoint
	// when it has none.
	Checkpoint(ctx context.Context, customer string) (Checkpoint, error)
	// BeginDelta starts a delta pass over the customer's users.
	BeginDelta(ctx context.Context, customer string) (DeltaPass, error)
}

// CheckpointPass is a Pass that stores a Checkpoint when it commits. The
// full passes of a DeltaSink implement it; one committed without
// SetCheckpoint clears the customer's checkpoint.
type CheckpointPass interface {
	Pass
	// SetCheckpoint sets the checkpoint Commit stores.
	SetCheckpoint(Checkpoint)
}

// DeltaPass applies one delta round: Put stores added and changed users,
// Remove deletes users by ID, Commit keeps every other user (it removes
// nothing itself) and stores the checkpoint; Abort changes nothing.
type DeltaPass interface {
	CheckpointPass
	// Remove deletes the customer's users with these IDs, ignoring IDs
	// not stored, and reports how many it removed (Counts.Removed).
	Remove(ctx context.Context, ids []string) (Counts, error)
}

// Round is the kind of read a sync made.
type Round string

// The rounds.
const (
	RoundFull  Round = "full"  // every user the filter selects, read from /users
	RoundDelta Round = "delta" // the changes since the stored delta link, from /users/delta
)

// DeltaOptions configures the Syncer's delta rounds. The zero value
// makes no delta rounds.
type DeltaOptions struct {
	// Enabled turns delta rounds on for customers whose Source is a
	// DeltaSource and Sink a DeltaSink.
	Enabled bool
	// FullEvery is how many delta rounds may follow a full read before
	// the next full read checks the result; zero means 24.
	FullEvery int
	// FullAfter is how old the last full read may be before the next
	// sync is a full read; zero means 24 hours.
	FullAfter time.Duration
}

// QueryKey identifies a customer's filter text and the properties a
// query reads: a Checkpoint taken for another key does not apply.
func QueryKey(filter string, q Query) string {
	h := sha256.New()
	h.Write([]byte(filter))
	for _, p := range q.Select {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// roundPlan is the planner's decision for one customer's sync.
type roundPlan struct {
	round  Round
	reason string     // why, for the Result and the log
	track  bool       // a full read that takes a delta link for next time
	keep   bool       // the sink stores a checkpoint with a full read
	cp     Checkpoint // the stored checkpoint (delta rounds)
	key    string     // QueryKey of this sync
}

// planRound chooses a delta round or a full read for the customer, from
// the stored checkpoint and what each read costs in Graph requests: a
// delta round costs about as many requests as the last one did (at least
// one), a full read as many pages as the last full read had. A full read
// of one page is never replaced, and then takes no delta link.
func (s *Syncer) planRound(ctx context.Context, customer, filter string, q Query, want Round) (roundPlan, error) {
	plan := roundPlan{round: RoundFull, key: QueryKey(filter, q)}
	if !s.Delta.Enabled {
		plan.reason = "delta rounds are off"
		return plan, nil
	}
	if _, ok := s.Source.(DeltaSource); !ok {
		plan.reason = "the source reads no delta"
		return plan, nil
	}
	sink, ok := s.Sink.(DeltaSink)
	if !ok {
		plan.reason = "the sink keeps no checkpoint"
		return plan, nil
	}
	cp, err := sink.Checkpoint(ctx, customer)
	if err != nil {
		return plan, err
	}
	plan.cp = cp
	every := s.Delta.FullEvery
	if every <= 0 {
		every = 24
	}
	after := s.Delta.FullAfter
	if after <= 0 {
		after = 24 * time.Hour
	}
	plan.keep = true
	plan.track = true
	switch {
	case cp.FullRequests == 0:
		plan.reason = "no delta link stored"
	case cp.Query != plan.key:
		plan.reason = "the filter changed since the delta link"
	case cp.FullRequests <= 1:
		// One page: no delta round can cost less, so take no delta link.
		plan.reason = "a full read takes one request"
		plan.track = false
	case cp.DeltaLink == "":
		plan.reason = "no delta link stored"
	case want == RoundFull:
		plan.reason = "a full read was asked for"
	case want == RoundDelta:
		plan.round, plan.reason, plan.track = RoundDelta, "a delta round was asked for", false
	case cp.Rounds >= every:
		plan.reason = "periodic full read (delta rounds)"
	case !cp.FullAt.IsZero() && time.Since(cp.FullAt) >= after:
		plan.reason = "periodic full read (age)"
	case max(cp.DeltaRequests, 1) >= cp.FullRequests:
		plan.reason = "the last delta round cost as many requests as a full read"
	default:
		plan.round, plan.reason, plan.track = RoundDelta, "delta link stored", false
	}
	return plan, nil
}

// deltaRound applies the changes since the stored delta link. expired
// reports a link the source no longer accepts: nothing was changed, and
// the caller reads every user instead.
func (s *Syncer) deltaRound(ctx context.Context, customer string, q Query, plan roundPlan, res *Result, o *syncOptions) (expired bool) {
	src := s.Source.(DeltaSource)
	pass, err := s.Sink.(DeltaSink).BeginDelta(ctx, customer)
	if err != nil {
		res.Err = wrapf(err, "usersync: begin delta pass of customer %q", customer)
		return false
	}
	match := q.MatchAll
	var keep []User
	var drop []string
	next, err := src.ReadDelta(ctx, customer, plan.cp.DeltaLink, q, func(p DeltaPage) error {
		res.Pages++
		res.Requests++
		res.Read += len(p.Users) + len(p.Removed)
		res.Teams = p.Teams
		keep, drop = keep[:0], append(drop[:0], p.Removed...)
		for i := range p.Users {
			if match == nil || match(&p.Users[i]) {
				keep = append(keep, p.Users[i])
			} else {
				drop = append(drop, p.Users[i].ID) // changed out of the filter
			}
		}
		res.Matched += len(keep)
		if len(keep) > 0 {
			c, err := pass.Put(ctx, keep)
			if err != nil {
				return wrapf(err, "usersync: store users of customer %q", customer)
			}
			res.Counts = res.Counts.Add(c)
		}
		if len(drop) > 0 {
			c, err := pass.Remove(ctx, drop)
			if err != nil {
				return wrapf(err, "usersync: remove users of customer %q", customer)
			}
			res.Removed += c.Removed
		}
		s.progress(o, Progress{Customer: customer, Pages: res.Pages, Read: res.Read,
			Matched: res.Matched, Estimate: res.Estimate})
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		s.abort(ctx, customer, pass, err, res)
		if errors.Is(err, ErrDeltaExpired) {
			// The refused request counts; the full read starts afresh.
			*res = Result{Customer: res.Customer, Estimate: -1, Started: res.Started,
				Requests: res.Requests + 1, Reason: "the delta link expired"}
			return true
		}
		return false
	}
	cp := plan.cp
	cp.DeltaLink, cp.Rounds, cp.DeltaRequests = next, cp.Rounds+1, res.Requests
	pass.SetCheckpoint(cp)
	if _, err := pass.Commit(ctx); err != nil {
		res.Err = wrapf(err, "usersync: commit delta pass of customer %q", customer)
	}
	return false
}

// abort ends a failed pass, even when ctx is done, and records err.
func (s *Syncer) abort(ctx context.Context, customer string, pass Pass, err error, res *Result) {
	res.Err = err
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if aerr := pass.Abort(actx); aerr != nil {
		res.Err = errors.Join(err, wrapf(aerr, "usersync: abort pass of customer %q", customer))
	}
}

// wrapf wraps err with a message.
func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
