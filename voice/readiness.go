package voice

import (
	"context"
	"slices"
	"strings"
)

// The voice policy types voice reads, sets and releases.
const (
	PolicyVoiceRouting = "OnlineVoiceRoutingPolicy"
	PolicyDialPlan     = "TenantDialPlan"
	PolicyCalling      = "TeamsCallingPolicy"
)

// VoicePolicyTypes are the policy types a release removes and the
// readiness shows.
var VoicePolicyTypes = []string{PolicyVoiceRouting, PolicyDialPlan, PolicyCalling}

// The service plans behind the licenses: Teams Phone and a Calling Plan.
const (
	planPhoneSystem = "MCOEV"
	planCallingPlan = "MCOPSTN1"
)

// UserVoice is a user's voice as Microsoft holds it now, and its
// readiness to call the PSTN.
type UserVoice struct {
	User                   UserRef            `json:"user"`
	AccountEnabled         bool               `json:"accountEnabled"`
	UsageLocation          string             `json:"usageLocation"`
	Licenses               []string           `json:"licenses"`
	EnterpriseVoiceEnabled bool               `json:"enterpriseVoiceEnabled"`
	Numbers                []UserNumber       `json:"numbers"`
	Policies               map[string]*string `json:"policies"`
	Ready                  bool               `json:"ready"`
	Checks                 []Check            `json:"checks"`
}

// UserNumber is a number assigned to a user.
type UserNumber struct {
	Number          string     `json:"number"`
	Type            NumberType `json:"type"`
	Category        string     `json:"category"`
	ActivationState string     `json:"activationState"`
	LocationID      string     `json:"locationId"`
}

// Check is one readiness check; a failed one says which Action fixes it.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Action Action `json:"action,omitempty"`
}

// The readiness checks, in the order they are reported.
const (
	CheckAccountEnabled     = "accountEnabled"
	CheckUsageLocation      = "usageLocation"
	CheckPhoneLicense       = "teamsPhoneLicense"
	CheckEnterpriseVoice    = "enterpriseVoice"
	CheckPrimaryNumber      = "primaryNumber"
	CheckVoiceRouting       = "voiceRoutingPolicy"
	CheckCallingPlanLicense = "callingPlanLicense"
	CheckEmergencyLocation  = "emergencyLocation"
	CheckPermissions        = "permissions"
)

// userState is what voice reads of a user to judge and plan.
type userState struct {
	user    graphUser
	skus    []sku
	teams   teamsConfig
	numbers []graphNumber
}

// licensed returns the skuPartNumbers of the user's licenses.
func (u userState) licenses() []string {
	out := []string{}
	for _, l := range u.user.AssignedLicenses {
		name := l.SkuID
		for _, k := range u.skus {
			if strings.EqualFold(k.SkuID, l.SkuID) {
				name = k.SkuPartNumber
			}
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// has reports whether one of the user's licenses provides plan.
func (u userState) has(plan string) bool {
	for _, l := range u.user.AssignedLicenses {
		for _, k := range u.skus {
			if strings.EqualFold(k.SkuID, l.SkuID) && k.provides(plan) {
				return true
			}
		}
	}
	return false
}

// primary is the user's primary number, if any.
func (u userState) primary() (graphNumber, bool) {
	for _, n := range u.numbers {
		if strings.EqualFold(n.AssignmentCategory, "primary") || n.AssignmentCategory == "" {
			return n, true
		}
	}
	return graphNumber{}, false
}

// checks judges the user's readiness (Microsoft's list of what a Teams
// voice user needs to call the PSTN; m365-facts "Teams Phone
// provisioning").
func (u userState) checks() []Check {
	var cs []Check
	add := func(name string, ok bool, okDetail, badDetail string, a Action) {
		c := Check{Name: name, OK: ok, Detail: okDetail}
		if !ok {
			c.Detail, c.Action = badDetail, a
		}
		cs = append(cs, c)
	}
	enabled := u.user.AccountEnabled == nil || *u.user.AccountEnabled
	add(CheckAccountEnabled, enabled, "", "the account is disabled in Entra ID", ActionEnableAccount)
	add(CheckUsageLocation, u.user.UsageLocation != "", "usage location "+u.user.UsageLocation,
		"the user has no usage location; licenses and numbers need one", ActionSetUsageLocation)
	add(CheckPhoneLicense, u.has(planPhoneSystem), "", "the user has no Teams Phone license (MCOEV or a suite with it)", ActionAssignLicense)
	add(CheckEnterpriseVoice, u.teams.IsEnterpriseVoiceEnabled, "",
		"Enterprise Voice is off; assigning a number turns it on (Graph has no other switch)", ActionAssignNumber)
	p, ok := u.primary()
	switch {
	case !ok:
		add(CheckPrimaryNumber, false, "", "the user has no primary telephone number", ActionAssignNumber)
	case p.ActivationState != "activated":
		add(CheckPrimaryNumber, false, "", p.TelephoneNumber+" is "+p.ActivationState+", not activated", ActionAssignNumber)
	default:
		add(CheckPrimaryNumber, true, p.TelephoneNumber+" ("+p.NumberType+")", "", "")
	}
	if !ok {
		return cs
	}
	switch NumberType(p.NumberType) {
	case DirectRouting:
		name, _ := u.teams.policy(PolicyVoiceRouting)
		add(CheckVoiceRouting, name != "", name,
			"a Direct Routing user needs an OnlineVoiceRoutingPolicy with PSTN usages; the Global policy has none", ActionAssignPolicy)
	case CallingPlan:
		add(CheckCallingPlanLicense, u.has(planCallingPlan), "", "a Calling Plan number needs a Calling Plan license (MCOPSTN1, ...)", ActionAssignLicense)
		add(CheckEmergencyLocation, p.LocationID != "", p.LocationID, p.TelephoneNumber+" has no emergency location", ActionSetLocation)
	}
	return cs
}

// view builds the API's UserVoice from the state.
func (u userState) view() UserVoice {
	v := UserVoice{
		User:                   UserRef{ID: u.user.ID, UserPrincipalName: u.user.UserPrincipalName},
		AccountEnabled:         u.user.AccountEnabled == nil || *u.user.AccountEnabled,
		UsageLocation:          u.user.UsageLocation,
		Licenses:               u.licenses(),
		EnterpriseVoiceEnabled: u.teams.IsEnterpriseVoiceEnabled,
		Numbers:                []UserNumber{},
		Policies:               map[string]*string{},
	}
	for _, n := range u.numbers {
		v.Numbers = append(v.Numbers, UserNumber{Number: n.TelephoneNumber, Type: NumberType(n.NumberType),
			Category: n.AssignmentCategory, ActivationState: n.ActivationState, LocationID: n.LocationID})
	}
	for _, t := range VoicePolicyTypes {
		v.Policies[t] = nil
	}
	for _, p := range u.teams.EffectivePolicyAssignments {
		if name, _ := u.teams.policy(p.PolicyType); name != "" {
			v.Policies[p.PolicyType] = &name
		}
	}
	v.Checks = u.checks()
	v.Ready = true
	for _, c := range v.Checks {
		v.Ready = v.Ready && c.OK
	}
	return v
}

// readState reads the user (object ID or UPN) with its licenses, Teams
// configuration and numbers.
func (s *Service) readState(ctx context.Context, g *graph, key string, withNumbers bool) (userState, error) {
	u, ok, err := g.user(ctx, key)
	if err != nil {
		return userState{}, err
	}
	if !ok {
		return userState{}, &Error{Code: CodeUnknownUser, Field: "user", Detail: "the tenant has no user " + clipInput(key)}
	}
	st := userState{user: u}
	if st.skus, err = g.skus(ctx); err != nil {
		return st, err
	}
	tc, _, err := g.teamsConfig(ctx, u.ID)
	if err != nil {
		return st, err
	}
	st.teams = tc
	if withNumbers {
		if st.numbers, err = g.userNumbers(ctx, u.ID); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Voice returns the user's voice as Microsoft holds it now and its
// readiness. user is an object ID or user principal name. A permission
// the customer has not granted is a failed "permissions" check with
// ActionGrantConsent, not an error.
func (s *Service) Voice(ctx context.Context, customer, user string) (UserVoice, error) {
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return UserVoice{}, err
	}
	st, err := s.readState(ctx, g, user, true)
	if e, ok := AsError(err); ok && e.Code == CodePermissionMissing && st.user.ID != "" {
		v := st.view()
		v.Ready = false
		v.Checks = append([]Check{{Name: CheckPermissions, Detail: e.Detail, Action: ActionGrantConsent}}, v.Checks...)
		return v, nil
	}
	if err != nil {
		return UserVoice{}, err
	}
	return st.view(), nil
}
