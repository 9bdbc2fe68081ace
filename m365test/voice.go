package m365test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// voiceState is a tenant's Teams Phone provisioning state: licenses,
// telephone number inventory and Teams policy assignments. The demo data
// rules give every user and number a default computed from its index; the
// state keeps only what changed since, so a 50,000-user tenant costs
// nothing until a test changes something. The Teams user configurations
// (teams.go) derive from it: licenses give featureTypes, the inventory
// gives telephoneNumbers, the assignments effectivePolicyAssignments.
type voiceState struct {
	mu      sync.RWMutex
	changed atomic.Int64       // len(users), read without mu
	users   map[int]*userVoice // changed users by generator index (-1: the Global Admin)
	numbers map[int]*numberRec // changed numbers by inventory index k
	byUser  map[int][]int      // inventory indexes of changed numbers assigned, by user
	guests  sync.Map           // int -> true: users added by AddGuest (no licenses, no number); read without mu
	prepaid [numSkus]int       // enabled units per SKU; 0: not subscribed
	ops     map[string]*numberOp
	pending int           // operations not yet settled
	log     []*VoiceEvent // oldest first, at most maxVoiceLog
	opOrder []string      // operation IDs, oldest first
	cfg     VoiceControls
	n0      int        // generated users at creation
	locIDs  [10]string // emergency location IDs by location (demoCities)
	// propDelay is Options.TeamsPropagationDelay.
	propDelay time.Duration
}

// userVoice is one user's provisioning state.
type userVoice struct {
	skus     skuMask
	removed  skuMask    // SKUs removed since the demo default (their plans show Deleted)
	lic      *licDetail // nil: no plan disabled, every SKU assigned at teamsCreated
	ev       bool
	pol      [numPolicyTypes]string // directly assigned policy names; "" is Global
	modified time.Time              // zero: teamsCreated
	// visibleAt and prev implement the propagation delay: before
	// visibleAt the user's Teams configuration still shows prev.
	visibleAt time.Time
	prev      *TeamsUserConfiguration
}

// licDetail is what a user's licenses hold beyond the SKUs: read-only
// once stored (clone it to change it).
type licDetail struct {
	disabled [numSkus][]string  // disabled service plan IDs, lower-case
	since    [numSkus]time.Time // assignedDateTime of each SKU's plans; zero: teamsCreated
}

func (d *licDetail) clone() *licDetail {
	if d == nil {
		return &licDetail{}
	}
	c := *d
	return &c
}

// disabledOf returns the plans disabled in SKU k.
func (u *userVoice) disabledOf(k skuIdx) []string {
	if u.lic == nil {
		return nil
	}
	return u.lic.disabled[k]
}

// sinceOf returns when SKU k was assigned.
func (u *userVoice) sinceOf(k skuIdx) time.Time {
	if u.lic == nil || u.lic.since[k].IsZero() {
		return teamsCreated
	}
	return u.lic.since[k]
}

// numberRec is one telephone number's state.
type numberRec struct {
	target        int // generator index of the assigned user; noUser when unassigned
	category      string
	activation    string
	locationID    string
	networkSiteID string
	rnl           []string // reverseNumberLookupOptions
	caps          []string // capabilities; nil: userAssignment
}

// noUser is numberRec.target of an unassigned number.
const noUser = -1 << 31

// teamsCreated is the createdDateTime of every generated configuration and
// the assignedDateTime of the demo licenses.
var teamsCreated = time.Date(2024, 1, 15, 9, 0, 0, 0, time.UTC)

func newVoiceState(tenantID string, n int) *voiceState {
	vs := &voiceState{users: map[int]*userVoice{}, numbers: map[int]*numberRec{}, byUser: map[int][]int{},
		ops: map[string]*numberOp{}, n0: n}
	voice, cp := (n+2)/3, (n+2)/6
	vs.prepaid[skuE3] = n + 11
	vs.prepaid[skuMeetAdv] = n + 11
	vs.prepaid[skuPhone] = voice + 1000
	vs.prepaid[skuPSTN1] = cp + 500
	for loc, city := range demoCities {
		vs.locIDs[loc] = emergencyLocationID(tenantID, city)
	}
	return vs
}

// defaultVoice is user i's state by the demo data rules (i < 0: the
// Global Admin).
func defaultVoice(i int) userVoice {
	u := userVoice{skus: 1<<skuE3 | 1<<skuMeetAdv}
	if i < 0 || i%3 != 0 {
		return u
	}
	u.ev = true
	u.skus |= 1 << skuPhone
	if i%2 == 1 {
		u.skus |= 1 << skuPSTN1
	}
	u.pol = defaultPolicies[i%10][i%2]
	return u
}

// defaultPolicies[loc][parity] are the direct policy assignments of the
// voice users of location loc with i % 2 == parity: Calling Plan users
// (odd) have no voice routing policy.
var defaultPolicies = func() (out [10][2][numPolicyTypes]string) {
	for loc, ul := range demoUsages {
		for parity := range 2 {
			p := &out[loc][parity]
			p[polCalling], p[polDialPlan] = "AllowCalling", "DP-"+ul
			if parity == 0 {
				p[polVoiceRouting] = "VRP-" + ul
			}
		}
	}
	return out
}()

// userLocked returns user i's current state; vs.mu is held.
func (vs *voiceState) userLocked(i int) userVoice {
	if u, ok := vs.users[i]; ok {
		return *u
	}
	if vs.isGuest(i) {
		return userVoice{}
	}
	return defaultVoice(i)
}

// defaultNumberLocked is number k by the demo data rules.
func (vs *voiceState) defaultNumberLocked(k int) numberRec {
	n := numberRec{target: noUser, activation: "activated"}
	if k%3 == 0 && !vs.isGuest(k) {
		n.target, n.category = k, "primary"
	}
	if k%2 == 1 {
		n.locationID = vs.locIDs[k%10]
	}
	return n
}

func (vs *voiceState) numberLocked(_ string, k int) numberRec {
	if n, ok := vs.numbers[k]; ok {
		return *n
	}
	return vs.defaultNumberLocked(k)
}

// setNumberLocked stores number k's new state and keeps byUser in step.
func (vs *voiceState) setNumberLocked(tenantID string, k int, n numberRec) {
	old := vs.numberLocked(tenantID, k)
	if old.target != noUser {
		vs.byUser[old.target] = slices.DeleteFunc(vs.byUser[old.target], func(x int) bool { return x == k })
		if len(vs.byUser[old.target]) == 0 {
			delete(vs.byUser, old.target)
		}
	}
	if n.target != noUser {
		vs.byUser[n.target] = append(vs.byUser[n.target], k)
	}
	vs.numbers[k] = &n
}

// numbersOfLocked returns the numbers assigned to user i, primary first.
func (vs *voiceState) numbersOfLocked(tenantID string, i int) []TeamsTelephoneNumber {
	out := []TeamsTelephoneNumber{}
	if i >= 0 {
		if _, changed := vs.numbers[i]; !changed && i%3 == 0 && !vs.isGuest(i) {
			out = append(out, TeamsTelephoneNumber{TelephoneNumber: numberAt(i), AssignmentCategory: "primary"})
		}
	}
	for _, k := range vs.byUser[i] {
		n := vs.numbers[k]
		out = append(out, TeamsTelephoneNumber{TelephoneNumber: numberAt(k), AssignmentCategory: n.category})
	}
	slices.SortStableFunc(out, func(a, b TeamsTelephoneNumber) int {
		return categoryRank(a.AssignmentCategory) - categoryRank(b.AssignmentCategory)
	})
	return out
}

func categoryRank(c string) int {
	switch c {
	case "primary":
		return 0
	case "private":
		return 1
	}
	return 2
}

// numberAt is telephone number k: the prefix of location k % 10 and k as
// seven digits.
func numberAt(k int) string {
	var nb [24]byte
	b := append(nb[:0], numberPrefixes[k%10]...)
	var db [20]byte
	digits := strconv.AppendInt(db[:0], int64(k), 10)
	for range 7 - len(digits) {
		b = append(b, '0')
	}
	return string(append(b, digits...))
}

// demoCities are the cities by i % 10, as demoUsages.
var demoCities = [10]string{"Seattle", "London", "Berlin", "Paris", "Milan", "Madrid", "Amsterdam", "Stockholm", "Warsaw", "Tokyo"}

// emergencyLocationID is the stable emergency location ID of a city in a
// tenant.
func emergencyLocationID(tenantID, city string) string {
	return stableGUID("emergency location\x00" + tenantID + "\x00" + city)
}

// teamsFrom builds user i's Teams configuration from its provisioning
// state u and numbers nums: featureTypes from the enabled service plans,
// policies from the direct assignments. Read-only slices may be shared.
func teamsFrom(tenantID string, i int, u *userVoice, nums []TeamsTelephoneNumber) TeamsUserConfiguration {
	c := TeamsUserConfiguration{
		TenantID:                   tenantID,
		AccountType:                "user",
		IsEnterpriseVoiceEnabled:   u.ev,
		FeatureTypes:               featureSets[u.features()],
		TelephoneNumbers:           nums,
		EffectivePolicyAssignments: teamsNoPolicies,
		CreatedDateTime:            teamsCreated,
		ModifiedDateTime:           teamsCreated,
	}
	if !u.modified.IsZero() {
		c.ModifiedDateTime = u.modified
	}
	if i >= 0 && i%3 == 0 && u.pol == defaultPolicies[i%10][i%2] {
		c.EffectivePolicyAssignments = teamsPolicies[i%10][1-i%2]
	} else if u.pol != ([numPolicyTypes]string{}) {
		c.EffectivePolicyAssignments = nil
		for t, name := range u.pol {
			if name != "" {
				c.EffectivePolicyAssignments = append(c.EffectivePolicyAssignments, policyOf(policyTypes[t], name))
			}
		}
	}
	return c
}

// voiceTeams returns user i's Teams configuration as the provisioning
// state makes it, at time now (for the propagation delay).
func (t *Tenant) voiceTeams(i int, now func() time.Time) TeamsUserConfiguration {
	vs := t.voice
	if vs.changed.Load() == 0 {
		return generatedTeams(t.ID, i)
	}
	vs.mu.RLock()
	u, changed := vs.users[i]
	if !changed {
		vs.mu.RUnlock()
		return generatedTeams(t.ID, i)
	}
	if u.prev != nil && now().Before(u.visibleAt) {
		c := cloneTeams(*u.prev)
		vs.mu.RUnlock()
		return c
	}
	nums := vs.numbersOfLocked(t.ID, i)
	c := teamsFrom(t.ID, i, u, nums)
	vs.mu.RUnlock()
	return c
}

// changeUserLocked applies f to a copy of user i's state and stores it,
// with modifiedDateTime now; with a propagation delay the Teams
// configuration keeps showing the old state until it passes. vs.mu is
// held for writing.
func (t *Tenant) changeUserLocked(i int, now time.Time, f func(u *userVoice)) {
	vs := t.voice
	old := vs.userLocked(i)
	var before TeamsUserConfiguration
	if d := vs.propDelay; d > 0 {
		if p, ok := vs.users[i]; ok && p.prev != nil && now.Before(p.visibleAt) {
			before = *p.prev
		} else if ok {
			before = teamsFrom(t.ID, i, p, vs.numbersOfLocked(t.ID, i))
		} else {
			before = generatedTeams(t.ID, i)
		}
		before = cloneTeams(before)
	}
	u := old
	f(&u)
	u.modified = now.UTC().Truncate(time.Second)
	u.prev, u.visibleAt = nil, time.Time{}
	if d := vs.propDelay; d > 0 {
		u.prev, u.visibleAt = &before, now.Add(d)
	}
	vs.users[i] = &u
	vs.changed.Store(int64(len(vs.users)))
}

// markGuest records that user i is a guest (AddGuest): guests hold no
// licenses, and the inventory has no number k = i (it holds one number
// per generated user).
func (vs *voiceState) markGuest(i int) { vs.guests.Store(i, true) }

// isGuest reports whether user i is a guest.
func (vs *voiceState) isGuest(i int) bool {
	_, ok := vs.guests.Load(i)
	return ok
}

// Endpoints of Teams Phone provisioning, for the request log.
const (
	// EndpointLicenses is GET /v1.0/subscribedSkus and POST
	// /v1.0/users/{id}/assignLicense.
	EndpointLicenses Endpoint = "licenses"
	// EndpointTeamsNumbers is /v1.0/admin/teams/telephoneNumberManagement:
	// numberAssignments (list, get, assignNumber, unassignNumber,
	// updateNumber) and operations.
	EndpointTeamsNumbers Endpoint = "teamsTelephoneNumbers"
	// EndpointTeamsPolicies is /v1.0/admin/teams/policy: getPolicyId and
	// userAssignments assign and unassign.
	EndpointTeamsPolicies Endpoint = "teamsPolicies"
)

// badBody is Graph's 400 BadRequest with a message.
func badBody(format string, args ...any) *graphError {
	return &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: fmt.Sprintf(format, args...)}
}

// writeGraphJSON answers 200 with body, a Graph JSON document.
func writeGraphJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
