package voice

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
)

// The job kinds of the package.
const (
	KindOperation  = "tenantgate.voice.operation"
	KindRefresh    = "tenantgate.voice.refresh"
	KindRefreshAll = "tenantgate.voice.refresh_all"
)

var inFlight = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// OperationArgs runs one operation; one job per operation while it is
// in flight. Two operations never race on one user: the operations
// table's unique index admits one queued or running operation per user,
// whichever replica starts it. (A job unique per user alone would refuse
// the next operation's job while the previous job, its operation
// already finished, is still completing.)
type OperationArgs struct {
	Customer  string `json:"customer" river:"unique"`
	UserID    string `json:"userId" river:"unique"`
	Operation string `json:"operation" river:"unique"`
}

// Kind is the job kind.
func (OperationArgs) Kind() string { return KindOperation }

// InsertOpts makes the job unique while in flight.
func (OperationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}}
}

// RefreshArgs reads one customer's inventory from Microsoft: the
// periodic read, or the refresh operation Operation (StartRefresh).
type RefreshArgs struct {
	Customer  string `json:"customer" river:"unique"`
	Operation string `json:"operation,omitempty" river:"unique"`
}

// Kind is the job kind.
func (RefreshArgs) Kind() string { return KindRefresh }

// InsertOpts makes the job unique per customer while in flight.
func (RefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}}
}

// RefreshAllArgs queues a RefreshArgs per customer (periodic).
type RefreshAllArgs struct{}

// Kind is the job kind.
func (RefreshAllArgs) Kind() string { return KindRefreshAll }

// InsertOpts makes the job unique while in flight.
func (RefreshAllArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByState: inFlight}}
}

// PluginName names the package among the fleet's plugins.
func (s *Service) PluginName() string { return "voice" }

// AddWorkers registers the package's workers on w.
func (s *Service) AddWorkers(w *river.Workers) error {
	for _, err := range []error{
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workOperation))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workRefresh))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workRefreshAll))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workApply))),
		river.AddWorkerSafely(w, river.WorkFunc(fence.StopJob(s.log, s.workLifecycle))),
	} {
		if err != nil {
			return fmt.Errorf("voice: %w", err)
		}
	}
	return nil
}

// PeriodicJobs returns the inventory refresh of every customer, every
// RefreshInterval.
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.cfg.RefreshInterval),
		func() (river.JobArgs, *river.InsertOpts) { return RefreshAllArgs{}, nil },
		&river.PeriodicJobOpts{ID: KindRefreshAll})}
}

// UseInserter gives the Service the client to enqueue with (the fleet's
// River client, built after AddWorkers).
func (s *Service) UseInserter(_ context.Context, ins fleet.Inserter) error {
	if ins == nil {
		s.jobs.Store(nil)
		return nil
	}
	s.jobs.Store(&inserterBox{ins})
	return nil
}

// OffboardHooks returns the hook that erases a customer's voice data.
func (s *Service) OffboardHooks() []fleet.OffboardHook {
	return []fleet.OffboardHook{fleet.OffboardFunc(s.Offboard)}
}

// UseBudget puts the fleet's Graph budget under the Service's Graph
// requests (over Config.HTTPClient's transport).
func (s *Service) UseBudget(b *fleet.Budget) {
	if b == nil {
		return
	}
	var base = s.cfg.HTTPClient
	var t = b.Transport(nil)
	if base != nil && base.Transport != nil {
		t = b.Transport(base.Transport)
	}
	_ = s.setTransport(t)
}

func (s *Service) workRefreshAll(ctx context.Context, _ *river.Job[RefreshAllArgs]) error {
	var cs []string
	var err error
	if s.cfg.Customers != nil {
		cs, err = s.cfg.Customers(ctx)
	} else {
		cs, err = s.cfg.Store.customers(ctx)
	}
	if err != nil {
		return err
	}
	for _, c := range cs {
		if _, err := s.insert(ctx, RefreshArgs{Customer: c}, nil); err != nil {
			return err
		}
	}
	return nil
}

// errCanceled stops a run whose operation was cancelled.
var errCanceled = errors.New("voice: operation cancelled")

func (s *Service) workOperation(ctx context.Context, job *river.Job[OperationArgs]) error {
	err := s.Run(ctx, job.Args.Customer, job.Args.Operation, job.Attempt >= min(job.MaxAttempts, s.cfg.MaxAttempts))
	if err != nil && ctx.Err() == nil && !retryable(err) {
		return river.JobCancel(err)
	}
	return err // a stopped process's job is retried: it follows the saved Location
}

// Run carries out an operation from where it stands: finished steps are
// skipped and a number operation already submitted is followed, not
// submitted again. The job calls it; last says no retry follows, so a
// transient failure ends the operation.
func (s *Service) Run(ctx context.Context, customer, id string, last bool) error {
	op, p, err := s.cfg.Store.operation(ctx, customer, id)
	if err != nil {
		if e, ok := AsError(err); ok && e.Code == CodeNotFound {
			return nil // offboarded meanwhile
		}
		return err
	}
	if op.State.Done() {
		return nil
	}
	if p.Locations == nil {
		p.Locations, p.Submitted = map[int]string{}, map[int]time.Time{}
	}
	op.State, op.Items[0].State, op.Updated = StateRunning, StateRunning, s.now()
	if ok, err := s.cfg.Store.saveOperation(ctx, op, p); err != nil || !ok {
		return err
	}
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return s.fail(ctx, op, p, -1, err, last)
	}
	it := &op.Items[0]
	for i := range it.Steps {
		st := &it.Steps[i]
		if st.Status != StepPending && st.Status != StepRunning {
			continue
		}
		err := s.runStep(ctx, g, op, p, i)
		if errors.Is(err, errCanceled) {
			return nil
		}
		if ctx.Err() != nil {
			// Shutdown or timeout, not a failure: the next attempt
			// resumes here (a submitted number operation is followed).
			return ctx.Err()
		}
		if err != nil {
			return s.fail(ctx, op, p, i, err, last)
		}
	}
	return s.finish(ctx, op, p)
}

// save writes the operation; errCanceled when it was cancelled.
func (s *Service) save(ctx context.Context, op *Operation, p *plan) error {
	op.Updated = s.now()
	ok, err := s.cfg.Store.saveOperation(ctx, op, p)
	if err != nil {
		return err
	}
	if !ok {
		return errCanceled
	}
	return nil
}

// runStep carries out step i and records its outcome.
func (s *Service) runStep(ctx context.Context, g *graph, op *Operation, p *plan, i int) error {
	st := &op.Items[0].Steps[i]
	var err error
	switch {
	case st.Step == "license":
		err = g.assignLicense(ctx, p.UserID, refIDs(p.AddSKUs), refIDs(p.RemoveSKUs))
		if err == nil {
			st.Detail = strings.TrimSpace(map[bool]string{true: "added " + skuNames(p.AddSKUs), false: ""}[len(p.AddSKUs) > 0] +
				map[bool]string{true: " removed " + skuNames(p.RemoveSKUs), false: ""}[len(p.RemoveSKUs) > 0])
		}
	case st.Step == "number" && op.Kind == KindSet:
		err = s.numberStep(ctx, g, op, p, i, "assignNumber", map[string]any{
			"telephoneNumber": p.Number, "assignmentTargetId": p.UserID, "numberType": p.NumberType,
			"assignmentCategory": p.Category, "locationId": optional(p.LocationID)})
		if err == nil {
			row := numberRow{Number: p.Number, Type: p.NumberType, Activation: "activated", Status: "userAssigned", TargetID: p.UserID,
				TargetUPN: p.UPN, Category: p.Category, LocationID: p.LocationID}
			if gn, ok, gerr := g.number(ctx, p.Number); gerr == nil && ok {
				row = rowOf(gn)
				row.TargetUPN = p.UPN
			}
			err = s.cfg.Store.putNumbers(ctx, op.Customer, []numberRow{row}, s.now())
			if err == nil && p.Reserved {
				err = s.cfg.Store.unhold(ctx, op.Customer, p.Number, op.ID)
			}
		}
	case st.Step == "number":
		rl := releasedOf(p, st.Number)
		err = s.numberStep(ctx, g, op, p, i, "unassignNumber", map[string]any{"telephoneNumber": rl.Number, "numberType": rl.Type})
		if err == nil {
			now := s.now()
			row := numberRow{Number: rl.Number, Type: rl.Type, Activation: "activated", Status: "unassigned"}
			if gn, ok, gerr := g.number(ctx, rl.Number); gerr == nil && ok {
				row = rowOf(gn)
			}
			err = s.cfg.Store.putNumbers(ctx, op.Customer, []numberRow{row}, now)
			if err == nil && rl.QuarantineDays > 0 {
				until := now.Add(time.Duration(rl.QuarantineDays) * 24 * time.Hour)
				err = s.cfg.Store.setQuarantine(ctx, op.Customer, rl.Number, p.UserID, until, now)
				st.Detail = "unassigned; quarantined until " + until.UTC().Format(time.RFC3339)
			}
		}
	case strings.HasPrefix(st.Step, "policy:"):
		// All policy steps go in one assign and one unassign request.
		var assign, unassign []policyPair
		for _, r := range p.Assign {
			assign = append(assign, policyPair{UserID: p.UserID, PolicyType: r.Type, PolicyID: r.ID})
		}
		for _, r := range p.Unassign {
			unassign = append(unassign, policyPair{UserID: p.UserID, PolicyType: r.Type})
		}
		if err = g.assignPolicies(ctx, "assign", assign); err == nil {
			err = g.assignPolicies(ctx, "unassign", unassign)
		}
		if err == nil {
			for j := range op.Items[0].Steps {
				ps := &op.Items[0].Steps[j]
				if strings.HasPrefix(ps.Step, "policy:") && ps.Status == StepPending {
					ps.Status = StepSucceeded
					s.audit(ctx, op, op.Actor, "voice.step", audit.Succeeded, stepLine(op, p, ps))
				}
			}
			return s.save(ctx, op, p)
		}
	default:
		err = fmt.Errorf("voice: unknown step %q", st.Step)
	}
	if err != nil {
		return err
	}
	st.Status = StepSucceeded
	s.audit(ctx, op, op.Actor, "voice.step", audit.Succeeded, stepLine(op, p, st))
	return s.save(ctx, op, p)
}

func stepLine(op *Operation, p *plan, st *Step) string {
	l := "operation " + op.ID + " " + string(op.Kind) + " " + p.UPN + ": " + st.Step
	if st.Number != "" {
		l += " " + st.Number
	}
	if st.Detail != "" {
		l += " (" + st.Detail + ")"
	}
	return l
}

func releasedOf(p *plan, number string) released {
	for _, r := range p.Release {
		if r.Number == number {
			return r
		}
	}
	return released{Number: number}
}

func refIDs(rs []skuRef) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// numberStep submits a number action (unless step i already did) and
// follows its operation to the end: with backoff, bounded by PollTimeout,
// stopping when the operation is cancelled meanwhile.
func (s *Service) numberStep(ctx context.Context, g *graph, op *Operation, p *plan, i int, action string, body map[string]any) error {
	canceled := func() bool {
		cur, _, err := s.cfg.Store.operation(ctx, op.Customer, op.ID)
		return err == nil && cur.State == StateCanceled
	}
	return s.numberStepOf(ctx, g, p, &op.Items[0].Steps[i], i, action, body, func() error { return s.save(ctx, op, p) }, canceled)
}

// numberStepOf submits a number action for step st (index i of p)
// unless it already did (the Location is kept in p), and follows
// Microsoft's operation to its end, with backoff bounded by PollTimeout.
// save persists the step after the submission; canceled, when not nil, is
// asked between polls whether to stop.
func (s *Service) numberStepOf(ctx context.Context, g *graph, p *plan, st *Step, i int, action string, body map[string]any, save func() error, canceled func() bool) error {
	if body["locationId"] == nil {
		delete(body, "locationId")
	}
	loc := p.Locations[i]
	wait := s.cfg.PollInterval
	start := p.Submitted[i]
	if loc == "" {
		var retry time.Duration
		var err error
		start = s.now()
		loc, retry, err = g.numberAction(ctx, action, body)
		if err != nil {
			return err
		}
		if loc == "" {
			return nil
		}
		if retry > 0 {
			wait = retry
		}
		p.Locations[i], p.Submitted[i] = loc, start
		st.Status, st.Detail = StepRunning, "submitted to Microsoft"
		if err := save(); err != nil {
			return err
		}
	}
	deadline := start.Add(s.cfg.PollTimeout)
	for {
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		s.stats.polls.Add(1)
		o, retry, err := g.operation(ctx, loc)
		if graphStatus(err) == 404 {
			// The operation is gone (kept for a while only): submit again;
			// Microsoft answers at once when the number is already there.
			delete(p.Locations, i)
			return s.numberStepOf(ctx, g, p, st, i, action, body, save, canceled)
		}
		if err != nil {
			return err
		}
		switch o.Status {
		case "succeeded", "skipped":
			s.recordOperation(ctx, action, "succeeded", start)
			delete(p.Locations, i)
			st.Detail = strings.TrimSpace(o.Status + " " + o.detail())
			return nil
		case "failed":
			s.recordOperation(ctx, action, "failed", start)
			delete(p.Locations, i)
			return &Error{Code: numberFailureCode(o.detail()), Detail: "Microsoft's " + action + " operation failed: " + o.detail()}
		}
		if s.now().After(deadline) {
			s.recordOperation(ctx, action, "timeout", start)
			return &Error{Code: "operationTimeout", Detail: "Microsoft's " + action + " operation did not finish within " + s.cfg.PollTimeout.String() + "; it may still complete: refresh the inventory"}
		}
		if canceled != nil && canceled() {
			return errCanceled
		}
		wait = min(wait*2, s.cfg.PollMaxInterval)
		if retry > 0 {
			wait = retry
		}
	}
}

// numberFailureCode maps Microsoft's failure text to a code (its exact
// codes are undocumented; the text is kept in the detail).
func numberFailureCode(detail string) Code {
	d := strings.ToLower(detail)
	switch {
	case strings.Contains(d, "licen"):
		return CodeUserNotLicensed
	case strings.Contains(d, "already assigned"):
		return CodeNumberTaken
	case strings.Contains(d, "not found"):
		return CodeNumberNotInTenant
	}
	return "numberOperationFailed"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fail records the failure of step i (-1: before any step). A transient
// failure with attempts left returns the error for River to retry;
// otherwise the operation ends failed, or partial when a step had
// succeeded.
func (s *Service) fail(ctx context.Context, op *Operation, p *plan, i int, err error, last bool) error {
	it := &op.Items[0]
	if retryable(err) && !last {
		if i >= 0 {
			it.Steps[i].Detail = "will retry: " + graphDetail(err)
		}
		if serr := s.save(ctx, op, p); errors.Is(serr, errCanceled) {
			return nil
		}
		return err
	}
	if i >= 0 {
		it.Steps[i].Status, it.Steps[i].Detail = StepFailed, graphDetail(err)
		s.audit(ctx, op, op.Actor, "voice.step", audit.Failed, stepLine(op, p, &it.Steps[i]))
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
	state := StateFailed
	if done {
		state = StatePartial
	}
	now := s.now()
	op.State, it.State, op.Finished = state, state, &now
	if p.Reserved && p.Number != "" && op.Kind == KindSet {
		_ = s.cfg.Store.unhold(ctx, op.Customer, p.Number, op.ID)
	}
	if serr := s.save(ctx, op, p); serr != nil && !errors.Is(serr, errCanceled) {
		return serr
	}
	s.ended(ctx, op, p, graphDetail(err))
	return nil
}

func (s *Service) finish(ctx context.Context, op *Operation, p *plan) error {
	now := s.now()
	op.State, op.Items[0].State, op.Finished = StateSucceeded, StateSucceeded, &now
	if err := s.save(ctx, op, p); err != nil {
		if errors.Is(err, errCanceled) {
			return nil
		}
		return err
	}
	s.ended(ctx, op, p, "")
	return nil
}

// ended emits the operation's event and counts it.
func (s *Service) ended(ctx context.Context, op *Operation, p *plan, detail string) {
	countOperation(ctx, op)
	s.checkRangeLevels(ctx, op.Customer) // before the operation's event: who waits for it sees the range's
	if s.cfg.Events == nil {
		return
	}
	e := events.Event{Type: events.VoiceFailed, Key: "voice/" + op.ID, Data: events.Data{Customer: op.Customer, Operation: op.ID,
		User: p.UPN, Error: detail, State: string(op.State)}}
	switch {
	case op.State == StateSucceeded && op.Kind == KindSet:
		e.Type, e.Data.Number = events.VoiceAssigned, p.Number
	case op.State == StateSucceeded:
		e.Type = events.VoiceReleased
		if len(p.Release) > 0 {
			e.Data.Number = p.Release[0].Number
		}
	}
	if err := s.cfg.Events.Emit(ctx, e); err != nil {
		s.log.WarnContext(ctx, "voice: event not emitted", "customer", op.Customer, "operation", op.ID, "err", err)
	}
}
