package voice

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
)

// KindApply is the operation kind of a plan's apply: one operation, an
// item per user.
const KindApply OperationKind = "apply"

// KindApplyJob is the job kind of one lane of an apply.
const KindApplyJob = "tenantgate.voice.apply"

// MaxPolicyPairs is the most user-policy pairs voice sends in one
// userAssignments/assign or unassign call. Microsoft documents no
// maximum; 20 is what Graph's other batch-like actions take (and the
// fake's assumption, m365test.MaxPolicyAssignments).
const MaxPolicyPairs = 20

// ApplyArgs runs one lane of an apply: the lane's users, a few at a time.
// An apply has at most Config.ApplyLanes lanes, so one customer's big
// plan holds only that many of the fleet's job slots.
type ApplyArgs struct {
	Customer  string `json:"customer" river:"unique"`
	Operation string `json:"operation" river:"unique"`
	Lane      int    `json:"lane" river:"unique"`
}

// Kind is the job kind.
func (ApplyArgs) Kind() string { return KindApplyJob }

// InsertOpts makes the job unique while in flight.
func (ApplyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}}
}

// applyItem is one user of an apply as stored.
type applyItem struct {
	Item  Item   `json:"item"`
	Work  *plan  `json:"work"`
	Range string `json:"range,omitempty"`
	// Tries counts the numbers tried for a "next" number taken meanwhile.
	Tries int `json:"tries,omitempty"`

	idx     int
	resumed bool
}

// ApplyPlan applies customer's plan id as one operation (KindApply, an
// item per user with a change): licenses, a number, policies for each,
// run by River jobs concurrently within the fleet's Graph budget. It
// answers at once with the queued operation. Applying a plan again
// returns its operation and changes nothing (a plan is applied once: a
// row update decides, across replicas). A plan read longer ago than
// Config.PlanFreshness is read again first, so its items are what
// Microsoft holds now. This is the entry point joiners use too.
func (s *Service) ApplyPlan(ctx context.Context, customer, id, actor string) (*Operation, error) {
	if s.jobs.Load() == nil {
		return nil, errNoInserter
	}
	p, src, err := s.cfg.Store.plan(ctx, customer, id, s.now())
	if err != nil {
		return nil, err
	}
	if p.Operation != "" {
		return s.Operation(ctx, customer, p.Operation)
	}
	now := s.now()
	op := &Operation{ID: newOperationID(), Customer: customer, Kind: KindApply, State: StateQueued, Actor: actor, Created: now, Updated: now}
	marker := &plan{UserID: "plan:" + id, UPN: "plan " + id}
	if err := s.cfg.Store.insertOperation(ctx, op, marker.UserID, marker); err != nil {
		if e, ok := AsError(err); ok && e.Code == CodeOperationInProgress {
			if p, _, err := s.cfg.Store.plan(ctx, customer, id, s.now()); err == nil && p.Operation != "" {
				return s.Operation(ctx, customer, p.Operation)
			}
		}
		return nil, err
	}
	won, err := s.cfg.Store.claimPlan(ctx, id, op.ID)
	if err != nil || !won {
		_ = s.cfg.Store.deleteOperation(context.WithoutCancel(ctx), op.ID)
		if err != nil {
			return nil, err
		}
		p, _, err := s.cfg.Store.plan(ctx, customer, id, s.now())
		if err != nil {
			return nil, err
		}
		return s.Operation(ctx, customer, p.Operation)
	}
	failOp := func(cause error) (*Operation, error) {
		t := s.now()
		_ = s.cfg.Store.finishApply(context.WithoutCancel(ctx), op.ID, StateFailed, t)
		s.auditCustomer(ctx, customer, actor, "voice.apply", "apply "+op.ID+" of plan "+id+" failed before any change: "+graphDetail(cause))
		return nil, cause
	}
	if now.Sub(p.Read) > s.cfg.PlanFreshness {
		// Stale: read Microsoft again before changing anything.
		if _, err := s.makePlan(ctx, customer, id, src, p.Actor); err != nil {
			return failOp(err)
		}
	}
	lanes := s.cfg.ApplyLanes
	var batch []applyItem
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.cfg.Store.insertApplyItems(ctx, op.ID, customer, batch, lanes, s.now())
		batch = batch[:0]
		return err
	}
	err = s.cfg.Store.planWork(ctx, id, func(idx int, si storedItem) error {
		if si.Work == nil {
			return nil
		}
		it := Item{User: si.Item.User, UserID: si.Item.UserID, State: StateQueued, Steps: si.Item.Steps}
		for i := range it.Steps {
			if it.Steps[i].Status == StepPending && it.Steps[i].Step == "number" && si.Range != "" {
				it.Steps[i].Detail = "assign the lowest free number of range " + si.Range
			}
		}
		batch = append(batch, applyItem{Item: it, Work: si.Work, Range: si.Range, idx: n})
		n++
		if len(batch) >= 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return failOp(err)
	}
	if n == 0 {
		_ = s.cfg.Store.finishApply(ctx, op.ID, StateSucceeded, s.now())
		s.auditCustomer(ctx, customer, actor, "voice.apply", "apply "+op.ID+" of plan "+id+": nothing to change")
		return s.Operation(ctx, customer, op.ID)
	}
	for lane := range min(lanes, n) {
		if _, err := s.insert(ctx, ApplyArgs{Customer: customer, Operation: op.ID, Lane: lane}, nil); err != nil {
			return failOp(fmt.Errorf("voice: queue apply %s: %w", op.ID, err))
		}
	}
	s.auditCustomer(ctx, customer, actor, "voice.apply", fmt.Sprintf("apply %s of plan %s queued: %d users", op.ID, id, n))
	return s.Operation(ctx, customer, op.ID)
}

func (s *Service) workApply(ctx context.Context, job *river.Job[ApplyArgs]) error {
	last := job.Attempt >= min(job.MaxAttempts, s.cfg.MaxAttempts)
	err := s.runLane(ctx, job.Args.Customer, job.Args.Operation, job.Args.Lane, job.Attempt > 1, last)
	if err != nil && ctx.Err() == nil && !retryable(err) {
		return river.JobCancel(err)
	}
	return err
}

// runLane works the lane's users that are not finished: a resumed user
// goes on from its last step (a submitted number operation is followed,
// not submitted again). On a retry every user not finished is resumed,
// the queued ones too: a replica that died may have sent a user's first
// step before it saved anything (the voicescale test caught a license
// assigned twice that way).
func (s *Service) runLane(ctx context.Context, customer, opID string, lane int, retry, last bool) error {
	op, _, err := s.cfg.Store.operation(ctx, customer, opID)
	if err != nil {
		if e, ok := AsError(err); ok && e.Code == CodeNotFound {
			return nil
		}
		return err
	}
	items, err := s.cfg.Store.laneItems(ctx, opID, lane)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].resumed = items[i].resumed || retry
	}
	if op.State == StateCanceled {
		return s.cancelItems(ctx, op, items)
	}
	if op.State.Done() {
		return nil
	}
	if err := s.cfg.Store.setApplyRunning(ctx, opID, s.now()); err != nil {
		return err
	}
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		if retryable(err) && !last {
			return err
		}
		for i := range items {
			s.failItem(ctx, op, &items[i], -1, err)
		}
		return s.maybeFinishApply(ctx, op)
	}
	// Cancellation is read twice a second, not per step.
	var canceled atomic.Bool
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-watchCtx.Done():
				return
			case <-t.C:
				if st, err := s.cfg.Store.operationState(watchCtx, opID); err == nil && st == StateCanceled {
					canceled.Store(true)
					return
				}
			}
		}
	}()
	la := &laneRun{s: s, g: g, op: op, canceled: &canceled, last: last, policies: make(chan *applyItem, 64)}
	var collector sync.WaitGroup
	collector.Add(1)
	go func() { defer collector.Done(); la.collectPolicies(ctx) }()
	sem := make(chan struct{}, s.cfg.ApplyConcurrency)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(ai *applyItem) {
			defer func() { <-sem; wg.Done() }()
			if err := la.user(ctx, ai); err != nil {
				firstErr.CompareAndSwap(nil, &err)
			}
		}(&items[i])
	}
	wg.Wait()
	close(la.policies)
	collector.Wait()
	if ctx.Err() != nil {
		return ctx.Err() // shutdown: the next attempt resumes
	}
	if e := firstErr.Load(); e != nil {
		return *e // transient: River retries the lane, done users are skipped
	}
	if canceled.Load() {
		rest, err := s.cfg.Store.laneItems(ctx, opID, lane)
		if err != nil {
			return err
		}
		return s.cancelItems(ctx, op, rest)
	}
	return s.maybeFinishApply(ctx, op)
}

// laneRun is one lane's run.
type laneRun struct {
	s        *Service
	g        *graph
	op       *Operation
	canceled *atomic.Bool
	last     bool
	policies chan *applyItem
}

func (s *Service) saveItem(ctx context.Context, opID string, ai *applyItem) error {
	return s.cfg.Store.saveApplyItem(ctx, opID, ai, s.now())
}

// user runs one user's license and number steps, then hands it to the
// policy collector. A transient failure with attempts left returns the
// error (the lane is retried); any other failure ends the user's item.
func (la *laneRun) user(ctx context.Context, ai *applyItem) error {
	s, p := la.s, ai.Work
	if p.Locations == nil {
		p.Locations, p.Submitted = map[int]string{}, map[int]time.Time{}
	}
	ai.Item.State = StateRunning
	for i := range ai.Item.Steps {
		st := &ai.Item.Steps[i]
		if st.Status != StepPending && st.Status != StepRunning {
			continue
		}
		if strings.HasPrefix(st.Step, "policy:") {
			continue
		}
		if la.canceled.Load() {
			return nil // cancelItems marks it
		}
		var err error
		switch st.Step {
		case "license":
			err = la.license(ctx, ai, st)
		case "number":
			err = la.number(ctx, ai, i)
			s.checkRangeLevelsSoon(ctx, la.op.Customer)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if retryable(err) && !la.last {
				st.Detail = "will retry: " + graphDetail(err)
				_ = s.saveItem(ctx, la.op.ID, ai)
				return err
			}
			s.failItem(ctx, la.op, ai, i, err)
			return nil
		}
		st.Status = StepSucceeded
		if err := s.saveItem(ctx, la.op.ID, ai); err != nil {
			return err
		}
	}
	for _, st := range ai.Item.Steps {
		if strings.HasPrefix(st.Step, "policy:") && st.Status == StepPending {
			la.policies <- ai
			return nil
		}
	}
	s.succeedItem(ctx, la.op, ai)
	return nil
}

func (la *laneRun) license(ctx context.Context, ai *applyItem, st *Step) error {
	p := ai.Work
	if ai.resumed {
		// A replica may have sent it before it stopped: look first, so a
		// license is never assigned twice.
		if u, ok, err := la.g.user(ctx, p.UserID); err == nil && ok {
			have := true
			for _, k := range p.AddSKUs {
				found := false
				for _, l := range u.AssignedLicenses {
					found = found || strings.EqualFold(l.SkuID, k.ID)
				}
				have = have && found
			}
			if have {
				st.Detail = "found assigned on resume: " + skuNames(p.AddSKUs)
				return nil
			}
		}
	}
	if err := la.g.assignLicense(ctx, p.UserID, refIDs(p.AddSKUs), nil); err != nil {
		return err
	}
	st.Detail = "added " + skuNames(p.AddSKUs)
	return nil
}

// number claims the user's number (the plan's tentative one, or the
// range's next free one when it is gone) and assigns it.
func (la *laneRun) number(ctx context.Context, ai *applyItem, i int) error {
	s, p, st := la.s, ai.Work, &ai.Item.Steps[i]
	holder := la.op.ID + ":" + p.UserID
	now := s.now()
	if p.Locations[i] == "" {
		if ai.resumed {
			if gn, ok, err := la.g.number(ctx, p.Number); err == nil && ok && gn.AssignmentTargetID == p.UserID {
				st.Detail = "found assigned on resume"
				return la.assigned(ctx, ai, gn)
			}
		}
		won, err := s.cfg.Store.hold(ctx, la.op.Customer, p.Number, holdReserved, holder, now.Add(s.cfg.ReservationTTL), now)
		if err != nil {
			return err
		}
		if !won {
			if err := la.another(ctx, ai, st, "was taken by another operation"); err != nil {
				return err
			}
		}
		st.Number = p.Number
	}
	for {
		body := map[string]any{"telephoneNumber": p.Number, "assignmentTargetId": p.UserID, "numberType": p.NumberType,
			"assignmentCategory": p.Category, "locationId": optional(p.LocationID)}
		err := s.numberStepOf(ctx, la.g, p, st, i, "assignNumber", body, func() error { return s.saveItem(ctx, la.op.ID, ai) }, nil)
		if e, ok := AsError(err); ok && e.Code == CodeNumberTaken {
			gn, found, gerr := la.g.number(ctx, p.Number)
			if gerr == nil && found && gn.AssignmentTargetID == p.UserID {
				return la.assigned(ctx, ai, gn)
			}
			if gerr == nil && found {
				_ = s.cfg.Store.putNumbers(ctx, la.op.Customer, []numberRow{rowOf(gn)}, s.now())
			}
			_ = s.cfg.Store.unhold(ctx, la.op.Customer, p.Number, holder)
			if aerr := la.another(ctx, ai, st, "was taken at Microsoft meanwhile"); aerr != nil {
				return aerr
			}
			continue
		}
		if err != nil {
			return err
		}
		row := numberRow{Number: p.Number, Type: p.NumberType, Activation: "activated", Status: "userAssigned", TargetID: p.UserID,
			TargetUPN: p.UPN, Category: p.Category, LocationID: p.LocationID, Capabilities: []string{"userAssignment"}}
		if err := s.cfg.Store.putNumbers(ctx, la.op.Customer, []numberRow{row}, s.now()); err != nil {
			return err
		}
		return s.cfg.Store.unhold(ctx, la.op.Customer, p.Number, holder)
	}
}

func (la *laneRun) assigned(ctx context.Context, ai *applyItem, gn graphNumber) error {
	row := rowOf(gn)
	row.TargetUPN = ai.Work.UPN
	if err := la.s.cfg.Store.putNumbers(ctx, la.op.Customer, []numberRow{row}, la.s.now()); err != nil {
		return err
	}
	return la.s.cfg.Store.unhold(ctx, la.op.Customer, ai.Work.Number, la.op.ID+":"+ai.Work.UserID)
}

// another replaces a tentative number that is gone by the range's next
// free one (a plan naming the number itself fails instead).
func (la *laneRun) another(ctx context.Context, ai *applyItem, st *Step, why string) error {
	s, p := la.s, ai.Work
	old := p.Number
	if ai.Range == "" {
		return &Error{Code: CodeNumberTaken, Field: "number", Detail: old + " " + why + "; plan again"}
	}
	ai.Tries++
	if ai.Tries > 20 {
		return &Error{Code: CodeRangeExhausted, Detail: "range " + ai.Range + ": 20 numbers in a row were taken meanwhile; refresh the inventory and plan again"}
	}
	ranges, err := s.cfg.Store.ranges(ctx, la.op.Customer)
	if err != nil {
		return err
	}
	r, ok := findRange(ranges, ai.Range)
	if !ok {
		return &Error{Code: CodeUnknownRange, Detail: "range " + ai.Range + " was removed"}
	}
	now := s.now()
	n, ok, err := s.cfg.Store.reserveNext(ctx, la.op.Customer, r, la.op.ID+":"+p.UserID, now.Add(s.cfg.ReservationTTL), now)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Code: CodeRangeExhausted, Detail: "range " + r.Name + " has no free number left (" + old + " " + why + ")"}
	}
	p.Number, st.Number = n, n
	st.Detail = old + " " + why + "; took " + n
	return nil
}

// collectPolicies assigns the policies of the users handed to it in as
// few calls as MaxPolicyPairs allows: it sends a call when the next
// user's pairs would not fit, when no user came for 200 ms, and at the
// end.
func (la *laneRun) collectPolicies(ctx context.Context) {
	var pending []*applyItem
	pairs := 0
	flush := func() {
		if len(pending) > 0 {
			la.assignPolicies(ctx, pending)
		}
		pending, pairs = nil, 0
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case ai, ok := <-la.policies:
			if !ok {
				flush()
				return
			}
			n := max(len(ai.Work.Assign), len(ai.Work.Unassign))
			if pairs+n > MaxPolicyPairs {
				flush()
			}
			pending = append(pending, ai)
			pairs += n
			timer.Reset(200 * time.Millisecond)
		case <-timer.C:
			flush()
		}
	}
}

func (la *laneRun) assignPolicies(ctx context.Context, items []*applyItem) {
	s := la.s
	var assign, unassign []policyPair
	for _, ai := range items {
		for _, r := range ai.Work.Assign {
			assign = append(assign, policyPair{UserID: ai.Work.UserID, PolicyType: r.Type, PolicyID: r.ID})
		}
		for _, r := range ai.Work.Unassign {
			unassign = append(unassign, policyPair{UserID: ai.Work.UserID, PolicyType: r.Type})
		}
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if la.canceled.Load() || ctx.Err() != nil {
			return
		}
		if err = la.g.assignPolicies(ctx, "assign", assign); err == nil {
			err = la.g.assignPolicies(ctx, "unassign", unassign)
		}
		if err == nil || !retryable(err) {
			break
		}
		if sleep(ctx, time.Duration(attempt+1)*time.Second) != nil {
			return
		}
	}
	for _, ai := range items {
		if err != nil {
			i := -1
			for j, st := range ai.Item.Steps {
				if strings.HasPrefix(st.Step, "policy:") && st.Status == StepPending && i < 0 {
					i = j
				}
			}
			s.failItem(ctx, la.op, ai, i, err)
			continue
		}
		for j := range ai.Item.Steps {
			if st := &ai.Item.Steps[j]; strings.HasPrefix(st.Step, "policy:") && st.Status == StepPending {
				st.Status = StepSucceeded
			}
		}
		s.succeedItem(ctx, la.op, ai)
	}
}

func (s *Service) succeedItem(ctx context.Context, op *Operation, ai *applyItem) {
	ai.Item.State = StateSucceeded
	if err := s.saveItem(ctx, op.ID, ai); err != nil {
		s.log.WarnContext(ctx, "voice: apply item not saved", "operation", op.ID, "user", ai.Work.UPN, "err", err)
		return
	}
	s.itemEnded(ctx, op, ai, "")
}

// failItem ends the user's item: step i failed (-1: before any step),
// the steps after it skipped; partial when a step had succeeded.
func (s *Service) failItem(ctx context.Context, op *Operation, ai *applyItem, i int, cause error) {
	it := &ai.Item
	if i >= 0 {
		it.Steps[i].Status, it.Steps[i].Detail = StepFailed, graphDetail(cause)
	}
	done := false
	for j := range it.Steps {
		switch it.Steps[j].Status {
		case StepSucceeded:
			done = true
		case StepPending, StepRunning:
			if j != i {
				it.Steps[j].Status = StepSkipped
			}
		}
	}
	it.State = StateFailed
	if done {
		it.State = StatePartial
	}
	if ai.Work != nil && ai.Work.Number != "" {
		_ = s.cfg.Store.unhold(context.WithoutCancel(ctx), op.Customer, ai.Work.Number, op.ID+":"+ai.Work.UserID)
	}
	if err := s.saveItem(context.WithoutCancel(ctx), op.ID, ai); err != nil {
		s.log.WarnContext(ctx, "voice: apply item not saved", "operation", op.ID, "err", err)
	}
	s.itemEnded(ctx, op, ai, graphDetail(cause))
}

// itemEnded audits the user's item and emits its event.
func (s *Service) itemEnded(ctx context.Context, op *Operation, ai *applyItem, detail string) {
	var b strings.Builder
	b.WriteString("apply " + op.ID + " " + ai.Item.User + ": " + string(ai.Item.State))
	for _, st := range ai.Item.Steps {
		b.WriteString("; " + st.Step + " " + string(st.Status))
		if st.Number != "" {
			b.WriteString(" " + st.Number)
		}
	}
	outcome := audit.Succeeded
	if ai.Item.State != StateSucceeded {
		outcome = audit.Failed
	}
	s.audit(ctx, op, op.Actor, "voice.step", outcome, b.String())
	if s.cfg.Events == nil {
		return
	}
	e := events.Event{Type: events.VoiceFailed, Key: "voice/" + op.ID + "/" + ai.Item.UserID, Data: events.Data{Customer: op.Customer, Operation: op.ID,
		User: ai.Item.User, Error: detail, State: string(ai.Item.State)}}
	if ai.Item.State == StateSucceeded {
		e.Type = events.VoiceAssigned
		if ai.Work != nil {
			e.Data.Number = ai.Work.Number
		}
	}
	if err := s.cfg.Events.Emit(ctx, e); err != nil {
		s.log.WarnContext(ctx, "voice: event not emitted", "customer", op.Customer, "operation", op.ID, "err", err)
	}
}

// cancelItems marks the items not finished cancelled and drops their
// number holds.
func (s *Service) cancelItems(ctx context.Context, op *Operation, items []applyItem) error {
	for i := range items {
		ai := &items[i]
		ai.Item.State = StateCanceled
		for j := range ai.Item.Steps {
			if st := &ai.Item.Steps[j]; st.Status == StepPending {
				st.Status = StepCanceled
			}
		}
		if ai.Work != nil && ai.Work.Number != "" {
			_ = s.cfg.Store.unhold(ctx, op.Customer, ai.Work.Number, op.ID+":"+ai.Work.UserID)
		}
		if err := s.saveItem(ctx, op.ID, ai); err != nil {
			return err
		}
	}
	return nil
}

// maybeFinishApply ends the apply when no item is left: succeeded, failed
// or partial. One finisher wins (a conditional update), so the event is
// emitted once.
func (s *Service) maybeFinishApply(ctx context.Context, op *Operation) error {
	c, err := s.cfg.Store.applyCounts(ctx, op.ID)
	if err != nil || c.open > 0 {
		return err
	}
	state := StateSucceeded
	switch {
	case c.failed > 0 && c.succeeded == 0:
		state = StateFailed
	case c.failed > 0:
		state = StatePartial
	}
	now := s.now()
	ok, err := s.cfg.Store.finishApplyIfOpen(ctx, op.ID, state, now)
	if err != nil || !ok {
		return err
	}
	op.State, op.Finished = state, &now
	countOperation(ctx, op)
	s.checkRangeLevels(ctx, op.Customer)
	s.audit(ctx, op, op.Actor, "voice.apply", map[bool]audit.Outcome{true: audit.Succeeded, false: audit.Failed}[state == StateSucceeded],
		fmt.Sprintf("apply %s %s: %d succeeded, %d failed", op.ID, state, c.succeeded, c.failed))
	return nil
}
