package voice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/usersync"
)

// PlanRequest asks for a plan from a profile: its target for the users
// its filter (and Filter, when both are given: both must match) selects.
type PlanRequest struct {
	// Profile names the customer's profile.
	Profile string `json:"profile"`
	// Filter selects users (usersync/filter); with the profile's filter
	// both apply. Neither: every user of the tenant.
	Filter string `json:"filter,omitempty"`
}

// PlanStatus says what a plan item would do.
type PlanStatus string

// The plan item statuses.
const (
	// PlanChange: the user is not in the target state; Steps say what
	// applying does.
	PlanChange PlanStatus = "change"
	// PlanUnchanged: the user is already in the target state.
	PlanUnchanged PlanStatus = "unchanged"
	// PlanError: the item cannot be applied; Error says why and what to do.
	PlanError PlanStatus = "error"
)

// Plan is what applying a profile or a CSV would change, read from
// Microsoft and changing nothing. Items come a page at a time
// (PlanItems); a plan keeps for Config.PlanTTL.
type Plan struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	// Source is "profile" or "csv"; Profile and Filter what it was made
	// from.
	Source  string `json:"source"`
	Profile string `json:"profile,omitempty"`
	Filter  string `json:"filter,omitempty"`
	// Read is when Microsoft was read; a plan older than
	// Config.PlanFreshness is read again before it is applied.
	Read    time.Time `json:"readAt"`
	Expires time.Time `json:"expiresAt"`
	// Users counts the items; Changes, Unchanged and Errors by status.
	Users     int `json:"users"`
	Changes   int `json:"changes"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"`
	// Licenses are the licenses the plan's changes need against the free
	// units when read.
	Licenses []LicenseNeed `json:"licenses"`
	// Operation is the apply's operation, once applied.
	Operation string `json:"operation,omitempty"`
	// Actor made the plan.
	Actor string `json:"actor,omitempty"`
	// Items is a page of the items (PlanItems), in row order; Next
	// continues it.
	Items []PlanItem `json:"items"`
	Next  string     `json:"next,omitempty"`
}

// LicenseNeed is one SKU a plan assigns.
type LicenseNeed struct {
	SKU    string `json:"sku"`
	Needed int    `json:"needed"`
	Free   int    `json:"free"`
}

// PlanItem is one user (one CSV row) of a plan.
type PlanItem struct {
	// Row is the CSV line (the header is line 1); 0 for a filter's user.
	Row    int        `json:"row,omitempty"`
	User   string     `json:"user"`
	UserID string     `json:"userId,omitempty"`
	Status PlanStatus `json:"status"`
	// Current is the user as Microsoft holds it when read.
	Current *PlanCurrent `json:"current,omitempty"`
	// Target is what the user would get; a "next" number is resolved
	// tentatively (the apply takes the range's lowest free number then).
	Target PlanTarget `json:"target"`
	// Steps are the changes, "unchanged" for what is already so.
	Steps []Step `json:"steps,omitempty"`
	// Error says why the item cannot be applied, and what to do.
	Error *PlanItemError `json:"error,omitempty"`
}

// PlanCurrent is a user's voice when the plan was read.
type PlanCurrent struct {
	AccountEnabled         bool              `json:"accountEnabled"`
	UsageLocation          string            `json:"usageLocation,omitempty"`
	Licenses               []string          `json:"licenses"`
	EnterpriseVoiceEnabled bool              `json:"enterpriseVoiceEnabled"`
	Numbers                []string          `json:"numbers"`
	Policies               map[string]string `json:"policies"`
}

// PlanTarget is what a plan item would set.
type PlanTarget struct {
	Number     string            `json:"number,omitempty"`
	Range      string            `json:"range,omitempty"`
	NumberType NumberType        `json:"numberType,omitempty"`
	LocationID string            `json:"locationId,omitempty"`
	Licenses   []string          `json:"licenses,omitempty"`
	Policies   map[string]string `json:"policies,omitempty"`
}

// PlanItemError is why an item cannot be applied.
type PlanItemError struct {
	Code   Code   `json:"code"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
	Action Action `json:"action,omitempty"`
}

// CodeAccountDisabled: the user's account is disabled.
const CodeAccountDisabled Code = "accountDisabled"

// planSource is what a plan was made from, kept to read it again.
type planSource struct {
	Kind    string      `json:"kind"` // profile, csv
	Profile string      `json:"profile,omitempty"`
	Filter  string      `json:"filter,omitempty"`
	Rows    []csvRow    `json:"rows,omitempty"`
	Target  *SetRequest `json:"target,omitempty"`
}

// planUser is a user as a plan reads it.
type planUser struct {
	ID, UPN       string
	Enabled       bool
	UsageLocation string
	EV            bool
	Phone, PSTN   bool // Teams Phone and Calling Plan service plans
	Numbers       []TelephoneNumberRef
	Policies      map[string]string
}

// TelephoneNumberRef is a number a user holds.
type TelephoneNumberRef struct {
	Number   string `json:"number"`
	Category string `json:"category,omitempty"`
}

func planUserOf(u *usersync.User) planUser {
	p := planUser{ID: u.ID, UPN: u.UserPrincipalName, Enabled: u.AccountEnabled, UsageLocation: u.UsageLocation}
	if t := u.Teams; t != nil {
		p.EV = t.EnterpriseVoiceEnabled
		for _, f := range t.FeatureTypes {
			switch {
			case strings.EqualFold(f, "PhoneSystem"):
				p.Phone = true
			case strings.EqualFold(f, "CallingPlan"):
				p.PSTN = true
			}
		}
		for _, n := range t.TelephoneNumbers {
			p.Numbers = append(p.Numbers, TelephoneNumberRef{Number: n.Number, Category: n.Category})
		}
		p.Policies = t.Policies
	}
	return p
}

func (u planUser) current() *PlanCurrent {
	c := &PlanCurrent{AccountEnabled: u.Enabled, UsageLocation: u.UsageLocation, EnterpriseVoiceEnabled: u.EV,
		Licenses: []string{}, Numbers: []string{}, Policies: map[string]string{}}
	if u.Phone {
		c.Licenses = append(c.Licenses, planPhoneSystem)
	}
	if u.PSTN {
		c.Licenses = append(c.Licenses, planCallingPlan)
	}
	for _, n := range u.Numbers {
		c.Numbers = append(c.Numbers, n.Number)
	}
	for t, n := range u.Policies {
		if n != "" {
			c.Policies[t] = n
		}
	}
	return c
}

// planner decides each item of one plan: it keeps the plan-wide state
// (license units left, numbers handed out tentatively, policy IDs).
type planner struct {
	s        *Service
	g        *graph
	customer string
	now      time.Time
	ranges   []Range
	skus     []sku
	skusRead bool
	free     map[string]int // skuID -> units left for the plan
	needed   map[string]int // skuPartNumber -> needed
	short    map[string]bool
	policy   map[string]policyLookup // type \x00 lower(name)
	allocs   map[string]*allocator   // range name
	used     map[string]int          // numbers the plan gives (explicit and next) -> row
	users    map[string]int          // user IDs seen -> row
}

type policyLookup struct {
	id  string
	ok  bool
	err error
}

// allocator hands out a range's free numbers in order, tentatively.
type allocator struct {
	r     Range
	buf   []string
	after string
	done  bool
}

func (s *Service) newPlanner(ctx context.Context, customer string) (*planner, error) {
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return nil, err
	}
	ranges, err := s.cfg.Store.ranges(ctx, customer)
	if err != nil {
		return nil, err
	}
	return &planner{s: s, g: g, customer: customer, now: s.now(), ranges: ranges, free: map[string]int{}, needed: map[string]int{},
		short: map[string]bool{}, policy: map[string]policyLookup{}, allocs: map[string]*allocator{}, used: map[string]int{}, users: map[string]int{}}, nil
}

// readSKUs reads the subscribed SKUs once per plan.
func (pl *planner) readSKUs(ctx context.Context) error {
	if pl.skusRead {
		return nil
	}
	k, err := pl.g.skus(ctx)
	if err != nil {
		return err
	}
	pl.skus, pl.skusRead = k, true
	for _, x := range k {
		pl.free[x.SkuID] = x.free()
	}
	return nil
}

func (pl *planner) policyID(ctx context.Context, t, name string) (string, bool, error) {
	key := t + "\x00" + strings.ToLower(name)
	if l, ok := pl.policy[key]; ok {
		return l.id, l.ok, l.err
	}
	id, ok, err := pl.s.policyID(ctx, pl.g, t, name)
	if err != nil {
		if _, refused := AsError(err); !refused {
			return "", false, err // Graph failed: the whole plan fails
		}
	}
	pl.policy[key] = policyLookup{id, ok, err}
	return id, ok, err
}

// nextNumber hands out the lowest free number of r not yet in the plan.
func (pl *planner) nextNumber(ctx context.Context, r Range) (string, bool, error) {
	a := pl.allocs[r.Name]
	if a == nil {
		a = &allocator{r: r}
		pl.allocs[r.Name] = a
	}
	for {
		for len(a.buf) > 0 {
			n := a.buf[0]
			a.buf = a.buf[1:]
			if _, taken := pl.used[n]; !taken {
				return n, true, nil
			}
		}
		if a.done {
			return "", false, nil
		}
		const batch = 500
		cands, err := pl.s.cfg.Store.candidatesAfter(ctx, pl.customer, r, a.after, pl.now, batch)
		if err != nil {
			return "", false, err
		}
		if len(cands) < batch {
			a.done = true
		}
		if len(cands) > 0 {
			a.after = cands[len(cands)-1]
		}
		a.buf = cands
	}
}

// itemError makes an error item.
func itemError(it PlanItem, code Code, field, detail string, action Action) PlanItem {
	it.Status = PlanError
	it.Error = &PlanItemError{Code: code, Field: field, Detail: detail, Action: action}
	return it
}

// decide plans one user: req is the target (Number "" keeps the number,
// "next" with Range or NumberType takes one), u the user as read. The
// returned work is what the apply does (nil unless the item is a change).
func (pl *planner) decide(ctx context.Context, row int, u planUser, req SetRequest) (PlanItem, *plan, error) {
	it := PlanItem{Row: row, User: u.UPN, UserID: u.ID, Current: u.current(),
		Target: PlanTarget{Range: req.Range, NumberType: req.NumberType, LocationID: req.LocationID}}
	if r, ok := pl.users[u.ID]; ok {
		return itemError(it, CodeInvalid, "user", fmt.Sprintf("the user is already in the plan (row %d); one row a user", r), ""), nil, nil
	}
	pl.users[u.ID] = row
	if !u.Enabled {
		return itemError(it, CodeAccountDisabled, "user", "the account is disabled: enable it in Entra ID first, or leave the user out", ActionEnableAccount), nil, nil
	}
	p := &plan{UserID: u.ID, UPN: u.UPN, Category: req.Category}
	if p.Category == "" {
		p.Category = "primary"
	}
	// The policies first: a row they refuse takes no number and no
	// license units from the rest of the plan.
	types := make([]string, 0, len(req.Policies))
	for t := range req.Policies {
		types = append(types, t)
	}
	slices.Sort(types)
	var policySteps []Step
	if len(types) > 0 {
		it.Target.Policies = map[string]string{}
	}
	for _, t := range types {
		name := strings.TrimSpace(req.Policies[t])
		it.Target.Policies[t] = name
		cur := u.Policies[t]
		step := Step{Step: "policy:" + t, Status: StepPending}
		switch {
		case strings.EqualFold(name, "Global"):
			if cur == "" {
				step.Status, step.Detail = StepUnchanged, "Global already applies"
			} else {
				p.Unassign = append(p.Unassign, policyRef{Type: t, Name: cur})
				step.Detail = "remove " + cur
			}
		case strings.EqualFold(name, cur):
			step.Status, step.Detail = StepUnchanged, cur+" already applies"
		default:
			id, ok, err := pl.policyID(ctx, t, name)
			if e, refused := AsError(err); refused {
				return itemError(it, e.Code, "policies/"+t, e.Detail, ActionAssignPolicy), nil, nil
			}
			if err != nil {
				return it, nil, err
			}
			if !ok {
				return itemError(it, CodeUnknownPolicy, "policies/"+t, "the tenant has no "+t+" named "+clipInput(name)+": create it in the Teams admin center or fix the name", ActionAssignPolicy), nil, nil
			}
			p.Assign = append(p.Assign, policyRef{Type: t, Name: name, ID: id})
			step.Detail = "assign " + name
		}
		policySteps = append(policySteps, step)
	}
	// The number.
	numberType := ""
	var numberStep *Step
	var rg Range
	haveRange := false
	if req.Range != "" {
		if rg, haveRange = findRange(pl.ranges, req.Range); !haveRange {
			return itemError(it, CodeUnknownRange, "range", "the customer has no range "+clipInput(req.Range), ""), nil, nil
		}
	}
	switch req.Number {
	case "":
	case "next":
		var candidates []Range
		if haveRange {
			candidates = []Range{rg}
		} else {
			for _, r := range pl.ranges {
				if r.Type == req.NumberType {
					candidates = append(candidates, r)
				}
			}
		}
		// Already holding a number of the range (or type)?
		for _, n := range u.Numbers {
			for _, r := range candidates {
				if r.Contains(n.Number) {
					numberStep = &Step{Step: "number", Status: StepUnchanged, Number: n.Number, Detail: "the user already has a number of range " + r.Name}
					numberType, rg, haveRange = string(r.Type), r, true
					it.Target.Number, it.Target.Range = n.Number, r.Name
				}
			}
		}
		if numberStep == nil {
			for _, r := range candidates {
				n, ok, err := pl.nextNumber(ctx, r)
				if err != nil {
					return it, nil, err
				}
				if ok {
					pl.used[n] = row
					p.Number, p.Reserved = n, true
					numberType, rg, haveRange = string(r.Type), r, true
					it.Target.Number, it.Target.Range = n, r.Name
					numberStep = &Step{Step: "number", Status: StepPending, Number: n, Detail: "assign " + n + " (tentative: the apply takes the range's lowest free number)"}
					break
				}
			}
			if numberStep == nil {
				names := make([]string, len(candidates))
				for i, r := range candidates {
					names[i] = r.Name
				}
				if len(names) == 0 {
					return itemError(it, CodeUnknownRange, "range", "the customer has no range of "+string(req.NumberType)+" numbers", ""), nil, nil
				}
				return itemError(it, CodeRangeExhausted, "number", "range "+strings.Join(names, ", ")+" has no free number left for this user: add numbers to the range (and refresh the inventory) or free some", ActionAssignNumber), nil, nil
			}
		}
	default:
		it.Target.Number = req.Number
		for _, n := range u.Numbers {
			if n.Number == req.Number {
				numberStep = &Step{Step: "number", Status: StepUnchanged, Number: n.Number, Detail: "already assigned to the user"}
			}
		}
		row0, ok, err := pl.s.cfg.Store.numberRow(ctx, pl.customer, req.Number)
		if err != nil {
			return it, nil, err
		}
		if !ok {
			return itemError(it, CodeNumberNotInTenant, "number", "the tenant holds no number "+req.Number+" (as last read: refresh the inventory if it was just added)", ""), nil, nil
		}
		numberType = row0.Type
		if !haveRange {
			rg, haveRange = rangeOf(pl.ranges, req.Number)
		}
		if numberStep == nil {
			switch {
			case row0.Status != "unassigned" && row0.TargetID != u.ID:
				who := row0.TargetUPN
				if who == "" {
					who = row0.TargetID
					if gu, ok, err := pl.g.user(ctx, row0.TargetID); err == nil && ok {
						who = gu.UserPrincipalName
					}
				}
				return itemError(it, CodeNumberTaken, "number", req.Number+" is taken: "+row0.Status+" to "+who, ActionAssignNumber), nil, nil
			case row0.Status != "unassigned":
				numberStep = &Step{Step: "number", Status: StepUnchanged, Number: req.Number, Detail: "already assigned to the user"}
			default:
				if r, dup := pl.used[req.Number]; dup {
					return itemError(it, CodeNumberTaken, "number", fmt.Sprintf("%s is already given to another user of the plan (row %d)", req.Number, r), ActionAssignNumber), nil, nil
				}
				if kind, _, until, held, err := pl.s.cfg.Store.holdOf(ctx, pl.customer, req.Number, pl.now); err != nil {
					return it, nil, err
				} else if held {
					what := map[string]string{holdReserved: "reserved by another operation", holdQuarantine: "in quarantine"}[kind]
					return itemError(it, CodeNumberHeld, "number", req.Number+" is "+what+" until "+until.UTC().Format(time.RFC3339), ActionAssignNumber), nil, nil
				}
				pl.used[req.Number] = row
				p.Number = req.Number
				numberStep = &Step{Step: "number", Status: StepPending, Number: req.Number, Detail: "assign " + req.Number}
			}
		}
	}
	if req.NumberType != "" && numberType != "" && string(req.NumberType) != numberType {
		return itemError(it, CodeInvalid, "numberType", "the number is "+numberType+", not "+string(req.NumberType), ""), nil, nil
	}
	if numberType != "" {
		it.Target.NumberType = NumberType(numberType)
	}
	if p.Number != "" {
		p.NumberType = numberType
		p.LocationID = req.LocationID
		if p.LocationID == "" && haveRange {
			p.LocationID = rg.LocationID
		}
		it.Target.LocationID = p.LocationID
	}
	// The licenses.
	var need []string
	if numberType != "" || req.Licenses == "auto" {
		need = append(need, planPhoneSystem)
		if NumberType(numberType) == CallingPlan {
			need = append(need, planCallingPlan)
		}
	}
	var licenseStep *Step
	var missing []string
	for _, l := range need {
		if (l == planPhoneSystem && !u.Phone) || (l == planCallingPlan && !u.PSTN) {
			missing = append(missing, l)
		}
	}
	if len(need) > 0 {
		licenseStep = &Step{Step: "license", Status: StepUnchanged, Detail: "the user has " + strings.Join(need, " and ")}
	}
	if len(missing) > 0 {
		if req.Licenses != "auto" {
			return itemError(it, CodeUserNotLicensed, "licenses", "a "+numberType+" number needs "+strings.Join(missing, " and ")+`; the user has none: assign it, or plan with licenses "auto"`, ActionAssignLicense), nil, nil
		}
		if u.UsageLocation == "" {
			return itemError(it, CodeNoUsageLocation, "licenses", "licenses cannot be assigned to a user without a usage location: set it in Entra ID", ActionSetUsageLocation), nil, nil
		}
		if err := pl.readSKUs(ctx); err != nil {
			return it, nil, err
		}
		var picked []sku
		for _, l := range missing {
			pl.needed[l]++
			k, ok := pickSKUFrom(pl.skus, pl.free, l)
			if !ok {
				pl.short[l] = true
				return itemError(it, CodeNoFreeLicense, "licenses", "not enough "+l+" license units for the whole plan: none left for this user; buy more or free some, then plan again", ActionAssignLicense), nil, nil
			}
			picked = append(picked, k)
		}
		for _, k := range picked {
			pl.free[k.SkuID]--
			p.AddSKUs = append(p.AddSKUs, skuRef{ID: k.SkuID, Name: k.SkuPartNumber})
			it.Target.Licenses = append(it.Target.Licenses, k.SkuPartNumber)
		}
		licenseStep = &Step{Step: "license", Status: StepPending, Detail: "add " + skuNames(p.AddSKUs)}
	}
	if licenseStep != nil {
		it.Steps = append(it.Steps, *licenseStep)
	}
	if numberStep != nil {
		it.Steps = append(it.Steps, *numberStep)
	}
	it.Steps = append(it.Steps, policySteps...)
	it.Status = PlanUnchanged
	for _, st := range it.Steps {
		if st.Status == StepPending {
			it.Status = PlanChange
		}
	}
	if it.Status != PlanChange {
		return it, nil, nil
	}
	return it, p, nil
}

// pickSKUFrom chooses a SKU providing plan with a unit left in free.
func pickSKUFrom(skus []sku, free map[string]int, plan string) (sku, bool) {
	for _, exact := range []bool{true, false} {
		for _, k := range skus {
			if free[k.SkuID] > 0 && (strings.EqualFold(k.SkuPartNumber, plan) == exact) && k.provides(plan) {
				return k, true
			}
		}
	}
	return sku{}, false
}

// licenseNeeds sums the plan's licenses against the free units.
func (pl *planner) licenseNeeds() []LicenseNeed {
	out := []LicenseNeed{}
	for _, l := range []string{planPhoneSystem, planCallingPlan} {
		if pl.needed[l] == 0 {
			continue
		}
		free := 0
		for _, k := range pl.skus {
			if k.provides(l) {
				free += k.free()
			}
		}
		out = append(out, LicenseNeed{SKU: l, Needed: pl.needed[l], Free: free})
	}
	return out
}

// usersSource returns the usersync Source plans read users with.
func (s *Service) usersSource(ctx context.Context, g *graph) (usersync.Source, error) {
	if s.cfg.Users != nil {
		return s.cfg.Users, nil
	}
	base := g.ep.GraphEndpoint + "/v1.0"
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, ok := s.sources[base]; ok {
		return src, nil
	}
	src, err := usersync.NewGraphSource(usersync.CredentialFunc(s.cfg.Access.Credential), usersync.GraphOptions{
		BaseURL: base, Scopes: []string{g.ep.GraphScope()}, Transport: s.parentTransport()})
	if err != nil {
		return nil, fmt.Errorf("voice: %w", err)
	}
	if s.sources == nil {
		s.sources = map[string]usersync.Source{}
	}
	s.sources[base] = src
	return src, nil
}

// planWriter batches a plan's items into the store, so a plan of any
// size is never held whole in memory.
type planWriter struct {
	s       *Store
	id      string
	batch   []storedItem
	n       int
	counts  map[PlanStatus]int
	flushed int
}

// storedItem is a plan item with the work the apply does for it.
type storedItem struct {
	Item PlanItem `json:"item"`
	Work *plan    `json:"work,omitempty"`
	// Range is the range of a "next" number, tried when the tentative
	// number is gone by the time of the apply.
	Range string `json:"range,omitempty"`
}

func (w *planWriter) add(ctx context.Context, it PlanItem, p *plan) error {
	si := storedItem{Item: it, Work: p}
	if p != nil && p.Reserved {
		si.Range = it.Target.Range
	}
	w.batch = append(w.batch, si)
	w.counts[it.Status]++
	w.n++
	if len(w.batch) >= 500 {
		return w.flush(ctx)
	}
	return nil
}

func (w *planWriter) flush(ctx context.Context) error {
	if len(w.batch) == 0 {
		return nil
	}
	err := w.s.insertPlanItems(ctx, w.id, w.flushed, w.batch)
	w.flushed += len(w.batch)
	w.batch = w.batch[:0]
	return err
}

// PlanProfile makes a plan from customer's profile req.Profile for the
// users its filter and req.Filter select, reading them from Microsoft
// with the same filter pushdown as a user sync. It changes nothing at
// Microsoft; the plan is stored (Config.PlanTTL) and returned with its
// first page of items. This is the entry point joiners use too.
func (s *Service) PlanProfile(ctx context.Context, customer string, req PlanRequest, actor string) (*Plan, error) {
	prof, err := s.cfg.Store.profile(ctx, customer, req.Profile)
	if err != nil {
		return nil, err
	}
	f := combineFilters(prof.Filter, strings.TrimSpace(req.Filter))
	if _, err := usersync.CompileFilter(f); f != "" && err != nil {
		return nil, &Error{Code: CodeInvalid, Field: "/filter", Detail: "the filter is not valid: " + err.Error(), Err: err}
	}
	target := prof.setRequest()
	src := planSource{Kind: "profile", Profile: prof.Name, Filter: f, Target: &target}
	return s.makePlan(ctx, customer, newPlanID(), src, actor)
}

// combineFilters is a -and b (either may be empty).
func combineFilters(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	}
	return "(" + a + ") -and (" + b + ")"
}

// makePlan reads what src selects and stores the plan under id
// (replacing the items of an earlier read).
func (s *Service) makePlan(ctx context.Context, customer, id string, src planSource, actor string) (*Plan, error) {
	pl, err := s.newPlanner(ctx, customer)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.deletePlanItems(ctx, id); err != nil {
		return nil, err
	}
	w := &planWriter{s: s.cfg.Store, id: id, counts: map[PlanStatus]int{}}
	switch src.Kind {
	case "profile":
		q, err := usersync.CompileFilter(src.Filter)
		if err != nil {
			return nil, &Error{Code: CodeInvalid, Field: "/filter", Detail: "the filter is not valid: " + err.Error(), Err: err}
		}
		users, err := s.usersSource(ctx, pl.g)
		if err != nil {
			return nil, err
		}
		err = users.Read(ctx, customer, q, func(p usersync.Page) error {
			for i := range p.Users {
				u := &p.Users[i]
				if q.Match != nil && !q.Match(u) {
					continue
				}
				it, work, err := pl.decide(ctx, 0, planUserOf(u), *src.Target)
				if err != nil {
					return err
				}
				if err := w.add(ctx, it, work); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			var fe *usersync.FilterError
			if errors.As(err, &fe) {
				return nil, &Error{Code: CodeInvalid, Field: "/filter", Detail: fe.Error(), Err: err}
			}
			return nil, err
		}
	case "csv":
		if err := s.planRows(ctx, pl, src.Rows, w); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("voice: unknown plan source %q", src.Kind)
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	p := &Plan{ID: id, Customer: customer, Source: src.Kind, Profile: src.Profile, Filter: src.Filter, Read: pl.now.UTC(),
		Expires: pl.now.Add(s.cfg.PlanTTL).UTC(), Users: w.n, Changes: w.counts[PlanChange], Unchanged: w.counts[PlanUnchanged],
		Errors: w.counts[PlanError], Licenses: pl.licenseNeeds(), Actor: actor}
	if err := s.cfg.Store.putPlan(ctx, p, src); err != nil {
		return nil, err
	}
	s.auditCustomer(ctx, customer, actor, "voice.plan", fmt.Sprintf("plan %s (%s %s): %d users, %d changes, %d unchanged, %d errors; nothing changed",
		id, src.Kind, src.Profile, p.Users, p.Changes, p.Unchanged, p.Errors))
	page, err := s.cfg.Store.planItems(ctx, id, PlanItemQuery{})
	if err != nil {
		return nil, err
	}
	p.Items, p.Next = page.Items, page.Next
	return p, nil
}

// GetPlan returns customer's plan id with a page of its items.
func (s *Service) GetPlan(ctx context.Context, customer, id string, q PlanItemQuery) (*Plan, error) {
	p, _, err := s.cfg.Store.plan(ctx, customer, id, s.now())
	if err != nil {
		return nil, err
	}
	page, err := s.cfg.Store.planItems(ctx, id, q)
	if err != nil {
		return nil, err
	}
	p.Items, p.Next = page.Items, page.Next
	return p, nil
}

func newPlanID() string { return "vpl_" + newOperationID()[4:] }

// auditCustomer records an action on customer that is no operation's.
func (s *Service) auditCustomer(ctx context.Context, customer, actor, action, detail string) {
	if s.cfg.Audit == nil {
		return
	}
	if actor == "" {
		actor = "tenantgate"
	}
	if err := s.cfg.Audit.Append(ctx, audit.Entry{Actor: actor, Action: action, Customer: customer, Outcome: audit.Succeeded, Detail: detail}); err != nil {
		s.log.WarnContext(ctx, "voice: audit entry not written", "customer", customer, "action", action, "err", err)
	}
}
