package filter

import (
	"slices"
	"strings"

	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

// Support says whether Microsoft Graph can evaluate an operator on a property.
type Support uint8

// The levels of support.
const (
	Unsupported Support = iota // Graph cannot filter this way; it runs client-side
	Default                    // works in a plain request
	Advanced                   // needs ConsistencyLevel: eventual and $count=true
)

// String returns "unsupported", "default" or "advanced".
func (s Support) String() string {
	switch s {
	case Default:
		return "default"
	case Advanced:
		return "advanced"
	}
	return "unsupported"
}

// ValueType is the type of a Graph user property.
type ValueType uint8

// The property types.
const (
	TypeString ValueType = iota + 1 // a string (or null)
	TypeBool                        // a boolean
	TypeList                        // a collection of strings
)

// Attribute maps one Get-CsOnlineUser attribute to its Microsoft Graph user
// property and says what Graph can filter on it. The ne operator needs the
// advanced query parameters wherever eq works, so it has no field.
type Attribute struct {
	Name     string    // as in Get-CsOnlineUser, e.g. "UsageLocation"
	Aliases  []string  // other accepted names, e.g. "Surname" for LastName
	Graph    string    // the Graph property, e.g. "usageLocation"
	Type     ValueType // the property's type
	Nullable bool      // Graph may return null (or, for lists, an empty collection)

	// Teams marks a Teams Phone System attribute: Graph property is the
	// name the matcher reads it by (see TeamsProperty), evaluated on the
	// user's configuration from /admin/teams/userConfigurations, never
	// by /users.
	Teams bool

	Eq         Support // p eq 'v' (for lists: p/any(x:x eq 'v'))
	In         Support // p in ('a','b')
	StartsWith Support // startsWith(p,'v')
	EndsWith   Support // endsWith(p,'v'): only the mail-like properties
	Not        Support // not(...) around startsWith/endsWith (for lists: not(p/any(...)))
	Null       Support // p eq null, p ne null
}

const (
	dflt = Default
	adv  = Advanced
)

// attributes is the mapping table. Capabilities follow Microsoft Graph's
// "advanced query capabilities on directory objects" table for user
// properties (see the package documentation).
var attributes = []Attribute{
	{Name: "UserPrincipalName", Graph: "userPrincipalName", Type: TypeString, Eq: dflt, In: dflt, StartsWith: dflt, EndsWith: adv},
	{Name: "DisplayName", Graph: "displayName", Type: TypeString, Eq: dflt, In: dflt, StartsWith: dflt, Not: adv, Null: adv},
	{Name: "GivenName", Aliases: []string{"FirstName"}, Graph: "givenName", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt, Null: adv},
	{Name: "LastName", Aliases: []string{"Surname"}, Graph: "surname", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt, Null: adv},
	{Name: "Title", Aliases: []string{"JobTitle"}, Graph: "jobTitle", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt, Null: adv},
	{Name: "Department", Graph: "department", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt, Not: adv, Null: adv},
	{Name: "Company", Aliases: []string{"CompanyName"}, Graph: "companyName", Type: TypeString, Nullable: true, Eq: adv, In: adv, StartsWith: adv, Not: adv, Null: adv},
	{Name: "City", Graph: "city", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt, Not: adv, Null: adv},
	{Name: "StateOrProvince", Aliases: []string{"State"}, Graph: "state", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt, Null: adv},
	{Name: "Country", Graph: "country", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt, Not: adv, Null: adv},
	{Name: "UsageLocation", Graph: "usageLocation", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt},
	{Name: "AccountEnabled", Graph: "accountEnabled", Type: TypeBool, Eq: dflt, In: dflt, Not: adv},
	{Name: "Street", Aliases: []string{"StreetAddress"}, Graph: "streetAddress", Type: TypeString, Nullable: true, Eq: adv, In: adv, StartsWith: adv, Null: adv},
	{Name: "Office", Aliases: []string{"OfficeLocation", "PhysicalDeliveryOfficeName"}, Graph: "officeLocation", Type: TypeString, Nullable: true, Eq: adv, In: adv, StartsWith: adv, Null: adv},
	{Name: "PostalCode", Graph: "postalCode", Type: TypeString, Nullable: true, Eq: adv, In: adv, StartsWith: adv, Null: adv},
	{Name: "MobilePhone", Graph: "mobilePhone", Type: TypeString, Nullable: true, Eq: adv, In: adv, StartsWith: adv, Null: adv},
	{Name: "PreferredLanguage", Graph: "preferredLanguage", Type: TypeString, Nullable: true, Eq: adv, In: adv, StartsWith: adv, Null: adv},
	{Name: "Alias", Aliases: []string{"MailNickname"}, Graph: "mailNickname", Type: TypeString, Eq: dflt, In: dflt, StartsWith: dflt, Null: adv},
	{Name: "WindowsEmailAddress", Aliases: []string{"Mail"}, Graph: "mail", Type: TypeString, Nullable: true, Eq: dflt, In: dflt, StartsWith: dflt, EndsWith: adv},
	{Name: "ProxyAddresses", Graph: "proxyAddresses", Type: TypeList, Nullable: true, Eq: dflt, StartsWith: dflt, EndsWith: adv, Not: adv},
}

// Teams property names the matcher reads Teams attributes by
// (User.Value): they are not Graph user properties, so they can never
// collide with one.
const (
	TeamsLineURI                = "teams:lineUri"                  // "tel:" + the primary number, null without one
	TeamsEnterpriseVoiceEnabled = "teams:isEnterpriseVoiceEnabled" // bool
	TeamsAccountType            = "teams:accountType"              // e.g. "user"
	TeamsFeatureTypes           = "teams:featureTypes"             // list
	// TeamsPolicyPrefix + a policy type (e.g. "TeamsCallingPolicy") is
	// the effective policy's name, null when the Global policy applies.
	TeamsPolicyPrefix = "teams:policy:"
)

// PolicyTypes are the Teams policy types a filter can name as attributes
// (Get-CsOnlineUser shows each by its name), in documentation order.
var PolicyTypes = []string{
	"TeamsCallingPolicy", "OnlineVoiceRoutingPolicy", "TenantDialPlan", "TeamsMeetingPolicy",
	"CallingLineIdentity", "OnlineVoicemailPolicy", "TeamsEmergencyCallingPolicy",
	"TeamsEmergencyCallRoutingPolicy", "TeamsVoiceApplicationsPolicy", "TeamsMessagingPolicy",
	"TeamsAppSetupPolicy", "TeamsAppPermissionPolicy", "TeamsCallParkPolicy", "TeamsChannelsPolicy",
	"TeamsMeetingBroadcastPolicy", "TeamsMobilityPolicy", "TeamsSharedCallingRoutingPolicy",
	"TeamsUpdateManagementPolicy", "TeamsEventsPolicy", "TeamsCallHoldPolicy", "TeamsIPPhonePolicy",
	"TeamsFilesPolicy", "TeamsComplianceRecordingPolicy", "TeamsSurvivableBranchAppliancePolicy",
	"TeamsVdiPolicy", "ExternalAccessPolicy", "OnlineAudioConferencingRoutingPolicy",
	"TeamsVideoInteropServicePolicy", "TeamsEnhancedEncryptionPolicy", "TeamsFeedbackPolicy",
}

// TeamsProperty returns the property the matcher reads the Teams policy
// type by: TeamsPolicyPrefix + policyType.
func TeamsProperty(policyType string) string { return TeamsPolicyPrefix + policyType }

func init() {
	attributes = append(attributes,
		Attribute{Name: "EnterpriseVoiceEnabled", Graph: TeamsEnterpriseVoiceEnabled, Type: TypeBool, Nullable: true, Teams: true},
		Attribute{Name: "LineUri", Aliases: []string{"LineURI"}, Graph: TeamsLineURI, Type: TypeString, Nullable: true, Teams: true},
		Attribute{Name: "FeatureTypes", Graph: TeamsFeatureTypes, Type: TypeList, Nullable: true, Teams: true},
		Attribute{Name: "AccountType", Graph: TeamsAccountType, Type: TypeString, Nullable: true, Teams: true},
	)
	for _, pt := range PolicyTypes {
		attributes = append(attributes, Attribute{Name: pt, Graph: TeamsProperty(pt), Type: TypeString, Nullable: true, Teams: true})
	}
}

var attributeIndex map[string]*Attribute

func init() { attributeIndex = buildIndex() }

func buildIndex() map[string]*Attribute {
	m := make(map[string]*Attribute)
	for i := range attributes {
		at := &attributes[i]
		m[strings.ToLower(at.Name)] = at
		for _, al := range at.Aliases {
			m[strings.ToLower(al)] = at
		}
	}
	return m
}

// teamsOnly lists Get-CsOnlineUser attributes that exist only in Teams and
// that neither /users nor /admin/teams/userConfigurations carries. Any
// other attribute whose name ends in "Policy" is one as well.
var teamsOnly = map[string]bool{
	"onpremlineuri":   true,
	"hostedvoicemail": true, "sipaddress": true, "sipproxyaddress": true, "interpretedusertype": true,
	"assignedplan": true, "provisionedplan": true, "dialplan": true,
	"teamsupgradeeffectivemode": true, "teamsupgradepolicyisreadonly": true, "hostingprovider": true,
	"registrarpool": true, "isssipenabled": true, "issipenabled": true, "shadowproxyaddresses": true,
	"voicepolicy": true, "optionflags": true, "usagelocationsource": true,
	"lastsynctimestamp": true, "lastprovisiontimestamp": true, "whenchanged": true,
	"whencreated": true, "onprementerprisevoiceenabled": true, "onpremhostingprovider": true,
	"onpremsipenabled": true, "onpremsipaddress": true, "targetregistrarpool": true,
	"enabled": true,
}

// Attributes returns the attribute mapping table, in documentation order.
func Attributes() []Attribute {
	out := slices.Clone(attributes)
	for i := range out {
		out[i].Aliases = slices.Clone(out[i].Aliases)
	}
	return out
}

// LookupAttribute finds an attribute by name or alias, case-insensitively.
func LookupAttribute(name string) (Attribute, bool) {
	at, ok := attributeIndex[strings.ToLower(name)]
	if !ok {
		return Attribute{}, false
	}
	return *at, true
}

// resolveAttribute returns the attribute for name, or an *AttributeError.
func resolveAttribute(src, name string, pos int) (*Attribute, error) {
	if at, ok := attributeIndex[strings.ToLower(name)]; ok {
		return at, nil
	}
	line, col := syntax.Position(src, pos)
	e := &AttributeError{Attribute: name, Offset: pos, Line: line, Column: col}
	lower := strings.ToLower(name)
	if teamsOnly[lower] || strings.HasSuffix(lower, "policy") {
		e.Kind = TeamsOnlyAttribute
		e.Detail = "neither Microsoft Graph /users nor /admin/teams/userConfigurations carries it, so a user sync cannot filter on it; remove it from the filter"
		if strings.HasSuffix(lower, "policy") {
			e.Detail += " (the policy attributes a filter can use: " + strings.Join(PolicyTypes, ", ") + ")"
		}
		return nil, e
	}
	e.Kind = UnknownAttribute
	e.Detail = "it is neither a Microsoft Graph user property nor a Teams Phone System attribute"
	if s := suggest(lower); s != "" {
		e.Detail += "; did you mean " + s + "?"
	} else {
		e.Detail += "; use one of " + attributeNames()
	}
	return nil, e
}

func attributeNames() string {
	var names []string
	for _, at := range attributes {
		if !strings.HasPrefix(at.Graph, TeamsPolicyPrefix) {
			names = append(names, at.Name)
		}
	}
	names = append(names, "or a policy type such as TeamsCallingPolicy")
	return strings.Join(names, ", ")
}

// suggest returns the attribute name closest to lower (edit distance at most
// 2), or "".
func suggest(lower string) string {
	best, bestDist := "", 3
	for key, at := range attributeIndex {
		if dist := editDistance(lower, key); dist < bestDist || (dist == bestDist && best != "" && at.Name < best) {
			best, bestDist = at.Name, dist
		}
	}
	return best
}

func editDistance(s, t string) int {
	if len(s) > 64 || len(t) > 64 {
		return 99
	}
	prev := make([]int, len(t)+1)
	cur := make([]int, len(t)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(s); i++ {
		cur[0] = i
		for j := 1; j <= len(t); j++ {
			c := 1
			if s[i-1] == t[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(t)]
}
