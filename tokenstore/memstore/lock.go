package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

type leaseState struct {
	id      uint64
	expires time.Time
}

// Lock implements tokenstore.Locker within this process: it blocks until
// no unexpired lease of name is held, or ctx ends.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (tokenstore.Lease, error) {
	if name == "" {
		return nil, fmt.Errorf("memstore: lock: %w: empty lease name", tokenstore.ErrInvalid)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("memstore: lock %q: %w: ttl %v is not positive", name, tokenstore.ErrInvalid, ttl)
	}
	for {
		if err := s.begin(ctx); err != nil {
			return nil, err
		}
		t := time.Now()
		cur, held := s.leases[name]
		if !held || !t.Before(cur.expires) {
			s.leaseID++
			st := leaseState{id: s.leaseID, expires: t.Add(ttl)}
			s.leases[name] = st
			s.mu.Unlock()
			return &lease{s: s, name: name, id: st.id}, nil
		}
		changed := s.changed
		s.mu.Unlock()

		timer := time.NewTimer(cur.expires.Sub(t))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-changed:
		case <-timer.C:
		}
		timer.Stop()
	}
}

type lease struct {
	s    *Store
	name string
	id   uint64
}

// Release implements tokenstore.Lease.
func (l *lease) Release(ctx context.Context) error {
	if err := l.s.begin(ctx); err != nil {
		return err
	}
	defer l.s.mu.Unlock()
	cur, held := l.s.leases[l.name]
	if !held || cur.id != l.id {
		return fmt.Errorf("memstore: release %q: %w", l.name, tokenstore.ErrLeaseLost)
	}
	delete(l.s.leases, l.name)
	close(l.s.changed)
	l.s.changed = make(chan struct{})
	if !time.Now().Before(cur.expires) {
		return fmt.Errorf("memstore: release %q: %w", l.name, tokenstore.ErrLeaseLost)
	}
	return nil
}
