package voice

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SetRequest is the voice a user should have. Fields left empty are left
// as they are.
type SetRequest struct {
	// Number is an E.164 number of the tenant, or "next": the lowest
	// number of Range free in the inventory, not reserved and not
	// quarantined.
	Number string `json:"number,omitempty"`
	// Range names the range of "next"; with an explicit number it is
	// optional (its location and type apply).
	Range string `json:"range,omitempty"`
	// NumberType, when set, must match the number's type.
	NumberType NumberType `json:"numberType,omitempty"`
	// Category is the assignment category: primary (default), private or
	// alternate.
	Category string `json:"category,omitempty"`
	// LocationID is the emergency location sent with the number; empty
	// means the range's.
	LocationID string `json:"locationId,omitempty"`
	// Policies maps a policy type (OnlineVoiceRoutingPolicy,
	// TenantDialPlan, TeamsCallingPolicy, ...) to a policy name; "Global"
	// removes the direct assignment.
	Policies map[string]string `json:"policies,omitempty"`
	// Licenses "auto" assigns the licenses the number type needs when the
	// user lacks them, from SKUs with free units; empty assigns none.
	Licenses string `json:"licenses,omitempty"`
}

// ReleaseRequest says what a release removes besides the numbers and the
// direct voice policy assignments.
type ReleaseRequest struct {
	// RemoveLicenses also removes the voice licenses (Teams Phone and
	// Calling Plans).
	RemoveLicenses bool `json:"removeLicenses,omitempty"`
}

// plan is what an operation's job does, decided before it is queued, and
// where it is (the Location of a number operation being followed).
type plan struct {
	UserID string `json:"userId"`
	UPN    string `json:"upn"`

	Number     string `json:"number,omitempty"`
	NumberType string `json:"numberType,omitempty"`
	Category   string `json:"category,omitempty"`
	LocationID string `json:"locationId,omitempty"`
	// Reserved: the operation holds Number (taken by "next").
	Reserved bool `json:"reserved,omitempty"`

	AddSKUs    []skuRef    `json:"addSkus,omitempty"`
	RemoveSKUs []skuRef    `json:"removeSkus,omitempty"`
	Assign     []policyRef `json:"assign,omitempty"`
	Unassign   []policyRef `json:"unassign,omitempty"`
	Release    []released  `json:"release,omitempty"`

	// Locations maps a step index to the Location of the number operation
	// it submitted, so that a restarted job follows it instead of
	// submitting again; Submitted to when.
	Locations map[int]string    `json:"locations,omitempty"`
	Submitted map[int]time.Time `json:"submitted,omitempty"`
}

type skuRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type policyRef struct {
	Type string `json:"type"`
	Name string `json:"name"`
	ID   string `json:"id,omitempty"`
}

type released struct {
	Number         string `json:"number"`
	Type           string `json:"type"`
	QuarantineDays int    `json:"quarantineDays"`
}

func skuNames(rs []skuRef) string {
	n := make([]string, len(rs))
	for i, r := range rs {
		n[i] = r.Name
	}
	return strings.Join(n, ", ")
}

// checkSet validates the request's form.
func checkSet(r *SetRequest) error {
	switch {
	case r.Number == "" && r.Range != "":
		r.Number = "next"
	case r.Number == "", strings.EqualFold(r.Number, "next"):
		if r.Number != "" {
			r.Number = "next"
		}
		if r.Number == "next" && r.Range == "" {
			return refuse(CodeInvalid, "/range", `"next" needs a range`)
		}
	default:
		n, err := ParseNumber(r.Number)
		if err != nil {
			return refuse(CodeInvalid, "/number", err.Error())
		}
		r.Number = n
	}
	if r.NumberType != "" && !r.NumberType.Valid() {
		return refuse(CodeInvalid, "/numberType", "must be directRouting, callingPlan or operatorConnect")
	}
	switch r.Category {
	case "":
		r.Category = "primary"
	case "primary", "private", "alternate":
	default:
		return refuse(CodeInvalid, "/category", "must be primary, private or alternate")
	}
	switch r.Licenses {
	case "", "auto", "none":
	default:
		return refuse(CodeInvalid, "/licenses", `must be "auto" or absent`)
	}
	if len(r.Policies) > 20 {
		return refuse(CodeInvalid, "/policies", "at most 20 policy types")
	}
	for t, name := range r.Policies {
		if t == "" || len(t) > 64 || strings.Trim(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return refuse(CodeInvalid, "/policies", fmt.Sprintf("%q is not a policy type", clipInput(t)))
		}
		if strings.TrimSpace(name) == "" || len(name) > 256 {
			return refuse(CodeInvalid, "/policies/"+t, "a policy name of at most 256 characters")
		}
	}
	return nil
}

// SetVoice gives user (object ID or UPN) of customer the voice req
// describes. Everything that can be seen to fail is checked first and
// refused (an *Error, 409 or 422) with nothing changed. A user already in
// that state gets a succeeded operation whose steps are "unchanged",
// with no Graph write. Otherwise the operation is queued (a River job)
// and returned; actor is recorded with each step.
func (s *Service) SetVoice(ctx context.Context, customer, user string, req SetRequest, actor string) (*Operation, error) {
	if err := checkSet(&req); err != nil {
		return nil, err
	}
	if s.jobs.Load() == nil {
		return nil, errNoInserter
	}
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return nil, err
	}
	st, err := s.readState(ctx, g, user, req.Number == "next" || (req.Number == "" && req.Licenses == "auto"))
	if err != nil {
		return nil, err
	}
	now := s.now()
	op := &Operation{ID: newOperationID(), Customer: customer, Kind: KindSet, State: StateQueued, Actor: actor, Created: now, Updated: now}
	p := &plan{UserID: st.user.ID, UPN: st.user.UserPrincipalName, Category: req.Category}
	item := Item{User: st.user.UserPrincipalName, UserID: st.user.ID, State: StateQueued}
	ranges, err := s.cfg.Store.ranges(ctx, customer)
	if err != nil {
		return nil, err
	}
	var rg Range
	var haveRange bool
	if req.Range != "" {
		if rg, haveRange = findRange(ranges, req.Range); !haveRange {
			return nil, refuse(CodeUnknownRange, "/range", "the customer has no range "+clipInput(req.Range))
		}
	}
	release := func() {
		if p.Reserved {
			_ = s.cfg.Store.unhold(context.WithoutCancel(ctx), customer, p.Number, op.ID)
		}
	}
	// The number.
	numberStep := Step{Step: "number", Status: StepPending}
	numberType := ""
	switch req.Number {
	case "":
		if cur, ok := st.primary(); ok {
			numberType = cur.NumberType
		}
	case "next":
		for _, n := range st.numbers {
			if rg.Contains(n.TelephoneNumber) {
				numberStep.Status, numberStep.Number, numberStep.Detail = StepUnchanged, n.TelephoneNumber, "the user already has a number of range "+rg.Name
				numberType = n.NumberType
			}
		}
		if numberStep.Status == StepPending {
			n, gn, err := s.claimNext(ctx, g, rg, op.ID, now)
			if err != nil {
				return nil, err
			}
			p.Number, p.Reserved, numberType = n, true, gn.NumberType
		}
	default:
		gn, ok, err := g.number(ctx, req.Number)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, refuse(CodeNumberNotInTenant, "/number", "the tenant holds no number "+req.Number)
		}
		numberType = gn.NumberType
		switch {
		case gn.AssignmentStatus != "unassigned" && gn.AssignmentTargetID == st.user.ID && strings.EqualFold(gn.AssignmentCategory, req.Category):
			numberStep.Status, numberStep.Number, numberStep.Detail = StepUnchanged, gn.TelephoneNumber, "already assigned to the user"
		case gn.AssignmentStatus != "unassigned":
			_ = s.cfg.Store.putNumbers(ctx, customer, []numberRow{rowOf(gn)}, now)
			return nil, refuse(CodeNumberTaken, "/number", req.Number+" is "+gn.AssignmentStatus+" to another target")
		default:
			if kind, _, until, held, err := s.cfg.Store.holdOf(ctx, customer, req.Number, now); err != nil {
				return nil, err
			} else if held {
				return nil, refuse(CodeNumberHeld, "/number", req.Number+" is "+map[string]string{holdReserved: "reserved by another operation", holdQuarantine: "in quarantine"}[kind]+" until "+until.UTC().Format(time.RFC3339))
			}
			if ok, err := s.cfg.Store.hold(ctx, customer, req.Number, holdReserved, op.ID, now.Add(s.cfg.ReservationTTL), now); err != nil {
				return nil, err
			} else if !ok {
				return nil, refuse(CodeNumberHeld, "/number", req.Number+" was just reserved by another operation")
			}
			p.Number, p.Reserved = req.Number, true
		}
		if !haveRange {
			rg, haveRange = rangeOf(ranges, req.Number)
		}
	}
	if req.NumberType != "" && numberType != "" && string(req.NumberType) != numberType {
		release()
		return nil, refuse(CodeInvalid, "/numberType", "the number is "+numberType+", not "+string(req.NumberType))
	}
	if p.Number != "" {
		numberStep.Number = p.Number
		p.NumberType = numberType
		p.LocationID = req.LocationID
		if p.LocationID == "" && haveRange {
			p.LocationID = rg.LocationID
		}
	}
	// The licenses.
	var need []string
	if numberType != "" {
		need = append(need, planPhoneSystem)
		if NumberType(numberType) == CallingPlan {
			need = append(need, planCallingPlan)
		}
	}
	licenseStep := Step{Step: "license", Status: StepUnchanged}
	var missing []string
	for _, pl := range need {
		if !st.has(pl) {
			missing = append(missing, pl)
		}
	}
	if len(missing) > 0 {
		if req.Licenses != "auto" {
			release()
			return nil, &Error{Code: CodeUserNotLicensed, Field: "/licenses", Action: ActionAssignLicense,
				Detail: "a " + numberType + " number needs " + strings.Join(missing, " and ") + `; the user has none: assign it or ask for "licenses": "auto"`}
		}
		if st.user.UsageLocation == "" {
			release()
			return nil, &Error{Code: CodeNoUsageLocation, Field: "/licenses", Action: ActionSetUsageLocation,
				Detail: "licenses cannot be assigned to a user without a usage location; set it in Entra ID"}
		}
		for _, pl := range missing {
			k, ok := pickSKU(st.skus, pl)
			if !ok {
				release()
				return nil, &Error{Code: CodeNoFreeLicense, Field: "/licenses", Action: ActionAssignLicense,
					Detail: "no SKU with " + pl + " has a free unit; buy more or free one"}
			}
			p.AddSKUs = append(p.AddSKUs, skuRef{ID: k.SkuID, Name: k.SkuPartNumber})
		}
		licenseStep = Step{Step: "license", Status: StepPending, Detail: "add " + skuNames(p.AddSKUs)}
	}
	// The policies.
	types := make([]string, 0, len(req.Policies))
	for t := range req.Policies {
		types = append(types, t)
	}
	slices.Sort(types)
	var policySteps []Step
	for _, t := range types {
		name := strings.TrimSpace(req.Policies[t])
		cur, direct := st.teams.policy(t)
		step := Step{Step: "policy:" + t, Status: StepPending}
		switch {
		case strings.EqualFold(name, "Global"):
			if cur == "" || !direct {
				step.Status, step.Detail = StepUnchanged, "Global already applies"
			} else {
				p.Unassign = append(p.Unassign, policyRef{Type: t, Name: cur})
				step.Detail = "remove " + cur
			}
		case strings.EqualFold(name, cur):
			step.Status, step.Detail = StepUnchanged, cur+" already applies"
		default:
			id, ok, err := s.policyID(ctx, g, t, name)
			if err != nil {
				release()
				return nil, err
			}
			if !ok {
				release()
				return nil, refuse(CodeUnknownPolicy, "/policies/"+t, "the tenant has no "+t+" named "+clipInput(name))
			}
			p.Assign = append(p.Assign, policyRef{Type: t, Name: name, ID: id})
			step.Detail = "assign " + name
		}
		policySteps = append(policySteps, step)
	}
	if len(p.AddSKUs) > 0 || licenseStep.Status == StepUnchanged && len(need) > 0 {
		item.Steps = append(item.Steps, licenseStep)
	}
	if req.Number != "" {
		item.Steps = append(item.Steps, numberStep)
	}
	item.Steps = append(item.Steps, policySteps...)
	op.Items = []Item{item}
	return s.start(ctx, op, p)
}

// pickSKU chooses a SKU with a free unit providing plan: the SKU named
// after the plan first, then a suite carrying it.
func pickSKU(skus []sku, plan string) (sku, bool) {
	for _, exact := range []bool{true, false} {
		for _, k := range skus {
			if k.free() > 0 && (strings.EqualFold(k.SkuPartNumber, plan) == exact) && k.provides(plan) {
				return k, true
			}
		}
	}
	return sku{}, false
}

// claimNext reserves the lowest number of r that the inventory has free
// and no hold covers, and confirms at Microsoft that it is still free (a
// number found taken updates the inventory and the next is tried).
func (s *Service) claimNext(ctx context.Context, g *graph, r Range, holder string, now time.Time) (string, graphNumber, error) {
	for tries := 0; tries < 20; tries++ {
		c, ok, err := s.cfg.Store.reserveNext(ctx, g.customer, r, holder, now.Add(s.cfg.ReservationTTL), now)
		if err != nil {
			return "", graphNumber{}, err
		}
		if !ok {
			break
		}
		gn, found, err := g.number(ctx, c)
		if err != nil {
			_ = s.cfg.Store.unhold(context.WithoutCancel(ctx), g.customer, c, holder)
			return "", graphNumber{}, err
		}
		if found && gn.AssignmentStatus == "unassigned" {
			return c, gn, nil
		}
		// The inventory was stale: record what Microsoft says.
		if found {
			err = s.cfg.Store.putNumbers(ctx, g.customer, []numberRow{rowOf(gn)}, now)
		} else {
			err = s.cfg.Store.deleteNumber(ctx, g.customer, c)
		}
		_ = s.cfg.Store.unhold(context.WithoutCancel(ctx), g.customer, c, holder)
		if err != nil {
			return "", graphNumber{}, err
		}
	}
	return "", graphNumber{}, refuse(CodeRangeExhausted, "/range", "range "+r.Name+" has no free number in the inventory (refresh it if numbers were added)")
}

// Release removes user's numbers (each goes to its range's quarantine)
// and direct voice policy assignments, and with RemoveLicenses the voice
// licenses, as a queued operation. A user without any of them gets a
// succeeded operation with no Graph write.
func (s *Service) Release(ctx context.Context, customer, user string, req ReleaseRequest, actor string) (*Operation, error) {
	if s.jobs.Load() == nil {
		return nil, errNoInserter
	}
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return nil, err
	}
	st, err := s.readState(ctx, g, user, true)
	if err != nil {
		return nil, err
	}
	ranges, err := s.cfg.Store.ranges(ctx, customer)
	if err != nil {
		return nil, err
	}
	now := s.now()
	op := &Operation{ID: newOperationID(), Customer: customer, Kind: KindRelease, State: StateQueued, Actor: actor, Created: now, Updated: now}
	p := &plan{UserID: st.user.ID, UPN: st.user.UserPrincipalName}
	item := Item{User: st.user.UserPrincipalName, UserID: st.user.ID, State: StateQueued}
	for _, n := range st.numbers {
		rl := released{Number: n.TelephoneNumber, Type: n.NumberType}
		if r, ok := rangeOf(ranges, n.TelephoneNumber); ok {
			rl.QuarantineDays = r.QuarantineDays
		}
		p.Release = append(p.Release, rl)
		item.Steps = append(item.Steps, Step{Step: "number", Status: StepPending, Number: n.TelephoneNumber, Detail: "unassign"})
	}
	for _, t := range VoicePolicyTypes {
		if name, direct := st.teams.policy(t); name != "" && direct {
			p.Unassign = append(p.Unassign, policyRef{Type: t, Name: name})
			item.Steps = append(item.Steps, Step{Step: "policy:" + t, Status: StepPending, Detail: "remove " + name})
		}
	}
	if req.RemoveLicenses {
		for _, l := range st.user.AssignedLicenses {
			for _, k := range st.skus {
				if strings.EqualFold(k.SkuID, l.SkuID) && (strings.EqualFold(k.SkuPartNumber, planPhoneSystem) || strings.HasPrefix(strings.ToUpper(k.SkuPartNumber), "MCOPSTN")) {
					p.RemoveSKUs = append(p.RemoveSKUs, skuRef{ID: k.SkuID, Name: k.SkuPartNumber})
				}
			}
		}
		if len(p.RemoveSKUs) > 0 {
			item.Steps = append(item.Steps, Step{Step: "license", Status: StepPending, Detail: "remove " + skuNames(p.RemoveSKUs)})
		} else {
			item.Steps = append(item.Steps, Step{Step: "license", Status: StepUnchanged, Detail: "no voice license"})
		}
	}
	op.Items = []Item{item}
	return s.start(ctx, op, p)
}

// start stores op and queues its job, or, when no step has anything to
// do, stores it succeeded.
func (s *Service) start(ctx context.Context, op *Operation, p *plan) (*Operation, error) {
	it := &op.Items[0]
	todo := false
	for _, st := range it.Steps {
		todo = todo || st.Status == StepPending
	}
	if !todo {
		now := s.now()
		op.State, it.State, op.Finished = StateSucceeded, StateSucceeded, &now
		if err := s.cfg.Store.insertOperation(ctx, op, p.UserID, p); err != nil {
			return nil, err
		}
		s.audit(ctx, op, op.Actor, "voice."+string(op.Kind), "succeeded", "operation "+op.ID+" on "+p.UPN+": already in that state, nothing sent")
		return op, nil
	}
	if err := s.cfg.Store.insertOperation(ctx, op, p.UserID, p); err != nil {
		if p.Reserved {
			_ = s.cfg.Store.unhold(context.WithoutCancel(ctx), op.Customer, p.Number, op.ID)
		}
		return nil, err
	}
	if _, err := s.insert(ctx, OperationArgs{Customer: op.Customer, UserID: p.UserID, Operation: op.ID}, nil); err != nil {
		now := s.now()
		op.State, it.State, op.Finished, op.Updated = StateFailed, StateFailed, &now, now
		_, _ = s.cfg.Store.saveOperation(context.WithoutCancel(ctx), op, p)
		if p.Reserved {
			_ = s.cfg.Store.unhold(context.WithoutCancel(ctx), op.Customer, p.Number, op.ID)
		}
		return nil, fmt.Errorf("voice: queue operation %s: %w", op.ID, err)
	}
	s.audit(ctx, op, op.Actor, "voice."+string(op.Kind), "succeeded", "operation "+op.ID+" on "+p.UPN+" queued")
	return op, nil
}
