package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/filter"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// userJSON is the User resource: a synced user's Entra ID properties and,
// flattened, its Teams Phone System configuration as Get-CsOnlineUser
// shows it. A user without a Teams configuration has a null lineUri,
// enterpriseVoiceEnabled false and empty lists.
type userJSON struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	GivenName         string   `json:"givenName"`
	Surname           string   `json:"surname"`
	Mail              string   `json:"mail"`
	JobTitle          string   `json:"jobTitle"`
	Department        string   `json:"department"`
	CompanyName       string   `json:"companyName"`
	OfficeLocation    string   `json:"officeLocation"`
	StreetAddress     string   `json:"streetAddress"`
	City              string   `json:"city"`
	State             string   `json:"state"`
	Country           string   `json:"country"`
	UsageLocation     string   `json:"usageLocation"`
	AccountEnabled    bool     `json:"accountEnabled"`
	PostalCode        string   `json:"postalCode,omitempty"`
	MobilePhone       string   `json:"mobilePhone,omitempty"`
	PreferredLanguage string   `json:"preferredLanguage,omitempty"`
	MailNickname      string   `json:"mailNickname,omitempty"`
	ProxyAddresses    []string `json:"proxyAddresses,omitempty"`

	LineURI                *string               `json:"lineUri"`
	EnterpriseVoiceEnabled bool                  `json:"enterpriseVoiceEnabled"`
	AccountType            string                `json:"accountType"`
	FeatureTypes           []string              `json:"featureTypes"`
	TelephoneNumbers       []telephoneNumberJSON `json:"telephoneNumbers"`
	Policies               map[string]string     `json:"policies"`
}

type telephoneNumberJSON struct {
	Number   string `json:"number"`
	Category string `json:"category"`
}

func userOf(u *usersync.User) userJSON {
	out := userJSON{
		ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, GivenName: u.GivenName,
		Surname: u.Surname, Mail: u.Mail, JobTitle: u.JobTitle, Department: u.Department, CompanyName: u.CompanyName,
		OfficeLocation: u.OfficeLocation, StreetAddress: u.StreetAddress, City: u.City, State: u.State,
		Country: u.Country, UsageLocation: u.UsageLocation, AccountEnabled: u.AccountEnabled,
		PostalCode: u.PostalCode, MobilePhone: u.MobilePhone, PreferredLanguage: u.PreferredLanguage,
		MailNickname: u.MailNickname, ProxyAddresses: u.ProxyAddresses,
		FeatureTypes: []string{}, TelephoneNumbers: []telephoneNumberJSON{}, Policies: map[string]string{},
	}
	if t := u.Teams; t != nil {
		if l := t.LineURI(); l != "" {
			out.LineURI = &l
		}
		out.EnterpriseVoiceEnabled, out.AccountType = t.EnterpriseVoiceEnabled, t.AccountType
		if t.FeatureTypes != nil {
			out.FeatureTypes = t.FeatureTypes
		}
		for _, n := range t.TelephoneNumbers {
			out.TelephoneNumbers = append(out.TelephoneNumbers, telephoneNumberJSON{Number: n.Number, Category: n.Category})
		}
		for k, v := range t.Policies {
			out.Policies[k] = v
		}
	}
	return out
}

// userPageJSON is the UserPage resource.
type userPageJSON struct {
	Users []userJSON `json:"users"`
	Next  string     `json:"next,omitempty"`
	// Total is the number of stored users, or of those matching filter.
	Total int `json:"total"`
}

// listUsers is GET /customers/{customer}/users: the synced users, paged,
// optionally filtered by filter= in the user filter language, evaluated
// on the stored users (Teams attributes included).
func (a *admin) listUsers(w http.ResponseWriter, r *http.Request, customer string) {
	if a.c.Users == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "the synced users are not configured"})
		return
	}
	q := r.URL.Query()
	opts := sqlsink.ListOptions{After: q.Get("after")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > sqlsink.MaxPageSize {
			writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadQuery, Detail: "limit must be 1 to 1000",
				Fields: []FieldError{{Field: "limit", Code: "invalid", Message: "limit must be 1 to 1000"}}})
			return
		}
		opts.Limit = n
	}
	if text := q.Get("filter"); text != "" {
		plan, err := filter.Compile(text)
		if err != nil {
			writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadQuery, Detail: "the filter cannot be used: correct it",
				Fields: []FieldError{{Field: "filter", Code: "invalid", Message: safeText(err.Error(), 300)}}})
			return
		}
		opts.Match = func(u *usersync.User) bool { return plan.Match(u) }
	}
	page, err := a.c.Users.List(r.Context(), customer, opts)
	if errors.Is(err, sqlsink.ErrBadCursor) {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadCursor, Detail: "after must be the next cursor of a previous page",
			Fields: []FieldError{{Field: "after", Code: "invalid", Message: "not a cursor this API returned"}}})
		return
	}
	if err != nil {
		a.c.fail(w, r, "list users", err)
		return
	}
	var total int
	if opts.Match != nil {
		total, err = a.c.Users.CountMatching(r.Context(), customer, opts.Match)
	} else {
		total, err = a.c.Users.Count(r.Context(), customer)
	}
	if err != nil {
		a.c.fail(w, r, "count users", err)
		return
	}
	out := userPageJSON{Users: make([]userJSON, len(page.Users)), Next: page.Next, Total: total}
	for i := range page.Users {
		out.Users[i] = userOf(&page.Users[i])
	}
	writeJSON(w, http.StatusOK, out)
}
