package sqlsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/usersync"
)

var _ usersync.DeltaSink = (*Sink)(nil)

// Checkpoint returns the customer's delta checkpoint, the zero Checkpoint
// when it has none.
func (s *Sink) Checkpoint(ctx context.Context, customer string) (usersync.Checkpoint, error) {
	var cp usersync.Checkpoint
	var fullAt int64
	err := s.db.QueryRowContext(ctx, s.dialect.Rebind(`SELECT delta_link, query_key, full_at, rounds, full_requests, delta_requests
		FROM tenantgate_user_sync_checkpoints WHERE customer = ?`), customer).
		Scan(&cp.DeltaLink, &cp.Query, &fullAt, &cp.Rounds, &cp.FullRequests, &cp.DeltaRequests)
	if errors.Is(err, sql.ErrNoRows) {
		return usersync.Checkpoint{}, nil
	}
	if err != nil {
		return cp, fmt.Errorf("sqlsink: read checkpoint: %w", err)
	}
	if fullAt != 0 {
		cp.FullAt = time.Unix(0, fullAt)
	}
	return cp, nil
}

// SetCheckpoint sets the checkpoint Commit stores with the pass.
func (p *pass) SetCheckpoint(cp usersync.Checkpoint) { p.cp = &cp }

// writeCheckpoint stores the pass's checkpoint in tx, or clears the
// customer's when the pass has none.
func (p *pass) writeCheckpoint(ctx context.Context, tx *sql.Tx) error {
	d := p.sink.dialect
	if p.cp == nil {
		if _, err := tx.ExecContext(ctx, d.Rebind(`DELETE FROM tenantgate_user_sync_checkpoints WHERE customer = ?`), p.customer); err != nil {
			return fmt.Errorf("sqlsink: commit: clear checkpoint: %w", err)
		}
		return nil
	}
	cp := p.cp
	var fullAt int64
	if !cp.FullAt.IsZero() {
		fullAt = cp.FullAt.UnixNano()
	}
	if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO tenantgate_user_sync_checkpoints
			(customer, delta_link, query_key, full_at, rounds, full_requests, delta_requests, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (customer) DO UPDATE SET
			delta_link = excluded.delta_link, query_key = excluded.query_key, full_at = excluded.full_at,
			rounds = excluded.rounds, full_requests = excluded.full_requests,
			delta_requests = excluded.delta_requests, updated_at = excluded.updated_at`),
		p.customer, cp.DeltaLink, cp.Query, fullAt, cp.Rounds, cp.FullRequests, cp.DeltaRequests, p.sink.now().UnixNano()); err != nil {
		return fmt.Errorf("sqlsink: commit: store checkpoint: %w", err)
	}
	return nil
}

// BeginDelta starts a delta pass over the customer's users. Like Begin it
// takes the customer's next generation, superseding any pass still
// running. Put writes at once, as in a full pass; removals wait for
// Commit, so an aborted delta pass removes nothing.
func (s *Sink) BeginDelta(ctx context.Context, customer string) (usersync.DeltaPass, error) {
	p, err := s.Begin(ctx, customer)
	if err != nil {
		return nil, err
	}
	return &deltaPass{pass: p.(*pass), removed: map[string]bool{}}, nil
}

type deltaPass struct {
	*pass
	removed map[string]bool // IDs Commit deletes
}

// Put stores users; a user removed earlier in the pass is kept after all.
func (p *deltaPass) Put(ctx context.Context, users []usersync.User) (usersync.Counts, error) {
	c, err := p.pass.Put(ctx, users)
	if err == nil {
		for i := range users {
			delete(p.removed, users[i].ID)
		}
	}
	return c, err
}

// Remove marks the customer's users with these IDs for deletion at
// Commit and reports how many of them are stored.
func (p *deltaPass) Remove(ctx context.Context, ids []string) (c usersync.Counts, err error) {
	defer func() { err = fence.Wrap(err, "sqlsink: customer "+strconv.Quote(p.customer)) }()
	if p.done {
		return c, errors.New("sqlsink: remove after the pass ended")
	}
	s, d := p.sink, p.sink.dialect
	for chunk := range slices.Chunk(ids, maxRows) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, p.customer)
		for _, id := range chunk {
			args = append(args, id)
		}
		rs, err := s.db.QueryContext(ctx, d.Rebind(`SELECT id FROM tenantgate_synced_users
			WHERE customer = ? AND id IN `+placeholders(1, len(chunk))), args...)
		if err != nil {
			return c, fmt.Errorf("sqlsink: remove: %w", err)
		}
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return c, fmt.Errorf("sqlsink: remove: %w", err)
			}
			if !p.removed[id] {
				c.Removed++
			}
			p.removed[id] = true
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return c, fmt.Errorf("sqlsink: remove: %w", err)
		}
	}
	return c, nil
}

// Commit ends the delta pass: every user it did not change stays, and the
// checkpoint is stored.
func (p *deltaPass) Commit(ctx context.Context) (c usersync.Counts, err error) {
	defer func() { err = fence.Wrap(err, "sqlsink: customer "+strconv.Quote(p.customer)) }()
	if p.done {
		return c, errors.New("sqlsink: commit after the pass ended")
	}
	s, d := p.sink, p.sink.dialect
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("sqlsink: commit: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := p.checkCurrent(ctx, tx); err != nil {
		return c, err
	}
	c = p.counts
	ids := make([]string, 0, len(p.removed))
	for id := range p.removed {
		ids = append(ids, id)
	}
	for chunk := range slices.Chunk(ids, maxRows) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, p.customer)
		for _, id := range chunk {
			args = append(args, id)
		}
		res, err := tx.ExecContext(ctx, d.Rebind(`DELETE FROM tenantgate_synced_users
			WHERE customer = ? AND id IN `+placeholders(1, len(chunk))), args...)
		if err != nil {
			return c, fmt.Errorf("sqlsink: commit: remove users: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return c, fmt.Errorf("sqlsink: commit: %w", err)
		}
		c.Removed += int(n)
	}
	if err := p.writeCheckpoint(ctx, tx); err != nil {
		return c, err
	}
	now := s.now().UnixNano()
	if _, err := tx.ExecContext(ctx, d.Rebind(`UPDATE tenantgate_user_sync_passes SET
			state = 'committed', finished_at = ?, committed_at = ?, added = ?, changed = ?, unchanged = ?, removed = ?
		WHERE customer = ? AND generation = ?`),
		now, now, c.Added, c.Changed, c.Unchanged, c.Removed, p.customer, p.gen); err != nil {
		return c, fmt.Errorf("sqlsink: commit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return c, fmt.Errorf("sqlsink: commit: %w", err)
	}
	p.done = true
	return c, nil
}
