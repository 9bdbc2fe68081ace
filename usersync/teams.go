package usersync

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/tenantgate/tenantgate/usersync/filter"
)

// TeamsConfig is a user's Teams Phone System configuration, from
// Microsoft Graph's /admin/teams/userConfigurations, in the terms
// Get-CsOnlineUser shows it.
type TeamsConfig struct {
	// AccountType is Graph's accountType: user, resourceAccount, guest,
	// sfbOnPremUser, unknown or ineligibleUser.
	AccountType string `json:"accountType,omitempty"`
	// EnterpriseVoiceEnabled is isEnterpriseVoiceEnabled.
	EnterpriseVoiceEnabled bool `json:"enterpriseVoiceEnabled"`
	// FeatureTypes are the user's Teams features, such as Teams,
	// AudioConferencing, PhoneSystem and CallingPlan.
	FeatureTypes []string `json:"featureTypes,omitempty"`
	// TelephoneNumbers are the numbers assigned to the user.
	TelephoneNumbers []TelephoneNumber `json:"telephoneNumbers,omitempty"`
	// Policies maps each effective policy type (for example
	// OnlineVoiceRoutingPolicy) to the policy's name; a type absent from
	// it is on the Global policy.
	Policies map[string]string `json:"policies,omitempty"`
}

// TelephoneNumber is one number assigned to a Teams user.
type TelephoneNumber struct {
	Number   string `json:"number"`   // E.164, e.g. "+39020000024"
	Category string `json:"category"` // primary, private or alternate
}

// LineURI returns Get-CsOnlineUser's LineUri: "tel:" followed by the
// primary number, or "" when the user has none.
func (c *TeamsConfig) LineURI() string {
	if c == nil {
		return ""
	}
	for _, n := range c.TelephoneNumbers {
		if strings.EqualFold(n.Category, "primary") && n.Number != "" {
			return "tel:" + n.Number
		}
	}
	return ""
}

// teamsValue returns a Teams attribute of u for the filter matcher; ok is
// false when p is not a Teams property. A user without a configuration
// reads null everywhere.
func (u *User) teamsValue(p string) (v filter.Value, ok bool) {
	if !strings.HasPrefix(p, "teams:") {
		return filter.Value{}, false
	}
	c := u.Teams
	if c == nil {
		return filter.Value{}, true
	}
	switch p {
	case filter.TeamsEnterpriseVoiceEnabled:
		return filter.BoolValue(c.EnterpriseVoiceEnabled), true
	case filter.TeamsLineURI:
		if l := c.LineURI(); l != "" {
			return filter.StringValue(l), true
		}
	case filter.TeamsAccountType:
		if c.AccountType != "" {
			return filter.StringValue(c.AccountType), true
		}
	case filter.TeamsFeatureTypes:
		return filter.ListValue(c.FeatureTypes), true
	default:
		if name := c.Policies[strings.TrimPrefix(p, filter.TeamsPolicyPrefix)]; name != "" {
			return filter.StringValue(name), true
		}
	}
	return filter.Value{}, true
}

// appendTeamsHash appends c's fields, length-prefixed, for User.Hash.
// Nothing is appended for a nil c, so the hash of a user synced without
// Teams configuration is the same as before Teams fields existed.
func appendTeamsHash(b []byte, c *TeamsConfig) []byte {
	if c == nil {
		return b
	}
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, 'T')
	str(c.AccountType)
	if c.EnterpriseVoiceEnabled {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(c.FeatureTypes)))
	for _, f := range c.FeatureTypes {
		str(f)
	}
	b = binary.AppendUvarint(b, uint64(len(c.TelephoneNumbers)))
	for _, n := range c.TelephoneNumbers {
		str(n.Number)
		str(n.Category)
	}
	keys := make([]string, 0, len(c.Policies))
	for k := range c.Policies {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		str(k)
		str(c.Policies[k])
	}
	return b
}

// teamsWire is a teamsUserConfiguration as Graph sends it.
type teamsWire struct {
	ID                       string   `json:"id"`
	AccountType              string   `json:"accountType"`
	IsEnterpriseVoiceEnabled bool     `json:"isEnterpriseVoiceEnabled"`
	FeatureTypes             []string `json:"featureTypes"`
	TelephoneNumbers         []struct {
		TelephoneNumber    string `json:"telephoneNumber"`
		AssignmentCategory string `json:"assignmentCategory"`
	} `json:"telephoneNumbers"`
	EffectivePolicyAssignments []struct {
		PolicyType       string `json:"policyType"`
		PolicyAssignment struct {
			DisplayName string `json:"displayName"`
		} `json:"policyAssignment"`
	} `json:"effectivePolicyAssignments"`
}

// teamsSelect is the $select of every Teams read.
const teamsSelect = "id,accountType,isEnterpriseVoiceEnabled,featureTypes,telephoneNumbers,effectivePolicyAssignments"

func (w *teamsWire) config() *TeamsConfig {
	c := &TeamsConfig{AccountType: w.AccountType, EnterpriseVoiceEnabled: w.IsEnterpriseVoiceEnabled}
	if len(w.FeatureTypes) > 0 {
		c.FeatureTypes = w.FeatureTypes
	}
	for _, n := range w.TelephoneNumbers {
		c.TelephoneNumbers = append(c.TelephoneNumbers, TelephoneNumber{Number: n.TelephoneNumber, Category: n.AssignmentCategory})
	}
	for _, p := range w.EffectivePolicyAssignments {
		if p.PolicyType == "" || p.PolicyAssignment.DisplayName == "" {
			continue
		}
		if c.Policies == nil {
			c.Policies = make(map[string]string, len(w.EffectivePolicyAssignments))
		}
		c.Policies[p.PolicyType] = p.PolicyAssignment.DisplayName
	}
	return c
}
