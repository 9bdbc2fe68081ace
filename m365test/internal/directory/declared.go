package directory

import "strings"

// declaredProp is a property Microsoft Graph v1.0 declares on
// microsoft.graph.user that this directory keeps no value for. $select
// of one answers null (or [] for a collection), as Graph does for a user
// without a value; filtering or sorting on one stays refused.
type declaredProp struct {
	name       string
	collection bool
}

// firstDeclared is the prop number of declared[0]; the props of declared
// follow it. It stays above numProps and below pVar.
const firstDeclared prop = 64

// declared lists the v1.0 user properties (Microsoft Graph "user
// resource type", v1.0) that are not modelled and that Graph returns on a
// list with User.Read.All. Left out, so still refused: navigation
// properties (manager, memberOf, ...), the SharePoint profile properties
// Graph returns only for a single user (aboutMe, birthday, hireDate,
// interests, mySite, pastProjects, preferredName, responsibilities,
// schools, skills), and those needing another permission or licence
// (mailboxSettings, customSecurityAttributes, print). signInActivity is
// declared here (null: the fake records no sign-ins); the Graph handler
// refuses it without AuditLog.Read.All, as Graph does.
var declared = []declaredProp{
	{"ageGroup", false}, {"assignedLicenses", true}, {"assignedPlans", true},
	{"authorizationInfo", false}, {"consentProvidedForMinor", false},
	{"createdDateTime", false}, {"creationType", false}, {"deletedDateTime", false}, {"employeeHireDate", false}, {"employeeLeaveDateTime", false},
	{"employeeOrgData", false}, {"employeeType", false}, {"externalUserState", false},
	{"externalUserStateChangeDateTime", false}, {"faxNumber", false}, {"identities", true}, {"imAddresses", true}, {"isManagementRestricted", false},
	{"isResourceAccount", false}, {"lastPasswordChangeDateTime", false}, {"legalAgeGroupClassification", false},
	{"licenseAssignmentStates", true}, {"onPremisesDistinguishedName", false}, {"onPremisesDomainName", false},
	{"onPremisesExtensionAttributes", false}, {"onPremisesImmutableId", false},
	{"onPremisesLastSyncDateTime", false}, {"onPremisesProvisioningErrors", true},
	{"onPremisesSamAccountName", false}, {"onPremisesSecurityIdentifier", false},
	{"onPremisesSyncEnabled", false}, {"onPremisesUserPrincipalName", false},
	{"passwordPolicies", false}, {"passwordProfile", false}, {"preferredDataLocation", false}, {"provisionedPlans", true}, {"securityIdentifier", false}, {"serviceProvisioningErrors", true}, {"showInAddressList", false},
	{"signInActivity", false}, {"signInSessionsValidFromDateTime", false}}

// lookupDeclared finds an unmodelled declared property by name
// (case-insensitive).
func lookupDeclared(name string) (prop, bool) {
	for i, d := range declared {
		if strings.EqualFold(d.name, name) {
			return firstDeclared + prop(i), true
		}
	}
	return 0, false
}

// propName is the JSON name of a modelled or declared property.
func propName(p prop) string {
	if p >= firstDeclared {
		return declared[p-firstDeclared].name
	}
	return props[p].name
}
