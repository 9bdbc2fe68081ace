package m365test

import (
	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// EvalUserFilter evaluates a Graph $filter on one user exactly as the fake's
// GET /v1.0/users does, so tests of code that compiles filters (such as
// usersync/filter) can check their output against the fake without a
// server. advanced says whether the request carried the advanced-query
// headers (ConsistencyLevel: eventual and $count=true); a filter Graph would
// refuse without them returns the same *QueryError-shaped error the
// endpoint would answer.
//
// user maps Graph property names to values: strings, accountEnabled as a
// bool, proxyAddresses as []string or []any of strings. Missing properties
// are null.
func EvalUserFilter(filter string, advanced bool, user map[string]any) (bool, error) {
	e, err := directory.ParseFilter(filter)
	if err != nil {
		return false, err
	}
	if err := e.Validate(advanced); err != nil {
		return false, err
	}
	s := func(k string) string { v, _ := user[k].(string); return v }
	du := directory.User{
		UserPrincipalName: s("userPrincipalName"), Mail: s("mail"), DisplayName: s("displayName"),
		MailNickname: s("mailNickname"), UsageLocation: s("usageLocation"), Country: s("country"),
		City: s("city"), OfficeLocation: s("officeLocation"), Department: s("department"),
		JobTitle: s("jobTitle"), CompanyName: s("companyName"), GivenName: s("givenName"),
		Surname: s("surname"), State: s("state"), StreetAddress: s("streetAddress"),
		PostalCode: s("postalCode"), MobilePhone: s("mobilePhone"), PreferredLanguage: s("preferredLanguage"),
	}
	du.AccountEnabled, _ = user["accountEnabled"].(bool)
	switch l := user["proxyAddresses"].(type) {
	case []string:
		du.ProxyAddresses = append(du.ProxyAddresses, l...)
	case []any:
		for _, x := range l {
			if v, ok := x.(string); ok {
				du.ProxyAddresses = append(du.ProxyAddresses, v)
			}
		}
	}
	return e.Match(du), nil
}

// CheckUserQueryLimits applies Graph's query-size limits exactly as the
// fake's GET /v1.0/users does: at most 15 expressions (each comparison,
// each `in` value) in a filter with `in` or `or` and `eq` or `in` values of
// at most 120 characters in a plain query; a URL of at most 2,048
// characters in an advanced query (advanced: ConsistencyLevel: eventual and
// $count=true). urlLen is the request URL's length as sent. A malformed
// filter returns its parse error.
func CheckUserQueryLimits(filter string, advanced bool, urlLen int) error {
	e, err := directory.ParseFilter(filter)
	if err != nil {
		return err
	}
	return e.CheckLimits(advanced, urlLen)
}
