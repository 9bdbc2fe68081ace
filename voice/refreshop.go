package voice

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/riverqueue/river"

	"github.com/tenantgate/tenantgate/audit"
)

// KindRefreshInventory is the operation kind of an inventory read someone asked
// for (StartRefresh): one item, "inventory", with one step of the same
// name whose detail says how many numbers were read.
const KindRefreshInventory OperationKind = "refresh"

// refreshKey is the user key of refresh operations: the operations'
// unique index then admits one queued or running refresh per customer.
const refreshKey = "refresh:inventory"

// StartRefresh queues a read of customer's whole number inventory from
// Microsoft as an operation (KindRefreshInventory) and answers at once with it; a
// refresh already queued or running is returned instead of a second
// one, across replicas. Reading 50,000 numbers takes 50 pages: longer
// than a request should wait.
func (s *Service) StartRefresh(ctx context.Context, customer, actor string) (*Operation, error) {
	if s.jobs.Load() == nil {
		return nil, errNoInserter
	}
	now := s.now()
	op := &Operation{ID: newOperationID(), Customer: customer, Kind: KindRefreshInventory, State: StateQueued, Actor: actor, Created: now, Updated: now,
		Items: []Item{{User: "inventory", UserID: refreshKey, State: StateQueued, Steps: []Step{{Step: "inventory", Status: StepPending}}}}}
	if err := s.cfg.Store.insertOperation(ctx, op, refreshKey, &plan{UserID: refreshKey}); err != nil {
		if e, ok := AsError(err); ok && e.Code == CodeOperationInProgress {
			if cur, err := s.cfg.Store.openOperationOn(ctx, customer, refreshKey); err == nil {
				return cur, nil
			}
		}
		return nil, err
	}
	if _, err := s.insert(ctx, RefreshArgs{Customer: customer, Operation: op.ID}, nil); err != nil {
		_ = s.cfg.Store.deleteOperation(context.WithoutCancel(ctx), op.ID)
		return nil, fmt.Errorf("voice: queue the refresh of %q: %w", customer, err)
	}
	s.audit(ctx, op, actor, "voice.refresh", audit.Attempted, "operation "+op.ID+": read the number inventory from Microsoft")
	return op, nil
}

// runRefresh carries out refresh operation id; last says no retry
// follows, so a transient failure ends it failed.
func (s *Service) runRefresh(ctx context.Context, customer, id string, last bool) error {
	op, p, err := s.cfg.Store.operation(ctx, customer, id)
	if err != nil {
		if e, ok := AsError(err); ok && e.Code == CodeNotFound {
			return nil // offboarded meanwhile
		}
		return err
	}
	if op.State.Done() || len(op.Items) != 1 || len(op.Items[0].Steps) != 1 {
		return nil
	}
	it, st := &op.Items[0], &op.Items[0].Steps[0]
	op.State, it.State, st.Status = StateRunning, StateRunning, StepRunning
	if err := s.save(ctx, op, p); err != nil {
		if errors.Is(err, errCanceled) {
			return nil
		}
		return err
	}
	n, rerr := s.Refresh(ctx, customer)
	if rerr != nil && ctx.Err() != nil {
		return ctx.Err() // shutdown: the next attempt reads again
	}
	if rerr != nil && retryable(rerr) && !last {
		st.Detail = "will retry: " + graphDetail(rerr)
		if err := s.save(ctx, op, p); err != nil && !errors.Is(err, errCanceled) {
			return err
		}
		return rerr
	}
	now := s.now()
	op.Finished = &now
	outcome := audit.Succeeded
	if rerr != nil {
		op.State, it.State, st.Status, st.Detail = StateFailed, StateFailed, StepFailed, graphDetail(rerr)
		outcome = audit.Failed
	} else {
		op.State, it.State, st.Status, st.Detail = StateSucceeded, StateSucceeded, StepSucceeded, strconv.Itoa(n)+" numbers read"
	}
	if err := s.save(context.WithoutCancel(ctx), op, p); err != nil {
		if errors.Is(err, errCanceled) {
			return nil
		}
		return err
	}
	countOperation(ctx, op)
	s.audit(ctx, op, op.Actor, "voice.refresh", outcome, "operation "+op.ID+": "+st.Detail)
	return nil
}

// workRefresh reads one customer's inventory: a refresh operation when
// the job names one, else the periodic read.
func (s *Service) workRefresh(ctx context.Context, job *river.Job[RefreshArgs]) error {
	if job.Args.Operation != "" {
		err := s.runRefresh(ctx, job.Args.Customer, job.Args.Operation, job.Attempt >= job.MaxAttempts)
		if err != nil && ctx.Err() == nil && !retryable(err) {
			return river.JobCancel(err)
		}
		return err
	}
	n, err := s.Refresh(ctx, job.Args.Customer)
	if err != nil {
		if e, ok := AsError(err); ok && (e.Code == CodePermissionMissing || e.Code == CodeUnsupportedCloud) {
			s.log.InfoContext(ctx, "voice: inventory not readable", "customer", job.Args.Customer, "err", err)
			return nil
		}
		return err
	}
	s.log.InfoContext(ctx, "voice: inventory refreshed", "customer", job.Args.Customer, "numbers", n)
	return nil
}

// ---- store

// openOperationOn returns customer's queued or running operation on
// userID (a user's object ID or a key such as refreshKey).
func (s *Store) openOperationOn(ctx context.Context, customer, userID string) (*Operation, error) {
	var id string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id FROM tenantgate_voice_operations WHERE customer = ? AND user_id = ? AND state IN ('queued', 'running')`),
		customer, userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &Error{Code: CodeNotFound, Detail: "no operation in flight"}
	}
	if err != nil {
		return nil, err
	}
	op, _, err := s.operation(ctx, customer, id)
	return op, err
}
