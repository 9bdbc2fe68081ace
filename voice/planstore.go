package voice

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// PlanItemQuery pages a plan's items in row order.
type PlanItemQuery struct {
	// Status keeps the items with that status.
	Status PlanStatus
	// Limit is the page size: default 100, at most 1,000.
	Limit int
	// After is the Next of the previous page.
	After string
}

// PlanItemPage is one page of a plan's items.
type PlanItemPage struct {
	Items []PlanItem `json:"items"`
	Next  string     `json:"next,omitempty"`
}

// storedPlan is a plan row's body.
type storedPlan struct {
	Plan   *Plan      `json:"plan"`
	Source planSource `json:"source"`
}

func (s *Store) putPlan(ctx context.Context, p *Plan, src planSource) error {
	items, next := p.Items, p.Next
	p.Items, p.Next = nil, ""
	b, err := json.Marshal(storedPlan{Plan: p, Source: src})
	p.Items, p.Next = items, next
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_plans (id, customer, body, read_at, expires_at, operation, created_at)
		VALUES (?, ?, ?, ?, ?, '', ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, read_at = excluded.read_at, expires_at = excluded.expires_at`),
		p.ID, p.Customer, string(b), nanos(p.Read), nanos(p.Expires), nanos(p.Read))
	return err
}

// plan reads customer's plan id; an expired or unknown one is
// CodeNotFound.
func (s *Store) plan(ctx context.Context, customer, id string, now time.Time) (*Plan, planSource, error) {
	var body, op string
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT body, operation, expires_at FROM tenantgate_voice_plans WHERE id = ? AND customer = ?`), id, customer).Scan(&body, &op, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, planSource{}, &Error{Code: CodeNotFound, Detail: "no plan " + clipInput(id) + " (plans keep for a while only: make a new one)"}
	}
	if err != nil {
		return nil, planSource{}, err
	}
	var sp storedPlan
	if err := json.Unmarshal([]byte(body), &sp); err != nil {
		return nil, planSource{}, err
	}
	if op == "" && expires <= nanos(now) {
		return nil, planSource{}, &Error{Code: CodeNotFound, Detail: "plan " + clipInput(id) + " expired at " + fromNanos(expires).Format(time.RFC3339) + ": make a new one"}
	}
	sp.Plan.Operation = op
	return sp.Plan, sp.Source, nil
}

// claimPlan marks plan id applied by operation; false when another apply
// got it first (a row update, so across replicas too).
func (s *Store) claimPlan(ctx context.Context, id, operation string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_voice_plans SET operation = ? WHERE id = ? AND operation = ''`), operation, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Store) insertPlanItems(ctx context.Context, id string, from int, items []storedItem) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	const batch = 200
	for len(items) > 0 {
		n := min(batch, len(items))
		var b strings.Builder
		b.WriteString(`INSERT INTO tenantgate_voice_plan_items (plan_id, idx, status, body) VALUES `)
		args := make([]any, 0, 4*n)
		for i, it := range items[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?)")
			body, err := json.Marshal(it)
			if err != nil {
				return err
			}
			args = append(args, id, from+i, string(it.Item.Status), string(body))
		}
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return err
		}
		items, from = items[n:], from+n
	}
	return tx.Commit()
}

func (s *Store) deletePlanItems(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tenantgate_voice_plan_items WHERE plan_id = ?`), id)
	return err
}

// planItems pages plan id's items.
func (s *Store) planItems(ctx context.Context, id string, q PlanItemQuery) (PlanItemPage, error) {
	where, args := []string{"plan_id = ?"}, []any{id}
	if q.Status != "" {
		switch q.Status {
		case PlanChange, PlanUnchanged, PlanError:
		default:
			return PlanItemPage{}, refuse(CodeInvalid, "status", "must be change, unchanged or error")
		}
		where, args = append(where, "status = ?"), append(args, string(q.Status))
	}
	if q.After != "" {
		n, err := strconv.Atoi(q.After)
		if err != nil || n < 0 {
			return PlanItemPage{}, refuse(CodeInvalid, "after", "not a cursor of this listing")
		}
		where, args = append(where, "idx > ?"), append(args, n)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT idx, body FROM tenantgate_voice_plan_items WHERE `+strings.Join(where, " AND ")+` ORDER BY idx LIMIT ?`),
		append(args, limit+1)...)
	if err != nil {
		return PlanItemPage{}, err
	}
	defer rows.Close()
	page := PlanItemPage{Items: []PlanItem{}}
	last := 0
	for rows.Next() {
		var idx int
		var body string
		if err := rows.Scan(&idx, &body); err != nil {
			return PlanItemPage{}, err
		}
		if len(page.Items) == limit {
			page.Next = strconv.Itoa(last)
			break
		}
		var si storedItem
		if err := json.Unmarshal([]byte(body), &si); err != nil {
			return PlanItemPage{}, err
		}
		page.Items = append(page.Items, si.Item)
		last = idx
	}
	return page, rows.Err()
}

// planWork streams plan id's change items with their work, in row order.
func (s *Store) planWork(ctx context.Context, id string, fn func(idx int, si storedItem) error) error {
	after := -1
	for {
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT idx, body FROM tenantgate_voice_plan_items WHERE plan_id = ? AND status = 'change' AND idx > ? ORDER BY idx LIMIT 500`), id, after)
		if err != nil {
			return err
		}
		var batch []storedItem
		var idxs []int
		for rows.Next() {
			var idx int
			var body string
			if err := rows.Scan(&idx, &body); err != nil {
				rows.Close()
				return err
			}
			var si storedItem
			if err := json.Unmarshal([]byte(body), &si); err != nil {
				rows.Close()
				return err
			}
			batch, idxs = append(batch, si), append(idxs, idx)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i, si := range batch {
			if err := fn(idxs[i], si); err != nil {
				return err
			}
			after = idxs[i]
		}
		if len(batch) < 500 {
			return nil
		}
	}
}

// candidatesAfter returns up to n numbers of r after after that the
// inventory has unassigned and user-assignable and no live hold covers,
// lowest first.
func (s *Store) candidatesAfter(ctx context.Context, customer string, r Range, after string, now time.Time, n int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT n.number FROM tenantgate_voice_numbers n
		WHERE n.customer = ? AND n.assignment_status = 'unassigned' AND (n.capabilities = '' OR n.capabilities LIKE '%userAssignment%')
		AND length(n.number) = ? AND n.number >= ? AND n.number <= ? AND n.number > ?
		AND NOT EXISTS (SELECT 1 FROM tenantgate_voice_holds h WHERE h.customer = n.customer AND h.number = n.number AND h.until > ?)
		ORDER BY n.number LIMIT ?`), customer, len(r.From), r.From, r.To, after, nanos(now), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var num string
		if err := rows.Scan(&num); err != nil {
			return nil, err
		}
		out = append(out, num)
	}
	return out, rows.Err()
}

// numberRow reads one number of customer's inventory.
func (s *Store) numberRow(ctx context.Context, customer, number string) (numberRow, bool, error) {
	var r numberRow
	var caps string
	var refreshed int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT `+numberCols+`, refreshed_at FROM tenantgate_voice_numbers WHERE customer = ? AND number = ?`), customer, number).
		Scan(&r.Number, &r.ID, &r.Type, &r.Activation, &r.Status, &r.TargetID, &r.TargetUPN, &caps, &r.Category, &r.LocationID, &r.Country, &r.City, &refreshed)
	if errors.Is(err, sql.ErrNoRows) {
		return numberRow{}, false, nil
	}
	if caps != "" {
		r.Capabilities = strings.Split(caps, ",")
	}
	return r, err == nil, err
}
