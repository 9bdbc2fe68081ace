package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/sqlbackend"
)

// Lock blocks until the caller holds the lease name, or ctx ends. The lease
// is a row of tokenstore_leases, so it excludes every replica using the
// same database and schema. It lapses ttl after it was taken, measured
// with the database server's clock (replicas' clocks may differ), unless
// released first. Lock polls while another holder has the lease.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (tokenstore.Lease, error) {
	if err := s.checkOpen("lock"); err != nil {
		return nil, err
	}
	if err := sqlbackend.CheckLeaseName(name); err != nil {
		return nil, fmt.Errorf("pgstore: lock: %w", err)
	}
	if err := sqlbackend.CheckTTL(ttl); err != nil {
		return nil, fmt.Errorf("pgstore: lock %s: %w", name, err)
	}
	holder := sqlbackend.NewHolder()
	err := sqlbackend.WaitFor(ctx, func(ctx context.Context) (bool, error) {
		if s.closed.Load() {
			return false, tokenstore.ErrClosed // closed while waiting
		}
		// While someone holds the lease, waiting costs a read, not a row
		// lock.
		var held bool
		err := s.pool.QueryRow(ctx, `SELECT expires_at > now() FROM `+s.leases+` WHERE name = $1`, name).Scan(&held)
		switch {
		case err == nil && held:
			return false, nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return false, err
		}
		// Take the lease if it is free or lapsed. INSERT ... ON CONFLICT
		// DO UPDATE locks the row and re-checks the WHERE on its latest
		// version, so two takers cannot both see it free.
		tag, err := s.pool.Exec(ctx, `INSERT INTO `+s.leases+` AS l (name, holder, expires_at)
			VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE l.expires_at <= now()`,
			name, holder, ttl.Microseconds())
		if err != nil {
			return false, err
		}
		return tag.RowsAffected() == 1, nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: lock %s: %w", name, mapErr(ctx, err))
	}
	return &lease{s: s, name: name, holder: holder}, nil
}

// lease is a held row of tokenstore_leases.
type lease struct {
	s      *Store
	name   string
	holder string

	mu       sync.Mutex
	released bool
}

// Release deletes the lease row if this lease still holds it. It returns
// an error matching tokenstore.ErrLeaseLost when the lease lapsed first
// (whether or not someone else took it since), and leaves another
// holder's row alone. Releasing twice returns ErrLeaseLost too: the lease
// is no longer held.
func (l *lease) Release(ctx context.Context) error {
	if err := l.s.checkOpen("release " + l.name); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return fmt.Errorf("pgstore: release %s: already released: %w", l.name, tokenstore.ErrLeaseLost)
	}
	var live bool
	err := l.s.pool.QueryRow(ctx, `DELETE FROM `+l.s.leases+` WHERE name = $1 AND holder = $2
		RETURNING expires_at > now()`, l.name, l.holder).Scan(&live)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		l.released = true
		return fmt.Errorf("pgstore: release %s: lapsed and taken by another holder: %w", l.name, tokenstore.ErrLeaseLost)
	case err != nil:
		return fmt.Errorf("pgstore: release %s: %w", l.name, mapErr(ctx, err))
	}
	l.released = true
	if !live {
		return fmt.Errorf("pgstore: release %s: lapsed before release: %w", l.name, tokenstore.ErrLeaseLost)
	}
	return nil
}
