package directory

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// User is one Microsoft Graph user as the fake serves it. Empty strings are
// null in Graph's JSON (for example State for generated users); the
// collections are never nil for users a [Directory] returns.
type User struct {
	// Index is the generator index i of the user, or -1 for the Global
	// Admin. It is not a Graph property and is never marshaled.
	Index int

	ID                string
	AccountEnabled    bool
	BusinessPhones    []string
	City              string
	CompanyName       string
	Country           string
	Department        string
	DisplayName       string
	EmployeeID        string
	GivenName         string
	JobTitle          string
	Mail              string
	MailNickname      string
	MobilePhone       string
	OfficeLocation    string
	OtherMails        []string
	PostalCode        string
	PreferredLanguage string
	ProxyAddresses    []string
	State             string
	StreetAddress     string
	Surname           string
	UsageLocation     string
	UserPrincipalName string
	UserType          string

	// CreatedDateTime is when the user was created: by the demo data
	// rules for generated users and the Global Admin, the directory's
	// clock for users added later (see [Directory.SetClock]). The zero
	// time is null.
	CreatedDateTime time.Time
	// Identities are the user's sign-in identities besides the
	// userPrincipalName one, which Graph derives from userPrincipalName
	// and the directory always lists first.
	Identities []Identity
}

// str returns a string property; ok is false when it is null.
func (u *User) str(p prop) (string, bool) {
	var s string
	switch p {
	case pID:
		s = u.ID
	case pCity:
		s = u.City
	case pCompanyName:
		s = u.CompanyName
	case pCountry:
		s = u.Country
	case pDepartment:
		s = u.Department
	case pDisplayName:
		s = u.DisplayName
	case pEmployeeID:
		s = u.EmployeeID
	case pGivenName:
		s = u.GivenName
	case pJobTitle:
		s = u.JobTitle
	case pMail:
		s = u.Mail
	case pMailNickname:
		s = u.MailNickname
	case pMobilePhone:
		s = u.MobilePhone
	case pOfficeLocation:
		s = u.OfficeLocation
	case pPostalCode:
		s = u.PostalCode
	case pPreferredLanguage:
		s = u.PreferredLanguage
	case pState:
		s = u.State
	case pStreetAddress:
		s = u.StreetAddress
	case pSurname:
		s = u.Surname
	case pUsageLocation:
		s = u.UsageLocation
	case pUserPrincipalName:
		s = u.UserPrincipalName
	case pUserType:
		s = u.UserType
	}
	return s, s != ""
}

func (u *User) boolean(prop) bool { return u.AccountEnabled }

func (u *User) list(p prop) []string {
	switch p {
	case pBusinessPhones:
		return u.BusinessPhones
	case pOtherMails:
		return u.OtherMails
	case pProxyAddresses:
		return u.ProxyAddresses
	}
	return nil
}

// Get returns the value of the Graph property name (matched
// case-insensitively) as Graph's JSON would carry it: a string, nil for a
// null string, a bool, or a []string. ok is false for unknown properties.
func (u User) Get(name string) (value any, ok bool) {
	p, ok := lookupProp(name)
	if !ok {
		return nil, false
	}
	switch props[p].kind {
	case kindBool:
		return u.boolean(p), true
	case kindCollection:
		l := u.list(p)
		if l == nil {
			l = []string{}
		}
		return l, true
	}
	if s, ok := u.str(p); ok {
		return s, true
	}
	return nil, true
}

// MarshalJSON writes every property in Graph's JSON shape (camelCase names,
// null for absent strings, [] for empty collections).
func (u User) MarshalJSON() ([]byte, error) {
	all := make([]prop, numProps)
	for p := range numProps {
		all[p] = p
	}
	return u.appendJSON(nil, all), nil
}

// appendJSON appends u as a JSON object holding the properties ps.
func (u *User) appendJSON(dst []byte, ps []prop) []byte { return u.appendJSONLic(dst, ps, nil) }

// appendJSONLic is appendJSON with the license properties from lic.
func (u *User) appendJSONLic(dst []byte, ps []prop, lic Licenses) []byte {
	dst = append(dst, '{')
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, propName(p)...)
		dst = append(dst, '"', ':')
		if p >= firstDeclared {
			var ok bool
			if dst, ok = appendLicenseProp(dst, u, p, lic); ok {
				continue
			}
			switch p {
			case pIdentities:
				dst = u.appendIdentities(dst)
				continue
			case pCreatedDateTime:
				dst = appendDateTime(dst, u.CreatedDateTime)
				continue
			}
			if declared[p-firstDeclared].collection {
				dst = append(dst, '[', ']')
			} else {
				dst = append(dst, "null"...)
			}
			continue
		}
		switch props[p].kind {
		case kindBool:
			if u.boolean(p) {
				dst = append(dst, "true"...)
			} else {
				dst = append(dst, "false"...)
			}
		case kindCollection:
			dst = append(dst, '[')
			for j, s := range u.list(p) {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendJSONString(dst, s)
			}
			dst = append(dst, ']')
		default:
			if s, ok := u.str(p); ok {
				dst = appendJSONString(dst, s)
			} else {
				dst = append(dst, "null"...)
			}
		}
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string. Plain printable ASCII is
// copied directly; anything else goes through encoding/json so escaping
// matches the standard library exactly.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// MarshalSelected writes u as Graph answers GET /users/{id}?$select=...:
// only the properties named in sel (case-insensitive), or Graph's default
// set when sel is empty. An unknown property is a *[QueryError] (400
// BadRequest), as in [Directory.Query].
func (u User) MarshalSelected(sel []string) ([]byte, error) {
	ps, err := parseSelect(sel)
	if err != nil {
		return nil, err
	}
	return u.appendJSON(nil, ps), nil
}

// AppendSelected appends u as Graph's single-user answer shapes it: the
// properties named by $select (split at commas), or Graph's default set
// when there are none, "*" for all. It returns the property names written,
// or the *[QueryError] Graph answers for an unknown property.
func (u User) AppendSelected(dst []byte, names []string) ([]byte, []string, error) {
	return u.appendSelected(dst, names, nil)
}

// appendSelected is AppendSelected with the license properties from lic.
func (u User) appendSelected(dst []byte, names []string, lic Licenses) ([]byte, []string, error) {
	sel, err := parseSelect(names)
	if err != nil {
		return dst, nil, err
	}
	out := make([]string, len(sel))
	for i, p := range sel {
		out[i] = propName(p)
	}
	return u.appendJSONLic(dst, sel, lic), out, nil
}

// appendIdentities appends the user's identities (objectIdentity
// collection): first the userPrincipalName identity, issued by the UPN's
// domain (for a B2B guest, whose UPN is name_home#EXT#@{tenant domain},
// the tenant's domain: the user list reference, example 8), then
// [User.Identities].
func (u *User) appendIdentities(dst []byte) []byte {
	upn := u.UserPrincipalName
	_, domain, _ := strings.Cut(upn, "@")
	dst = append(dst, `[{"signInType":"userPrincipalName","issuer":`...)
	dst = appendJSONString(dst, domain)
	dst = append(dst, `,"issuerAssignedId":`...)
	dst = appendJSONString(dst, upn)
	dst = append(dst, '}')
	for _, id := range u.Identities {
		dst = append(dst, `,{"signInType":`...)
		dst = appendJSONString(dst, id.SignInType)
		dst = append(dst, `,"issuer":`...)
		dst = appendJSONString(dst, id.Issuer)
		dst = append(dst, `,"issuerAssignedId":`...)
		if id.IssuerAssignedID == "" {
			dst = append(dst, "null"...)
		} else {
			dst = appendJSONString(dst, id.IssuerAssignedID)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
