package voice

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// State is an operation's (or an item's) state.
type State string

// The states.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StatePartial   State = "partial"
	StateCanceled  State = "canceled"
)

// Done reports a final state.
func (s State) Done() bool { return s != StateQueued && s != StateRunning }

// StepStatus is one step's status.
type StepStatus string

// The step statuses.
const (
	// StepPending: not started.
	StepPending StepStatus = "pending"
	// StepRunning: submitted to Microsoft, not finished (a number
	// operation being followed).
	StepRunning   StepStatus = "running"
	StepSucceeded StepStatus = "succeeded"
	StepFailed    StepStatus = "failed"
	// StepUnchanged: already true; nothing was sent.
	StepUnchanged StepStatus = "unchanged"
	// StepCanceled: not run because the operation was cancelled.
	StepCanceled StepStatus = "canceled"
	// StepSkipped: not run because an earlier step failed.
	StepSkipped StepStatus = "skipped"
)

// OperationKind says what an operation does.
type OperationKind string

// The kinds.
const (
	KindSet     OperationKind = "set"
	KindRelease OperationKind = "release"
)

// Operation is one change of users' voice, run as a durable job.
type Operation struct {
	ID        string        `json:"id"`
	Customer  string        `json:"customer"`
	Kind      OperationKind `json:"kind"`
	State     State         `json:"state"`
	Actor     string        `json:"actor,omitempty"`
	Total     int           `json:"total"`
	Succeeded int           `json:"succeeded"`
	Failed    int           `json:"failed"`
	Created   time.Time     `json:"created"`
	Updated   time.Time     `json:"updated"`
	Finished  *time.Time    `json:"finished"`
	Items     []Item        `json:"items"`

	// done counts an apply's finished items.
	done int
}

// Item is one user's part of an operation.
type Item struct {
	// User is the user's principal name, UserID its object ID.
	User   string `json:"user"`
	UserID string `json:"userId"`
	State  State  `json:"state"`
	Steps  []Step `json:"steps"`
}

// Step is one change: "license", "number" or "policy:<type>".
type Step struct {
	Step   string     `json:"step"`
	Status StepStatus `json:"status"`
	// Detail is what happened: Microsoft's status detail or error.
	Detail string `json:"detail,omitempty"`
	// Number is the telephone number of a number step.
	Number string `json:"number,omitempty"`
}

// Progress is the share of steps finished, 0 to 1.
func (o *Operation) Progress() float64 {
	if o.Kind == KindApply {
		if o.Total == 0 {
			return 1
		}
		return float64(o.done) / float64(o.Total)
	}
	var n, done int
	for _, it := range o.Items {
		for _, s := range it.Steps {
			n++
			if s.Status != StepPending && s.Status != StepRunning {
				done++
			}
		}
	}
	if n == 0 {
		return 1
	}
	return float64(done) / float64(n)
}

// count sets Total, Succeeded and Failed from the items.
func (o *Operation) count() {
	o.Total, o.Succeeded, o.Failed = len(o.Items), 0, 0
	for _, it := range o.Items {
		switch it.State {
		case StateSucceeded:
			o.Succeeded++
		case StateFailed, StatePartial:
			o.Failed++
		}
	}
}

func newOperationID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "vop_" + strings.ToLower(base64.RawURLEncoding.EncodeToString(b))
}

// insertOperation stores a new queued operation on userID with its plan;
// it refuses with CodeOperationInProgress while another operation on the
// user is queued or running (a unique index, so across replicas too).
func (s *Store) insertOperation(ctx context.Context, op *Operation, userID string, p *plan) error {
	op.count()
	items, err := json.Marshal(op.Items)
	if err != nil {
		return err
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_operations
		(id, customer, kind, user_id, state, actor, plan, items, created_at, updated_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING`),
		op.ID, op.Customer, string(op.Kind), userID, string(op.State), op.Actor, string(pj), string(items), nanos(op.Created), nanos(op.Created))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return &Error{Code: CodeOperationInProgress, Detail: "another operation on this user is queued or running; wait for it or cancel it"}
	}
	return nil
}

// saveOperation writes op's state, items and plan, unless the stored
// operation was cancelled meanwhile (then it reports false).
func (s *Store) saveOperation(ctx context.Context, op *Operation, p *plan) (bool, error) {
	op.count()
	items, err := json.Marshal(op.Items)
	if err != nil {
		return false, err
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	var fin int64
	if op.Finished != nil {
		fin = nanos(*op.Finished)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_voice_operations SET state = ?, items = ?, plan = ?, updated_at = ?, finished_at = ?
		WHERE id = ? AND state <> 'canceled'`), string(op.State), string(items), string(pj), nanos(op.Updated), fin, op.ID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// cancelOperation marks a queued or running operation cancelled.
func (s *Store) cancelOperation(ctx context.Context, customer, id string, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_voice_operations SET state = 'canceled', updated_at = ?, finished_at = ?
		WHERE customer = ? AND id = ? AND state IN ('queued', 'running')`), nanos(now), nanos(now), customer, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

const opCols = `id, customer, kind, state, actor, plan, items, created_at, updated_at, finished_at`

func scanOperation(row interface{ Scan(...any) error }) (*Operation, *plan, error) {
	var op Operation
	var kind, state, pj, items string
	var created, updated, finished int64
	if err := row.Scan(&op.ID, &op.Customer, &kind, &state, &op.Actor, &pj, &items, &created, &updated, &finished); err != nil {
		return nil, nil, err
	}
	op.Kind, op.State = OperationKind(kind), State(state)
	op.Created, op.Updated = fromNanos(created), fromNanos(updated)
	if finished != 0 {
		t := fromNanos(finished)
		op.Finished = &t
	}
	if err := json.Unmarshal([]byte(items), &op.Items); err != nil {
		return nil, nil, err
	}
	var p plan
	if err := json.Unmarshal([]byte(pj), &p); err != nil {
		return nil, nil, err
	}
	if op.State == StateCanceled {
		for i := range op.Items {
			if !op.Items[i].State.Done() {
				op.Items[i].State = StateCanceled
			}
			for j := range op.Items[i].Steps {
				if st := &op.Items[i].Steps[j]; st.Status == StepPending {
					st.Status = StepCanceled
				}
			}
		}
	}
	op.count()
	return &op, &p, nil
}

// operation reads one operation of customer ("" for any customer).
func (s *Store) operation(ctx context.Context, customer, id string) (*Operation, *plan, error) {
	op, p, err := scanOperation(s.db.QueryRowContext(ctx, s.q(`SELECT `+opCols+` FROM tenantgate_voice_operations WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && customer != "" && op.Customer != customer) {
		return nil, nil, &Error{Code: CodeNotFound, Detail: "no operation " + id}
	}
	if err == nil && op.Kind == KindApply {
		err = s.fillApply(ctx, op, true)
	}
	return op, p, err
}

// OperationQuery pages a customer's operations, newest first.
type OperationQuery struct {
	// Limit is the page size: default 50, at most 500.
	Limit int
	// State keeps the operations in that state.
	State State
	// After is the Next of the previous page.
	After string
}

// OperationPage is one page of operations.
type OperationPage struct {
	Operations []*Operation `json:"operations"`
	Next       string       `json:"next,omitempty"`
}

func (s *Store) operations(ctx context.Context, customer string, q OperationQuery) (OperationPage, error) {
	where, args := []string{"customer = ?"}, []any{customer}
	if q.State != "" {
		where, args = append(where, "state = ?"), append(args, string(q.State))
	}
	if q.After != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.After)
		var c struct {
			T  int64  `json:"t"`
			ID string `json:"i"`
		}
		if err != nil || json.Unmarshal(b, &c) != nil {
			return OperationPage{}, refuse(CodeInvalid, "next", "not a cursor of this listing")
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, c.T, c.T, c.ID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+opCols+` FROM tenantgate_voice_operations WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT ?`), append(args, limit+1)...)
	if err != nil {
		return OperationPage{}, err
	}
	defer rows.Close()
	page := OperationPage{Operations: []*Operation{}}
	for rows.Next() {
		op, _, err := scanOperation(rows)
		if err != nil {
			return OperationPage{}, err
		}
		page.Operations = append(page.Operations, op)
	}
	if err := rows.Err(); err != nil {
		return OperationPage{}, err
	}
	rows.Close()
	for _, op := range page.Operations {
		if op.Kind == KindApply {
			if err := s.fillApply(ctx, op, false); err != nil {
				return OperationPage{}, err
			}
		}
	}
	if len(page.Operations) > limit {
		page.Operations = page.Operations[:limit]
		last := page.Operations[limit-1]
		b, _ := json.Marshal(map[string]any{"t": nanos(last.Created), "i": last.ID})
		page.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	return page, nil
}
