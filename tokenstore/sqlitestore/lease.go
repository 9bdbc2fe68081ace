package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/internal/sqlbackend"
)

// Lock blocks until the caller holds the lease name, or ctx ends. The lease
// is a row in the tokenstore_leases table, so it excludes every process
// sharing the database file, not only this Store. It lapses ttl after it
// was taken (measured with the clock of the taking process) unless released
// first. Lock polls while another holder has the lease.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (tokenstore.Lease, error) {
	if err := s.checkOpen("lock"); err != nil {
		return nil, err
	}
	if err := sqlbackend.CheckLeaseName(name); err != nil {
		return nil, fmt.Errorf("sqlitestore: lock: %w", err)
	}
	if err := sqlbackend.CheckTTL(ttl); err != nil {
		return nil, fmt.Errorf("sqlitestore: lock %s: %w", name, err)
	}
	holder := sqlbackend.NewHolder()
	err := sqlbackend.WaitFor(ctx, func(ctx context.Context) (bool, error) {
		if s.closed.Load() {
			return false, tokenstore.ErrClosed // closed while waiting
		}
		now := time.Now()
		// While someone holds the lease, waiting costs a read, not a write
		// that would queue for the database's write lock.
		var expires int64
		err := s.db.QueryRowContext(ctx, `SELECT expires_at FROM tokenstore_leases WHERE name = ?`, name).Scan(&expires)
		switch {
		case err == nil && expires > now.UnixNano():
			return false, nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return false, err
		}
		// Take the lease if it is free or lapsed; one statement, so two
		// takers cannot both see it free.
		res, err := s.db.ExecContext(ctx, `INSERT INTO tokenstore_leases (name, holder, expires_at)
			VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE tokenstore_leases.expires_at <= ?`,
			name, holder, now.Add(ttl).UnixNano(), now.UnixNano())
		if err != nil {
			if isBusy(err) && ctx.Err() == nil {
				return false, nil // another writer held the file for the whole busy timeout: retry
			}
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: lock %s: %w", name, mapErr(ctx, err))
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
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.s.checkOpen("release " + l.name); err != nil {
		return err
	}
	if l.released {
		return fmt.Errorf("sqlitestore: release %s: already released: %w", l.name, tokenstore.ErrLeaseLost)
	}
	var expires int64
	err := l.s.db.QueryRowContext(ctx, `DELETE FROM tokenstore_leases WHERE name = ? AND holder = ?
		RETURNING expires_at`, l.name, l.holder).Scan(&expires)
	now := time.Now().UnixNano()
	switch {
	case errors.Is(err, sql.ErrNoRows):
		l.released = true
		return fmt.Errorf("sqlitestore: release %s: lapsed and taken by another holder: %w", l.name, tokenstore.ErrLeaseLost)
	case err != nil:
		return fmt.Errorf("sqlitestore: release %s: %w", l.name, mapErr(ctx, err))
	}
	l.released = true
	if expires <= now {
		return fmt.Errorf("sqlitestore: release %s: lapsed before release: %w", l.name, tokenstore.ErrLeaseLost)
	}
	return nil
}
