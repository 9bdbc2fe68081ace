package usersync

import "context"

var _ DeltaSink = (*MemorySink)(nil)

// Checkpoint returns the customer's checkpoint, the zero Checkpoint when
// it has none.
func (m *MemorySink) Checkpoint(_ context.Context, customer string) (Checkpoint, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.checkpoints[customer], nil
}

// setCheckpoint stores cp, or clears the customer's checkpoint when cp is
// nil. The caller holds m.mu for writing.
func (m *MemorySink) setCheckpoint(customer string, cp *Checkpoint) {
	if cp == nil {
		delete(m.checkpoints, customer)
		return
	}
	if m.checkpoints == nil {
		m.checkpoints = make(map[string]Checkpoint)
	}
	m.checkpoints[customer] = *cp
}

// BeginDelta starts a delta pass over the customer's users: its changes
// are staged and applied together at Commit, so readers see either the
// previous snapshot or the new one.
func (m *MemorySink) BeginDelta(_ context.Context, customer string) (DeltaPass, error) {
	return &memDeltaPass{sink: m, customer: customer, staged: make(map[string]*memUser)}, nil
}

type memDeltaPass struct {
	sink     *MemorySink
	customer string
	staged   map[string]*memUser // nil: removed
	cp       *Checkpoint
	done     bool
}

// view returns the user as the pass sees it: staged, else committed.
func (p *memDeltaPass) view(id string) (memUser, bool) {
	if u, ok := p.staged[id]; ok {
		if u == nil {
			return memUser{}, false
		}
		return *u, true
	}
	u, ok := p.sink.users[p.customer][id]
	return u, ok
}

func (p *memDeltaPass) Put(_ context.Context, users []User) (Counts, error) {
	if p.done {
		return Counts{}, errPassDone
	}
	p.sink.mu.RLock()
	defer p.sink.mu.RUnlock()
	var c Counts
	for i := range users {
		u := &memUser{User: users[i], hash: users[i].Hash()}
		prev, ok := p.view(u.ID)
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
	return c, nil
}

func (p *memDeltaPass) Remove(_ context.Context, ids []string) (Counts, error) {
	if p.done {
		return Counts{}, errPassDone
	}
	p.sink.mu.RLock()
	defer p.sink.mu.RUnlock()
	var c Counts
	for _, id := range ids {
		if _, ok := p.view(id); ok {
			c.Removed++
		}
		p.staged[id] = nil
	}
	return c, nil
}

func (p *memDeltaPass) SetCheckpoint(cp Checkpoint) { p.cp = &cp }

func (p *memDeltaPass) Commit(context.Context) (Counts, error) {
	if p.done {
		return Counts{}, errPassDone
	}
	p.done = true
	p.sink.mu.Lock()
	defer p.sink.mu.Unlock()
	if p.sink.users == nil {
		p.sink.users = make(map[string]map[string]memUser)
	}
	users := p.sink.users[p.customer]
	if users == nil {
		users = make(map[string]memUser)
		p.sink.users[p.customer] = users
	}
	var c Counts
	for id, u := range p.staged {
		if u == nil {
			if _, ok := users[id]; ok {
				c.Removed++
				delete(users, id)
			}
			continue
		}
		users[id] = *u
	}
	p.staged = nil
	p.sink.setCheckpoint(p.customer, p.cp)
	return c, nil
}

func (p *memDeltaPass) Abort(context.Context) error {
	p.done = true
	p.staged = nil
	return nil
}
