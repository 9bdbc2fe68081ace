package voice

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/usersync"
)

// KindLifecycle is the job kind of a customer's joiners and leavers after
// a user sync.
const KindLifecycle = "tenantgate.voice.lifecycle"

// LifecycleArgs is customer's after-sync job: its voice summary, then its
// joiners and leavers, after its user sync Sync (the fleet's run ID). Unique by its arguments in every state
// River keeps, so two replicas, or a sync job's retry, never handle one
// sync twice.
type LifecycleArgs struct {
	Customer string `json:"customer" river:"unique"`
	Sync     string `json:"sync" river:"unique"`
}

// Kind is the job kind.
func (LifecycleArgs) Kind() string { return KindLifecycle }

// InsertOpts makes the job unique per customer and sync.
func (LifecycleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

var _ fleet.PluginAfterSync = (*Service)(nil)

// AfterSync queues the customer's after-sync job (a LifecycleArgs job
// keyed by the sync): the voice summary of the fleet view (Summarize),
// then the joiners and leavers of its profiles. The fleet calls it after
// each successful user sync.
func (s *Service) AfterSync(ctx context.Context, customer string, run fleet.SyncRun) error {
	_, err := s.insert(ctx, LifecycleArgs{Customer: customer, Sync: run.ID}, nil)
	return err
}

// LifecycleReport is what one run of joiners and leavers did (or, for a
// profile in dry-run mode, would have done), per profile.
type LifecycleReport struct {
	Profiles []ProfileLifecycle `json:"profiles"`
}

// ProfileLifecycle is one profile's part of a LifecycleReport.
type ProfileLifecycle struct {
	Profile string `json:"profile"`
	DryRun  bool   `json:"dryRun"`
	// Plan is the joiners' plan and Operation its apply ("" in dry-run
	// mode or without joiners); Joiners counts the users it provisions.
	Plan      string `json:"plan,omitempty"`
	Operation string `json:"operation,omitempty"`
	Joiners   int    `json:"joiners"`
	// Leavers are the users released (or that would be): disabled or
	// deleted users holding numbers of the profile's ranges.
	Leavers []string `json:"leavers"`
	// Skipped says why joiners were not handled this time.
	Skipped string `json:"skipped,omitempty"`
}

func (s *Service) workLifecycle(ctx context.Context, job *river.Job[LifecycleArgs]) error {
	if job.Attempt == 1 {
		// Once per sync: a retry is for the joiners and leavers.
		if _, err := s.Summarize(ctx, job.Args.Customer); err != nil && ctx.Err() == nil {
			s.log.InfoContext(ctx, "voice: summary not made", "customer", job.Args.Customer, "err", err)
		}
	}
	_, err := s.Lifecycle(ctx, job.Args.Customer, job.Args.Sync)
	if err != nil && ctx.Err() == nil && !retryable(err) {
		if e, ok := AsError(err); ok && (e.Code == CodePermissionMissing || e.Code == CodeUnsupportedCloud) {
			s.log.InfoContext(ctx, "voice: joiners and leavers not handled", "customer", job.Args.Customer, "err", err)
			return nil
		}
		return river.JobCancel(err)
	}
	return err
}

// Lifecycle handles customer's joiners and leavers after its user sync
// sync, for each profile with joiners or leavers on:
//
//   - joiners: the users the profile's filter matches that have no number
//     (LineUri -eq $null) are planned and the plan applied, through the
//     same plan and apply as a person's, audited, with a voice.joiners
//     event; the plan's ID is derived from the customer, the sync and the
//     profile, so a retried run finds its plan applied and applies
//     nothing twice; while an apply of the customer is running, joiners
//     wait for the next sync;
//   - leavers: the users holding numbers of the profile's ranges (the
//     stored inventory) who are disabled are released (numbers to
//     quarantine, direct voice policies removed), and the numbers of
//     those deleted are unassigned once Microsoft confirms them still
//     theirs; a voice.leavers event.
//
// A profile in dry-run mode only plans and reports (audit and event,
// DryRun set); nothing changes at Microsoft.
func (s *Service) Lifecycle(ctx context.Context, customer, sync string) (LifecycleReport, error) {
	rep := LifecycleReport{Profiles: []ProfileLifecycle{}}
	ps, err := s.cfg.Store.profiles(ctx, customer)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, p := range ps {
		if !p.Joiners && !p.Leavers {
			continue
		}
		pl := ProfileLifecycle{Profile: p.Name, DryRun: p.DryRun, Leavers: []string{}}
		actor := "tenantgate (profile " + p.Name + ", after sync " + sync + ")"
		if p.Joiners {
			if err := s.joiners(ctx, customer, sync, p, actor, &pl); err != nil {
				errs = append(errs, fmt.Errorf("profile %s joiners: %w", p.Name, err))
			}
		}
		if p.Leavers {
			if err := s.leavers(ctx, customer, p, actor, &pl); err != nil {
				errs = append(errs, fmt.Errorf("profile %s leavers: %w", p.Name, err))
			}
		}
		rep.Profiles = append(rep.Profiles, pl)
	}
	return rep, errors.Join(errs...)
}

// lifecyclePlanID is the joiners' plan of customer's profile after sync.
func lifecyclePlanID(customer, sync, profile string) string {
	h := sha256.Sum256([]byte(customer + "\x00" + sync + "\x00" + profile))
	return "vpl_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:10]))
}

func (s *Service) joiners(ctx context.Context, customer, sync string, p Profile, actor string, pl *ProfileLifecycle) error {
	id := lifecyclePlanID(customer, sync, p.Name)
	pl.Plan = id
	if prev, _, err := s.cfg.Store.plan(ctx, customer, id, s.now()); err == nil {
		// A retried run: this sync's joiners were planned already.
		pl.Joiners, pl.Operation = prev.Changes, prev.Operation
		if prev.Operation != "" || p.DryRun {
			return nil
		}
	}
	if !p.DryRun {
		busy, err := s.cfg.Store.applyInFlight(ctx, customer)
		if err != nil {
			return err
		}
		if busy {
			// Its users may be this sync's joiners too: planning them
			// again could give one user two numbers.
			pl.Skipped = "an apply of the customer is running; the next sync provisions who is left"
			return nil
		}
	}
	target := p.setRequest()
	src := planSource{Kind: "profile", Profile: p.Name, Filter: combineFilters(p.Filter, "LineUri -eq $null"), Target: &target}
	plan, err := s.makePlan(ctx, customer, id, src, actor)
	if err != nil {
		return err
	}
	pl.Joiners = plan.Changes
	if plan.Changes == 0 {
		return nil
	}
	detail := fmt.Sprintf("joiners of profile %s after sync %s: plan %s, %d users to provision, %d errors", p.Name, sync, id, plan.Changes, plan.Errors)
	if p.DryRun {
		s.auditCustomer(ctx, customer, actor, "voice.joiners", "dry run, nothing changed: "+detail)
		s.emitLifecycle(ctx, events.VoiceJoiners, customer, p, plan.Changes, "", sync)
		return nil
	}
	op, err := s.ApplyPlan(ctx, customer, id, actor)
	if err != nil {
		return err
	}
	pl.Operation = op.ID
	s.auditCustomer(ctx, customer, actor, "voice.joiners", detail+": apply "+op.ID)
	s.emitLifecycle(ctx, events.VoiceJoiners, customer, p, plan.Changes, op.ID, sync)
	return nil
}

// holder is a user holding numbers of a range, per the inventory.
type holder struct {
	id, upn string
	numbers []numberRow
}

// name is the holder's UPN as voice learnt it, else its object ID.
func (h *holder) name() string {
	if h.upn != "" {
		return h.upn
	}
	return h.id
}

func (s *Service) leavers(ctx context.Context, customer string, p Profile, actor string, pl *ProfileLifecycle) error {
	ranges, err := s.cfg.Store.ranges(ctx, customer)
	if err != nil {
		return err
	}
	var mine []Range
	for _, r := range ranges {
		if (p.Range != "" && strings.EqualFold(r.Name, p.Range)) || (p.Range == "" && p.NumberType != "" && r.Type == p.NumberType) {
			mine = append(mine, r)
		}
	}
	holders := map[string]*holder{}
	for _, r := range mine {
		if err := s.cfg.Store.holders(ctx, customer, r, holders); err != nil {
			return err
		}
	}
	if len(holders) == 0 {
		return nil
	}
	// Who of them is still a voice user, and enabled: one filtered read.
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return err
	}
	users, err := s.usersSource(ctx, g)
	if err != nil {
		return err
	}
	q, err := usersync.CompileFilter("EnterpriseVoiceEnabled -eq $true")
	if err != nil {
		return err
	}
	enabled := map[string]bool{}
	err = users.Read(ctx, customer, q, func(pg usersync.Page) error {
		for i := range pg.Users {
			if u := &pg.Users[i]; q.Match == nil || q.Match(u) {
				enabled[u.ID] = u.AccountEnabled
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var disabled, deleted []*holder
	for _, h := range holders {
		switch on, found := enabled[h.id]; {
		case !found:
			deleted = append(deleted, h)
		case !on:
			disabled = append(disabled, h)
		}
	}
	var errs []error
	for _, h := range disabled {
		name := h.name()
		if !p.DryRun {
			if _, err := s.Release(ctx, customer, h.id, ReleaseRequest{}, actor); err != nil {
				errs = append(errs, fmt.Errorf("release %s: %w", name, err))
				continue
			}
		}
		pl.Leavers = append(pl.Leavers, name)
	}
	for _, h := range deleted {
		name := h.name()
		if !p.DryRun {
			ok, err := s.releaseHeld(ctx, g, customer, h, mine, actor)
			if err != nil {
				errs = append(errs, fmt.Errorf("release the numbers of deleted user %s: %w", name, err))
				continue
			}
			if !ok {
				continue // the inventory was stale: nothing of theirs left
			}
		}
		pl.Leavers = append(pl.Leavers, name)
	}
	if len(pl.Leavers) > 0 {
		detail := fmt.Sprintf("leavers of profile %s (disabled or deleted, holding its numbers): %s", p.Name, strings.Join(pl.Leavers, ", "))
		if p.DryRun {
			detail = "dry run, nothing changed: " + detail
		}
		s.auditCustomer(ctx, customer, actor, "voice.leavers", detail)
		s.emitLifecycle(ctx, events.VoiceLeavers, customer, p, len(pl.Leavers), "", "")
	}
	return errors.Join(errs...)
}

// releaseHeld unassigns the numbers a deleted user still holds at
// Microsoft (each read again first: the inventory may be stale) as a
// release operation; false when none is theirs any more.
func (s *Service) releaseHeld(ctx context.Context, g *graph, customer string, h *holder, ranges []Range, actor string) (bool, error) {
	name := h.name()
	now := s.now()
	op := &Operation{ID: newOperationID(), Customer: customer, Kind: KindRelease, State: StateQueued, Actor: actor, Created: now, Updated: now}
	p := &plan{UserID: h.id, UPN: name}
	item := Item{User: name, UserID: h.id, State: StateQueued}
	for _, n := range h.numbers {
		gn, ok, err := g.number(ctx, n.Number)
		if err != nil {
			return false, err
		}
		if !ok || !strings.EqualFold(gn.AssignmentTargetID, h.id) {
			continue
		}
		rl := released{Number: n.Number, Type: gn.NumberType}
		if r, ok := rangeOf(ranges, n.Number); ok {
			rl.QuarantineDays = r.QuarantineDays
		}
		p.Release = append(p.Release, rl)
		item.Steps = append(item.Steps, Step{Step: "number", Status: StepPending, Number: n.Number, Detail: "unassign (the user was deleted)"})
	}
	if len(p.Release) == 0 {
		return false, nil
	}
	op.Items = []Item{item}
	_, err := s.start(ctx, op, p)
	return err == nil, err
}

func (s *Service) emitLifecycle(ctx context.Context, t events.Type, customer string, p Profile, users int, op, sync string) {
	if s.cfg.Events == nil {
		return
	}
	e := events.Event{Type: t, Data: events.Data{Customer: customer, Profile: p.Name, Users: &users, Operation: op, DryRun: p.DryRun}}
	if sync != "" {
		e.Key = string(t) + "/" + p.Name + "/" + sync
	}
	if err := s.cfg.Events.Emit(ctx, e); err != nil {
		s.log.WarnContext(ctx, "voice: event not emitted", "customer", customer, "type", string(t), "err", err)
	}
}

// ---- store

// holders adds to hs the users holding numbers of r in customer's
// stored inventory.
func (s *Store) holders(ctx context.Context, customer string, r Range, hs map[string]*holder) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT number, number_type, target_id, target_upn FROM tenantgate_voice_numbers
		WHERE customer = ? AND assignment_status <> 'unassigned' AND target_id <> '' AND length(number) = ? AND number >= ? AND number <= ?
		ORDER BY number`), customer, len(r.From), r.From, r.To)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n numberRow
		if err := rows.Scan(&n.Number, &n.Type, &n.TargetID, &n.TargetUPN); err != nil {
			return err
		}
		h := hs[n.TargetID]
		if h == nil {
			h = &holder{id: n.TargetID}
			hs[n.TargetID] = h
		}
		if n.TargetUPN != "" {
			h.upn = n.TargetUPN
		}
		h.numbers = append(h.numbers, n)
	}
	return rows.Err()
}

// applyInFlight reports whether customer has an apply queued or running.
func (s *Store) applyInFlight(ctx context.Context, customer string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM tenantgate_voice_operations WHERE customer = ? AND kind = ? AND state IN ('queued', 'running')`),
		customer, string(KindApply)).Scan(&n)
	return n > 0, err
}
