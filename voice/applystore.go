package voice

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// maxApplyItemsShown bounds the items an apply's operation carries when
// read (its counts cover every item).
const maxApplyItemsShown = 5000

func (s *Store) deleteOperation(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tenantgate_voice_operations WHERE id = ?`), id)
	return err
}

// finishApply ends an apply's operation in state, whatever it was.
func (s *Store) finishApply(ctx context.Context, id string, state State, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_voice_operations SET state = ?, updated_at = ?, finished_at = ? WHERE id = ?`),
		string(state), nanos(now), nanos(now), id)
	return err
}

// finishApplyIfOpen ends an apply that is queued or running; false when
// it already ended (another lane finished it, or it was cancelled).
func (s *Store) finishApplyIfOpen(ctx context.Context, id string, state State, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_voice_operations SET state = ?, updated_at = ?, finished_at = ?
		WHERE id = ? AND state IN ('queued', 'running')`), string(state), nanos(now), nanos(now), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Store) setApplyRunning(ctx context.Context, id string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_voice_operations SET state = 'running', updated_at = ? WHERE id = ? AND state = 'queued'`), nanos(now), id)
	return err
}

func (s *Store) operationState(ctx context.Context, id string) (State, error) {
	var st string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT state FROM tenantgate_voice_operations WHERE id = ?`), id).Scan(&st)
	return State(st), err
}

// insertApplyItems stores an apply's users; a user already in the apply
// is left as it is (the primary key).
func (s *Store) insertApplyItems(ctx context.Context, op, customer string, items []applyItem, lanes int, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for start := 0; start < len(items); start += 100 {
		part := items[start:min(start+100, len(items))]
		var b strings.Builder
		b.WriteString(`INSERT INTO tenantgate_voice_apply_items (operation, user_id, customer, idx, lane, state, body, updated_at) VALUES `)
		args := make([]any, 0, 8*len(part))
		for i, ai := range part {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,?,?)")
			body, err := json.Marshal(ai)
			if err != nil {
				return err
			}
			args = append(args, op, ai.Work.UserID, customer, ai.idx, ai.idx%max(lanes, 1), string(ai.Item.State), string(body), nanos(now))
		}
		b.WriteString(` ON CONFLICT (operation, user_id) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// laneItems reads the lane's items not finished, in order.
func (s *Store) laneItems(ctx context.Context, op string, lane int) ([]applyItem, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT idx, state, body FROM tenantgate_voice_apply_items
		WHERE operation = ? AND lane = ? AND state IN ('queued', 'running') ORDER BY idx`), op, lane)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []applyItem
	for rows.Next() {
		var idx int
		var state, body string
		if err := rows.Scan(&idx, &state, &body); err != nil {
			return nil, err
		}
		var ai applyItem
		if err := json.Unmarshal([]byte(body), &ai); err != nil {
			return nil, err
		}
		ai.idx, ai.resumed = idx, state == string(StateRunning)
		out = append(out, ai)
	}
	return out, rows.Err()
}

func (s *Store) saveApplyItem(ctx context.Context, op string, ai *applyItem, now time.Time) error {
	body, err := json.Marshal(ai)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_voice_apply_items SET state = ?, body = ?, updated_at = ? WHERE operation = ? AND user_id = ?`),
		string(ai.Item.State), string(body), nanos(now), op, ai.Work.UserID)
	return err
}

type applyCount struct{ open, succeeded, failed, canceled, total int }

func (s *Store) applyCounts(ctx context.Context, op string) (applyCount, error) {
	var c applyCount
	err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*),
		coalesce(sum(CASE WHEN state IN ('queued', 'running') THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN state IN ('failed', 'partial') THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN state = 'canceled' THEN 1 ELSE 0 END), 0)
		FROM tenantgate_voice_apply_items WHERE operation = ?`), op).Scan(&c.total, &c.open, &c.succeeded, &c.failed, &c.canceled)
	return c, err
}

// fillApply gives an apply's operation its items (at most
// maxApplyItemsShown when items) and counts.
func (s *Store) fillApply(ctx context.Context, op *Operation, items bool) error {
	c, err := s.applyCounts(ctx, op.ID)
	if err != nil {
		return err
	}
	op.Items = []Item{}
	if items {
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT body FROM tenantgate_voice_apply_items WHERE operation = ? ORDER BY idx LIMIT ?`), op.ID, maxApplyItemsShown)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var body string
			if err := rows.Scan(&body); err != nil {
				return err
			}
			var ai applyItem
			if err := json.Unmarshal([]byte(body), &ai); err != nil {
				return err
			}
			it := ai.Item
			if op.State == StateCanceled && !it.State.Done() {
				it.State = StateCanceled
				for j := range it.Steps {
					if it.Steps[j].Status == StepPending {
						it.Steps[j].Status = StepCanceled
					}
				}
			}
			op.Items = append(op.Items, it)
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	op.Total, op.Succeeded, op.Failed = c.total, c.succeeded, c.failed
	op.done = c.total - c.open
	if op.State.Done() {
		op.done = c.total
	}
	return nil
}
