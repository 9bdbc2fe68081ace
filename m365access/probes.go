package m365access

import (
	"net/url"
	"strings"
	"time"
)

// permissionProbes are the Graph requests that check an application
// permission without reading its grant: each is the cheapest safe request
// (a read of at most one object, or an empty page) that Graph allows only
// with that permission or a broader one. They are used when the app may
// not read its service principal's app role assignments
// (Application.Read.All). A 2xx answer shows the permission (or a broader
// one) granted, 403 not granted. A probe cannot tell a permission from a
// narrower one that allows the same request: GET /users answers with
// User.ReadBasic.All too, so the User.Read.All probe passes with it.
//
// A permission missing here has no safe probe (Mail.Send would send a
// message; write permissions would write): it is reported "not
// verifiable", never guessed.
var permissionProbes = map[string]func(now time.Time) string{
	"user.read.all":                   fixedProbe("/users?$top=1&$select=id"),
	"user.readbasic.all":              fixedProbe("/users?$top=1&$select=id"),
	"organization.read.all":           fixedProbe("/organization?$select=id"),
	"teamsuserconfiguration.read.all": fixedProbe("/admin/teams/userConfigurations?$top=1&$select=id"),
	// Call records started from now on: an empty page.
	"callrecords.read.all": func(now time.Time) string {
		return "/communications/callRecords?$filter=" + url.QueryEscape("startDateTime ge "+now.UTC().Truncate(time.Second).Format(time.RFC3339))
	},
}

func fixedProbe(path string) func(time.Time) string {
	return func(time.Time) string { return path }
}

// permissionProbe returns the probe of an application permission.
func permissionProbe(permission string, now time.Time) (string, bool) {
	p, ok := permissionProbes[strings.ToLower(permission)]
	if !ok {
		return "", false
	}
	return p(now), true
}
