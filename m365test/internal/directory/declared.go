package directory

import "strings"

// declaredProp is a property Microsoft Graph v1.0 declares on
// microsoft.graph.user that this directory keeps no value for. $select
// of one answers null (or [] for a collection), as Graph does for a user
// without a value; filtering or sorting on one stays refused.
type declaredProp struct {
	name       string
	collection bool
	// single marks the SharePoint profile properties Graph returns only
	// for a single user: on a list, $select of one answers 501.
	single bool
}

// firstDeclared is the prop number of declared[0]; the props of declared
// follow it. It stays above numProps and below pVar.
const firstDeclared prop = 64

// declared lists the v1.0 user properties (Microsoft Graph "user
// resource type", v1.0) that are not modelled, and the SharePoint profile
// properties Graph returns only for a single user (single). Left out, so
// still refused: navigation properties (manager, memberOf, ...), and those
// needing another permission or licence (mailboxSettings,
// customSecurityAttributes, print). signInActivity is
// declared here (null: the fake records no sign-ins); the Graph handler
// refuses it without AuditLog.Read.All, as Graph does.
var declared = []declaredProp{
	{"ageGroup", false, false}, {"assignedLicenses", true, false}, {"assignedPlans", true, false},
	{"authorizationInfo", false, false}, {"consentProvidedForMinor", false, false},
	{"createdDateTime", false, false}, {"creationType", false, false}, {"deletedDateTime", false, false}, {"employeeHireDate", false, false}, {"employeeLeaveDateTime", false, false},
	{"employeeOrgData", false, false}, {"employeeType", false, false}, {"externalUserState", false, false},
	{"externalUserStateChangeDateTime", false, false}, {"faxNumber", false, false}, {"identities", true, false}, {"imAddresses", true, false}, {"isManagementRestricted", false, false},
	{"isResourceAccount", false, false}, {"lastPasswordChangeDateTime", false, false}, {"legalAgeGroupClassification", false, false},
	{"licenseAssignmentStates", true, false}, {"onPremisesDistinguishedName", false, false}, {"onPremisesDomainName", false, false},
	{"onPremisesExtensionAttributes", false, false}, {"onPremisesImmutableId", false, false},
	{"onPremisesLastSyncDateTime", false, false}, {"onPremisesProvisioningErrors", true, false},
	{"onPremisesSamAccountName", false, false}, {"onPremisesSecurityIdentifier", false, false},
	{"onPremisesSyncEnabled", false, false}, {"onPremisesUserPrincipalName", false, false},
	{"passwordPolicies", false, false}, {"passwordProfile", false, false}, {"preferredDataLocation", false, false}, {"provisionedPlans", true, false}, {"securityIdentifier", false, false}, {"serviceProvisioningErrors", true, false}, {"showInAddressList", false, false},
	{"signInActivity", false, false}, {"signInSessionsValidFromDateTime", false, false},
	// Single user only (user list reference: "only supported when
	// retrieving a single user"; on a list "returns a 501 Not
	// Implemented error code"). The fake keeps no SharePoint profile.
	{"aboutMe", false, true}, {"birthday", false, true}, {"hireDate", false, true},
	{"interests", true, true}, {"mySite", false, true}, {"pastProjects", true, true},
	{"preferredName", false, true}, {"responsibilities", true, true}, {"schools", true, true},
	{"skills", true, true}}

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
