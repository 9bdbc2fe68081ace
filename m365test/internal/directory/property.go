package directory

import "strings"

// prop identifies one user property the directory models.
type prop uint8

const (
	pID prop = iota
	pAccountEnabled
	pBusinessPhones
	pCity
	pCompanyName
	pCountry
	pDepartment
	pDisplayName
	pEmployeeID
	pGivenName
	pJobTitle
	pMail
	pMailNickname
	pMobilePhone
	pOfficeLocation
	pOtherMails
	pPostalCode
	pPreferredLanguage
	pProxyAddresses
	pState
	pStreetAddress
	pSurname
	pUsageLocation
	pUserPrincipalName
	pUserType
	numProps

	// pVar is the range variable of an any() lambda, not a property.
	pVar prop = 255
)

// valueKind is the EDM type of a property.
type valueKind uint8

const (
	kindString     valueKind = iota // Edm.String, nullable
	kindBool                        // Edm.Boolean
	kindCollection                  // Collection(Edm.String)
)

// support says whether Graph accepts an operator on a property by default,
// only in an advanced query, or not at all.
type support uint8

const (
	unsupported support = iota
	byDefault
	advancedOnly
)

// propInfo is what Graph's documentation ("Advanced query capabilities on
// Microsoft Entra ID objects", the directory-objects filter table) says about
// filtering on one user property. ne and not are supported (advanced only)
// wherever eq is; in is supported wherever eq is. ge and le follow the
// table's own columns, which differ for a few properties (city has ge but
// not le, userPrincipalName and employeeId le but not ge): the fake refuses
// what the table leaves blank.
type propInfo struct {
	name       string
	kind       valueKind
	eq         support // eq, and in
	startsWith support
	null       support // eq null / ne null
	endsWith   bool    // endsWith, always advanced only
	ge, le     support // ge and le (the table's columns, one by one)
}

var props = [numProps]propInfo{
	pID:                {name: "id", eq: byDefault},
	pAccountEnabled:    {name: "accountEnabled", kind: kindBool, eq: byDefault, ge: advancedOnly, le: advancedOnly},
	pBusinessPhones:    {name: "businessPhones", kind: kindCollection, eq: byDefault},
	pCity:              {name: "city", eq: byDefault, startsWith: byDefault, null: advancedOnly, ge: byDefault},
	pCompanyName:       {name: "companyName", eq: advancedOnly, startsWith: advancedOnly, null: advancedOnly, ge: advancedOnly, le: advancedOnly},
	pCountry:           {name: "country", eq: byDefault, startsWith: byDefault, null: advancedOnly, ge: byDefault, le: byDefault},
	pDepartment:        {name: "department", eq: byDefault, startsWith: byDefault, null: advancedOnly, ge: byDefault, le: byDefault},
	pDisplayName:       {name: "displayName", eq: byDefault, startsWith: byDefault, null: advancedOnly},
	pEmployeeID:        {name: "employeeId", eq: byDefault, startsWith: byDefault, null: advancedOnly, le: advancedOnly},
	pGivenName:         {name: "givenName", eq: byDefault, startsWith: byDefault, null: advancedOnly, ge: byDefault, le: byDefault},
	pJobTitle:          {name: "jobTitle", eq: byDefault, startsWith: byDefault, null: advancedOnly, ge: byDefault, le: byDefault},
	pMail:              {name: "mail", eq: byDefault, startsWith: byDefault, null: advancedOnly, endsWith: true, ge: byDefault, le: byDefault},
	pMailNickname:      {name: "mailNickname", eq: byDefault, startsWith: byDefault, null: advancedOnly, ge: byDefault, le: byDefault},
	pMobilePhone:       {name: "mobilePhone", eq: advancedOnly, startsWith: advancedOnly, null: advancedOnly, ge: advancedOnly, le: advancedOnly},
	pOfficeLocation:    {name: "officeLocation", eq: advancedOnly, startsWith: advancedOnly, null: advancedOnly, ge: advancedOnly, le: advancedOnly},
	pOtherMails:        {name: "otherMails", kind: kindCollection, eq: byDefault, startsWith: byDefault, endsWith: true, ge: byDefault, le: byDefault},
	pPostalCode:        {name: "postalCode", eq: advancedOnly, startsWith: advancedOnly, null: advancedOnly, ge: advancedOnly, le: advancedOnly},
	pPreferredLanguage: {name: "preferredLanguage", eq: advancedOnly, startsWith: advancedOnly, null: advancedOnly, ge: advancedOnly, le: advancedOnly},
	pProxyAddresses:    {name: "proxyAddresses", kind: kindCollection, eq: byDefault, startsWith: byDefault, endsWith: true, ge: byDefault, le: byDefault},
	pState:             {name: "state", eq: byDefault, startsWith: byDefault, null: advancedOnly, ge: byDefault, le: byDefault},
	pStreetAddress:     {name: "streetAddress", eq: advancedOnly, startsWith: advancedOnly, null: advancedOnly, ge: advancedOnly, le: advancedOnly},
	pSurname:           {name: "surname", eq: byDefault, startsWith: byDefault, null: advancedOnly, ge: byDefault, le: byDefault},
	pUsageLocation:     {name: "usageLocation", eq: byDefault, startsWith: byDefault, ge: byDefault, le: byDefault},
	pUserPrincipalName: {name: "userPrincipalName", eq: byDefault, startsWith: byDefault, endsWith: true, le: byDefault},
	pUserType:          {name: "userType", eq: byDefault, null: advancedOnly},
}

// lookupProp resolves a property name case-insensitively, as Graph does.
func lookupProp(name string) (prop, bool) {
	for p := range numProps {
		if strings.EqualFold(props[p].name, name) {
			return p, true
		}
	}
	return 0, false
}

// defaultSelect is what Graph returns for a user when $select is absent, in
// Graph's order.
var defaultSelect = []prop{
	pBusinessPhones, pDisplayName, pGivenName, pJobTitle, pMail, pMobilePhone,
	pOfficeLocation, pPreferredLanguage, pSurname, pUserPrincipalName, pID,
}

// Properties returns the names of all user properties the directory models,
// in the order [User.MarshalJSON] writes them.
func Properties() []string {
	names := make([]string, numProps)
	for p := range numProps {
		names[p] = props[p].name
	}
	return names
}
