package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

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
	if text := strings.TrimSpace(q.Get("q")); text != "" {
		byFilter := opts.Match
		opts.Match = func(u *usersync.User) bool { return (byFilter == nil || byFilter(u)) && searchMatch(u, text) }
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

// searchMatch reports whether a user's name, UPN, mail or a phone number
// contains text, case-insensitively; for numbers, digits are compared
// without spaces, dashes or the tel: prefix.
func searchMatch(u *usersync.User, text string) bool {
	t := strings.ToLower(text)
	for _, v := range []string{u.UserPrincipalName, u.DisplayName, u.Mail, u.GivenName + " " + u.Surname} {
		if strings.Contains(strings.ToLower(v), t) {
			return true
		}
	}
	digits := phoneDigits(text)
	if digits == "" || u.Teams == nil {
		return false
	}
	for _, n := range append([]string{u.Teams.LineURI(), u.MobilePhone}, numbersOf(u.Teams)...) {
		if n != "" && strings.Contains(phoneDigits(n), digits) {
			return true
		}
	}
	return false
}

func numbersOf(t *usersync.TeamsConfig) []string {
	out := make([]string, 0, len(t.TelephoneNumbers))
	for _, n := range t.TelephoneNumbers {
		out = append(out, n.Number)
	}
	return out
}

// phoneDigits keeps the digits of a phone number ("" when text has
// letters other than a tel: prefix, or fewer than 3 digits).
func phoneDigits(text string) string {
	text = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(text)), "tel:")
	var b strings.Builder
	for _, r := range text {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return ""
		}
	}
	if b.Len() < 3 {
		return ""
	}
	return b.String()
}

// scopePreviewJSON is the ScopePreview resource: what saving userFilter
// as the sync scope would do to the synced users at the next sync.
type scopePreviewJSON struct {
	UserFilter string `json:"userFilter"`
	// Total is the number of synced users now.
	Total int `json:"total"`
	// Keep are those the new scope still matches; Remove those the next
	// sync removes.
	Keep   int `json:"keep"`
	Remove int `json:"remove"`
	// RemoveSample names up to 10 of the users the next sync removes.
	RemoveSample []string `json:"removeSample"`
	// ConfirmRemoval is true when the next sync would remove more than a
	// tenth of the synced users: a person should confirm the new scope.
	ConfirmRemoval bool `json:"confirmRemoval"`
	// AddedKnown is false: users outside the current scope are not
	// stored, so those the new scope adds are counted by the next sync.
	AddedKnown bool `json:"addedKnown"`
}

// previewScope is GET /customers/{customer}/users/scope-preview: what the
// next sync would remove if userFilter were the sync scope. It changes
// nothing.
func (a *admin) previewScope(w http.ResponseWriter, r *http.Request, customer string) {
	if a.c.Users == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "the synced users are not configured"})
		return
	}
	userFilter := r.URL.Query().Get("userFilter")
	plan, err := filter.Compile(userFilter)
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation, Detail: "some fields are invalid",
			Action: "fixFilter", Fields: []FieldError{{Field: "userFilter", Code: "invalid", Message: safeText(err.Error(), 300)}}})
		return
	}
	total, err := a.c.Users.Count(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "count users", err)
		return
	}
	out := scopePreviewJSON{UserFilter: userFilter, Total: total, RemoveSample: []string{}}
	opts := sqlsink.ListOptions{Limit: sqlsink.MaxPageSize, Match: func(u *usersync.User) bool { return !plan.Match(u) }}
	for {
		page, err := a.c.Users.List(r.Context(), customer, opts)
		if err != nil {
			a.c.fail(w, r, "list users", err)
			return
		}
		for i := range page.Users {
			if len(out.RemoveSample) < 10 {
				out.RemoveSample = append(out.RemoveSample, page.Users[i].UserPrincipalName)
			}
		}
		out.Remove += len(page.Users)
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	out.Keep = total - out.Remove
	out.ConfirmRemoval = out.Remove*10 > total
	writeJSON(w, http.StatusOK, out)
}
