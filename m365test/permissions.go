package m365test

import (
	"fmt"
	"net/http"
	"strings"
)

// CodeScopeUnknown is the AADSTS code for a scope that does not exist on
// the resource (a misspelt permission).
const CodeScopeUnknown = 650053

// graphPermissions are the Microsoft Graph permissions (delegated scopes
// and app roles) the fake knows, lower-case. An app registration can
// only require a permission Graph defines, and a sign-in can only request
// one; a misspelt name fails as it does against Entra ID.
var graphPermissions = map[string]bool{}

// graphPermissionNames are the same permissions in Graph's spelling.
var graphPermissionNames = []string{
	"User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite", "User.ReadWrite.All",
	"Directory.Read.All", "Directory.ReadWrite.All", "Organization.Read.All", "Organization.ReadWrite.All",
	"Domain.Read.All", "Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All",
	"Application.Read.All", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
	"DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All",
	"AuditLog.Read.All", "Reports.Read.All", "Policy.Read.All", "RoleManagement.Read.Directory",
	"Mail.Send", "Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic", "Calendars.Read", "Contacts.Read",
	"Files.Read.All", "Sites.Read.All", "Presence.Read.All", "OnlineMeetings.Read.All",
	"CallRecords.Read.All", "CallRecords.Read.PstnCalls",
	"TeamsUserConfiguration.Read.All", "TeamsTelephoneNumber.Read.All", "TeamsTelephoneNumber.ReadWrite.All",
	"TeamsPolicyUserAssign.ReadWrite.All", "LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All",
	"TeamSettings.Read.All", "Team.ReadBasic.All", "Channel.ReadBasic.All", "TeamMember.Read.All",
}

func init() {
	for _, p := range graphPermissionNames {
		graphPermissions[strings.ToLower(p)] = true
	}
}

// checkPermissions returns an error naming the first of perms Graph does
// not define.
func checkPermissions(kind string, perms []string) error {
	for _, p := range perms {
		if !graphPermissions[strings.ToLower(p)] {
			return fmt.Errorf("m365test: AddApp: %s %q is not a Microsoft Graph permission the fake knows", kind, p)
		}
	}
	return nil
}

// unknownScope is Entra ID's answer to a request naming a Graph
// permission that does not exist.
func unknownScope(perm string) *entraError {
	return newEntraError(http.StatusBadRequest, "invalid_scope", CodeScopeUnknown,
		"The application asked for scope '%s' that doesn't exist on the resource '%s'. Contact the app vendor.", perm, GraphAppID)
}
