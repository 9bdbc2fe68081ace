package usersync

import (
	"crypto/sha256"
	"encoding/binary"
)

// User is one synced Microsoft Entra user: the properties usersync asks
// Graph for ($select) and stores. The JSON names are Graph's, so a Graph
// page decodes straight into it.
type User struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	GivenName         string `json:"givenName"`
	Surname           string `json:"surname"`
	Mail              string `json:"mail"`
	JobTitle          string `json:"jobTitle"`
	Department        string `json:"department"`
	CompanyName       string `json:"companyName"`
	OfficeLocation    string `json:"officeLocation"`
	StreetAddress     string `json:"streetAddress"`
	City              string `json:"city"`
	State             string `json:"state"`
	Country           string `json:"country"`
	UsageLocation     string `json:"usageLocation"`
	AccountEnabled    bool   `json:"accountEnabled"`

	// Read only when the customer's user filter needs them (see
	// ExtraProperties); empty otherwise.
	PostalCode        string   `json:"postalCode,omitempty"`
	MobilePhone       string   `json:"mobilePhone,omitempty"`
	PreferredLanguage string   `json:"preferredLanguage,omitempty"`
	MailNickname      string   `json:"mailNickname,omitempty"`
	ProxyAddresses    []string `json:"proxyAddresses,omitempty"`

	// Teams is the user's Teams Phone System configuration, joined by ID
	// from /admin/teams/userConfigurations; nil when the user has none or
	// the source does not read it (GraphOptions.NoTeams).
	Teams *TeamsConfig `json:"teams,omitempty"`
}

// Properties are the Graph user properties a Source always reads
// ($select), in User's order.
var Properties = []string{
	"id", "userPrincipalName", "displayName", "givenName", "surname", "mail",
	"jobTitle", "department", "companyName", "officeLocation", "streetAddress",
	"city", "state", "country", "usageLocation", "accountEnabled",
}

// ExtraProperties are the other Graph properties User holds. A Source
// reads them only when a query's filter needs them (Query.Select).
var ExtraProperties = []string{
	"postalCode", "mobilePhone", "preferredLanguage", "mailNickname", "proxyAddresses",
}

// HashSize is the length of a content hash from User.Hash.
const HashSize = 16

// Hash returns a digest of every property of u. Sinks compare it with the
// stored one to tell changed users from unchanged ones without comparing
// field by field. It is SHA-256 truncated to 128 bits over length-prefixed
// fields, so a user cannot craft attribute values that hide a change.
func (u *User) Hash() [HashSize]byte {
	var buf [512]byte
	b := buf[:0]
	for _, s := range [...]string{
		u.ID, u.UserPrincipalName, u.DisplayName, u.GivenName, u.Surname, u.Mail,
		u.JobTitle, u.Department, u.CompanyName, u.OfficeLocation, u.StreetAddress,
		u.City, u.State, u.Country, u.UsageLocation,
		u.PostalCode, u.MobilePhone, u.PreferredLanguage, u.MailNickname,
	} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(u.ProxyAddresses)))
	for _, a := range u.ProxyAddresses {
		b = binary.AppendUvarint(b, uint64(len(a)))
		b = append(b, a...)
	}
	if u.AccountEnabled {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendTeamsHash(b, u.Teams)
	sum := sha256.Sum256(b)
	var h [HashSize]byte
	copy(h[:], sum[:HashSize])
	return h
}
