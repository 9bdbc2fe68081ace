package usersync

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// MemorySink is a Sink keeping users in memory, for tests, demos and
// hosts that only need the latest snapshot. A pass stages its users and
// swaps them in at Commit, so readers see either the previous snapshot or
// the new one, never a mix. The zero value is ready to use.
type MemorySink struct {
	mu          sync.RWMutex
	users       map[string]map[string]memUser // customer -> user ID -> user
	checkpoints map[string]Checkpoint         // customer -> checkpoint of the last committed pass
}

type memUser struct {
	User
	hash [HashSize]byte
}

// Begin starts a pass over the customer's users.
func (m *MemorySink) Begin(_ context.Context, customer string) (Pass, error) {
	return &memPass{sink: m, customer: customer, staged: make(map[string]memUser)}, nil
}

// Users returns the customer's users of the last committed pass, ordered
// by UserPrincipalName.
func (m *MemorySink) Users(customer string) []User {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]User, 0, len(m.users[customer]))
	for _, u := range m.users[customer] {
		out = append(out, u.User)
	}
	slices.SortFunc(out, func(a, b User) int {
		return cmp.Or(cmp.Compare(a.UserPrincipalName, b.UserPrincipalName), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Len returns the number of the customer's users of the last committed
// pass.
func (m *MemorySink) Len(customer string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.users[customer])
}

type memPass struct {
	sink     *MemorySink
	customer string
	staged   map[string]memUser
	cp       *Checkpoint
	done     bool
}

// SetCheckpoint sets the checkpoint Commit stores.
func (p *memPass) SetCheckpoint(cp Checkpoint) { p.cp = &cp }

func (p *memPass) Put(_ context.Context, users []User) (Counts, error) {
	if p.done {
		return Counts{}, errPassDone
	}
	p.sink.mu.RLock()
	old := p.sink.users[p.customer]
	var c Counts
	for i := range users {
		u := memUser{User: users[i], hash: users[i].Hash()}
		prev, ok := p.staged[u.ID]
		if !ok {
			prev, ok = old[u.ID]
		}
		switch {
		case !ok:
			c.Added++
		case prev.hash != u.hash:
			c.Changed++
		default:
			c.Unchanged++
		}
		p.staged[u.ID] = u
	}
	p.sink.mu.RUnlock()
	return c, nil
}

func (p *memPass) Commit(context.Context) (Counts, error) {
	if p.done {
		return Counts{}, errPassDone
	}
	p.done = true
	p.sink.mu.Lock()
	defer p.sink.mu.Unlock()
	var c Counts
	for id := range p.sink.users[p.customer] {
		if _, ok := p.staged[id]; !ok {
			c.Removed++
		}
	}
	if p.sink.users == nil {
		p.sink.users = make(map[string]map[string]memUser)
	}
	p.sink.users[p.customer] = p.staged
	p.staged = nil
	p.sink.setCheckpoint(p.customer, p.cp)
	return c, nil
}

func (p *memPass) Abort(context.Context) error {
	p.done = true
	p.staged = nil
	return nil
}
