package usersync

import (
	"slices"

	"github.com/tenantgate/tenantgate/usersync/filter"
)

// CompileFilter compiles a user filter in Get-CsOnlineUser syntax (see
// package usersync/filter) into a Query: the Graph $filter, the advanced
// query flag, the extra properties the filter reads, the Teams part
// (Teams, TeamsFilter) and the client-side remainder, which re-checks
// every Teams part after the join. A filter past Graph's query limits
// becomes a Query with Split set (several $filter queries merged by user
// ID). It is the Syncer's default Compile.
func CompileFilter(text string) (Query, error) {
	p, err := filter.Compile(text)
	if err != nil {
		return Query{}, err
	}
	q := Query{Filter: p.GraphFilter, Advanced: p.Advanced, Teams: p.Teams, TeamsFilter: p.TeamsFilter}
	if len(p.Queries) > 1 {
		// Past Graph's query limits: read it as several queries.
		q.Filter, q.Advanced = "", false
		for _, sq := range p.Queries {
			q.Split = append(q.Split, Subquery{Filter: sq.Filter, Advanced: sq.Advanced})
		}
	}
	for _, prop := range p.Select {
		if slices.Contains(ExtraProperties, prop) {
			q.Select = append(q.Select, prop)
		}
	}
	if p.GraphFilter != "" || len(p.ClientSide) > 0 || p.Teams {
		q.MatchAll = func(u *User) bool { return p.Match(u) }
	}
	if len(p.ClientSide) > 0 || p.Teams { // every Teams part is re-checked after the join
		q.Match = func(u *User) bool { return p.MatchClientSide(u) }
	}
	return q, nil
}

// Value returns the user's Graph property for the filter matcher: an empty
// string or list reads as null, as Graph returns unset properties.
func (u *User) Value(graphProperty string) filter.Value {
	if v, ok := u.teamsValue(graphProperty); ok {
		return v
	}
	var s string
	switch graphProperty {
	case "accountEnabled":
		return filter.BoolValue(u.AccountEnabled)
	case "proxyAddresses":
		return filter.ListValue(u.ProxyAddresses)
	case "id":
		s = u.ID
	case "userPrincipalName":
		s = u.UserPrincipalName
	case "displayName":
		s = u.DisplayName
	case "givenName":
		s = u.GivenName
	case "surname":
		s = u.Surname
	case "mail":
		s = u.Mail
	case "jobTitle":
		s = u.JobTitle
	case "department":
		s = u.Department
	case "companyName":
		s = u.CompanyName
	case "officeLocation":
		s = u.OfficeLocation
	case "streetAddress":
		s = u.StreetAddress
	case "city":
		s = u.City
	case "state":
		s = u.State
	case "country":
		s = u.Country
	case "usageLocation":
		s = u.UsageLocation
	case "postalCode":
		s = u.PostalCode
	case "mobilePhone":
		s = u.MobilePhone
	case "preferredLanguage":
		s = u.PreferredLanguage
	case "mailNickname":
		s = u.MailNickname
	}
	if s == "" {
		return filter.Value{}
	}
	return filter.StringValue(s)
}
