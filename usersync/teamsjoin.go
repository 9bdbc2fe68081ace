package usersync

import (
	"context"
	"slices"
	"sync"
)

// teamsJoin joins /users pages with the Teams configurations a listing
// delivers, as they arrive: a page is passed on once each of its users
// has its configuration, or once the listing has ended (a user the
// listing did not name then has none or, when Graph evaluated a Teams
// $filter, is excluded by it). Pages keep their order and their
// boundaries (Result.Pages counts the /users pages read); a configuration
// is dropped once joined, so when both endpoints list in the same order
// (as the fake does, and Graph's directory order usually is) the join
// holds about a page of each instead of the whole tenant.
//
// add and end may be called from the listing's goroutine; push, flush
// and drain belong to the reading goroutine.
type teamsJoin struct {
	mu       sync.Mutex
	configs  map[string]*TeamsConfig
	ended    bool
	filtered bool
	progress chan struct{} // capacity 1: configurations arrived or the listing ended

	pending      []joinPage // the reading goroutine's
	pendingUsers int
	free         [][]User // arrays of pages passed on, for reuse
}

// joinPage is a /users page waiting for configurations; users[:done]
// are joined.
type joinPage struct {
	users []User
	done  int
}

// teamsPair is one configuration of a listing page.
type teamsPair struct {
	id string
	c  *TeamsConfig
}

func newTeamsJoin() *teamsJoin {
	return &teamsJoin{configs: make(map[string]*TeamsConfig, 2*teamsPageSize), progress: make(chan struct{}, 1)}
}

func (j *teamsJoin) signal() {
	select {
	case j.progress <- struct{}{}:
	default:
	}
}

// add records the configurations of one listing page.
func (j *teamsJoin) add(pairs []teamsPair) {
	j.mu.Lock()
	for _, p := range pairs {
		j.configs[p.id] = p.c
	}
	j.mu.Unlock()
	j.signal()
}

// end records that the listing is complete; filtered says Graph
// evaluated a Teams $filter, so users it did not name are excluded.
func (j *teamsJoin) end(filtered bool) {
	j.mu.Lock()
	j.ended, j.filtered = true, filtered
	j.mu.Unlock()
	j.signal()
}

// push queues a copy of a /users page (the source reuses users) and
// passes on the pages now complete, but never the newest unless the
// listing has ended: the last page passed on must carry the listing's
// final TeamsRead.
func (j *teamsJoin) push(users []User, emit func([]User) error) error {
	var buf []User
	if n := len(j.free); n > 0 && cap(j.free[n-1]) >= len(users) {
		buf, j.free = j.free[n-1], j.free[:n-1]
	}
	j.pending = append(j.pending, joinPage{users: append(buf[:0], users...)})
	j.pendingUsers += len(users)
	return j.flush(emit)
}

// flush passes on the complete pages at the head of the queue, keeping
// the newest page back while the listing runs.
func (j *teamsJoin) flush(emit func([]User) error) error {
	for len(j.pending) > 0 {
		j.mu.Lock()
		ended, filtered := j.ended, j.filtered
		if !ended && len(j.pending) == 1 {
			j.mu.Unlock()
			return nil
		}
		head := &j.pending[0]
		for head.done < len(head.users) {
			u := &head.users[head.done]
			if c, ok := j.configs[u.ID]; ok {
				u.Teams = c
				delete(j.configs, u.ID)
			} else if !ended {
				break
			}
			head.done++
		}
		j.mu.Unlock()
		if head.done < len(head.users) {
			return nil
		}
		users, n := head.users, len(head.users)
		if filtered {
			users = slices.DeleteFunc(users, func(u User) bool { return u.Teams == nil })
		}
		j.pending[0] = joinPage{}
		j.pending = j.pending[1:]
		j.pendingUsers -= n
		if err := emit(users); err != nil {
			return err
		}
		// The page's array is the join's again once emit returns (Page's
		// contract), for the next page pushed.
		j.free = append(j.free, users[:0])
	}
	return nil
}

// wait blocks until configurations arrive or the listing ends.
func (j *teamsJoin) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-j.progress:
		return nil
	}
}

// drain passes on every queued page; the listing must have ended.
func (j *teamsJoin) drain(emit func([]User) error) error {
	return j.flush(emit)
}
