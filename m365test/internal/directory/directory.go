package directory

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxUsers is the largest number of generated users a [Directory] holds: the
// five-digit numbering of the demo data keeps listing order equal to
// displayName and userPrincipalName order up to this size.
const MaxUsers = 100_000

// Demo data tables, indexed as package m365test's documentation ("Demo
// data") specifies.
var (
	locations = [10]struct{ usage, country, city, office string }{
		{"US", "United States", "Seattle", "Seattle Office"},
		{"GB", "United Kingdom", "London", "London Office"},
		{"DE", "Germany", "Berlin", "Berlin Office"},
		{"FR", "France", "Paris", "Paris Office"},
		{"IT", "Italy", "Milan", "Milan Office"},
		{"ES", "Spain", "Madrid", "Madrid Office"},
		{"NL", "Netherlands", "Amsterdam", "Amsterdam Office"},
		{"SE", "Sweden", "Stockholm", "Stockholm Office"},
		{"PL", "Poland", "Warsaw", "Warsaw Office"},
		{"JP", "Japan", "Tokyo", "Tokyo Office"},
	}
	departments = [5]string{"Sales", "Engineering", "Support", "Finance", "Marketing"}
	jobTitles   = [4]string{"Engineer", "Manager", "Analyst", "Director"}
)

// Directory is the user list of one fake tenant. Users are computed from
// their index on demand; the only state built after [New] is an index from
// object ID to user, on the first lookup by ID. A Directory is safe for
// concurrent use.
type Directory struct {
	tenantID    string // as given
	tenantKey   string // lower-case tenant ID, the UUID name prefix
	domain      string
	displayName string
	n           int
	admin       User
	adminUUID   [16]byte
	tokenKey    [32]byte // HMAC key of skip tokens

	lic Licenses // nil: no licenses (SetLicenses)

	idOnce sync.Once
	byID   map[[16]byte]int32 // object ID -> generator index

	mu sync.Mutex              // serializes changes (see edit.go)
	ov atomic.Pointer[overlay] // changes since New; nil when none
	// hist are the overlays published, with when, for queries that read
	// the directory as it was (KeepHistory); guarded by mu.
	hist     []histEntry
	histNow  func() time.Time // nil: no history kept
	histKeep time.Duration
	// clock stamps the createdDateTime of users added after New (nil:
	// one second after the previous user's); set by SetClock.
	clock func() time.Time
}

// New returns the directory of the tenant tenantID (its GUID) with verified
// domain domain and display name displayName, holding n generated users plus
// the Global Admin. It panics if n is negative or above [MaxUsers], or if
// domain is empty: those are programming errors of the caller.
//
// New does no per-user work: building a directory of 50,000 users takes well
// under a microsecond.
func New(tenantID, domain, displayName string, n int) *Directory {
	if n < 0 || n > MaxUsers {
		panic(fmt.Sprintf("directory: n = %d is outside [0, %d]", n, MaxUsers))
	}
	if domain == "" {
		panic("directory: empty domain")
	}
	d := &Directory{
		tenantID:    tenantID,
		tenantKey:   strings.ToLower(tenantID),
		domain:      domain,
		displayName: displayName,
		n:           n,
	}
	// Skip tokens are bound to this tenant and its shape. The key is derived,
	// not random, so a fake cloud rebuilt with the same tenant still accepts
	// the nextLinks it handed out; it is tamper evidence, not a secret.
	d.tokenKey = sha256.Sum256([]byte("tenantgate m365test skiptoken v1\x00" + d.tenantKey + "\x00" + domain + "\x00" + displayName + "\x00" + strconv.Itoa(n)))
	upn := "admin@" + domain
	loc := locations[0]
	d.adminUUID = d.uuid(-1)
	d.admin = User{
		Index:             -1,
		ID:                formatUUID(d.adminUUID),
		AccountEnabled:    true,
		BusinessPhones:    []string{},
		City:              loc.city,
		CompanyName:       displayName,
		Country:           loc.country,
		Department:        "Administration",
		DisplayName:       "Global Admin",
		GivenName:         "Global",
		JobTitle:          "Global Administrator",
		Mail:              upn,
		MailNickname:      "admin",
		OfficeLocation:    loc.office,
		OtherMails:        []string{},
		ProxyAddresses:    []string{"SMTP:" + upn},
		Surname:           "Admin",
		UsageLocation:     loc.usage,
		UserPrincipalName: upn,
		UserType:          "Member",
		CreatedDateTime:   AdminCreated,
	}
	return d
}

// TenantID returns the tenant ID the directory was created with.
func (d *Directory) TenantID() string { return d.tenantID }

// Domain returns the tenant's verified domain.
func (d *Directory) Domain() string { return d.domain }

// DisplayName returns the tenant's display name (every user's companyName).
func (d *Directory) DisplayName() string { return d.displayName }

// N returns the number of generated users (the Global Admin not
// included): those of New plus those [Directory.Add] added, deleted ones
// included.
func (d *Directory) N() int { return d.n + d.ov.Load().addedUsers() }

// Len returns the number of users a listing without filter returns: N()+1
// less the deleted users.
func (d *Directory) Len() int {
	ov := d.ov.Load()
	return d.n + 1 + ov.addedUsers() - ov.deletedUsers()
}

// positions returns the number of listing positions, deleted users'
// included.
func (d *Directory) positions() int { return positionsOf(d.n, d.ov.Load()) }

// positionsOf is positions with overlay ov.
func positionsOf(n int, ov *overlay) int { return n + 1 + ov.addedUsers() }

// Admin returns the tenant's Global Admin.
func (d *Directory) Admin() User { return d.admin.clone() }

// UserAt returns generated user i, as changed since (a deleted user is
// returned as it was). It panics if i is outside [0, N()).
func (d *Directory) UserAt(i int) User {
	if n := d.N(); i < 0 || i >= n {
		panic(fmt.Sprintf("directory: user index %d outside [0, %d)", i, n))
	}
	if u, ok := d.ov.Load().changedUser(i); ok {
		return u.clone()
	}
	return d.generate(i)
}

// User returns the user whose object ID or userPrincipalName is idOrUPN,
// both matched case-insensitively, as Graph's /users/{id | userPrincipalName}
// does.
func (d *Directory) User(idOrUPN string) (User, bool) {
	i, ok := d.lookup(idOrUPN)
	if !ok {
		return User{}, false
	}
	return d.current(i)
}

// lookup returns the generator index (-1 for the Global Admin) of the
// user whose object ID or userPrincipalName is idOrUPN, deleted or not.
func (d *Directory) lookup(idOrUPN string) (int, bool) {
	if u, ok := parseUUID(idOrUPN); ok {
		if u == d.adminUUID {
			return -1, true
		}
		if i := d.indexOf(u); i >= 0 {
			return i, true
		}
		if i, ok := d.ov.Load().addedIndex(u); ok {
			return i, true
		}
		return 0, false
	}
	if i, ok := d.ov.Load().customIndex(idOrUPN); ok {
		return i, true
	}
	local, domain, ok := strings.Cut(idOrUPN, "@")
	if !ok || !strings.EqualFold(domain, d.domain) {
		return 0, false
	}
	if strings.EqualFold(local, "admin") {
		return -1, true
	}
	if len(local) != 9 || !strings.EqualFold(local[:4], "user") {
		return 0, false
	}
	i := 0
	for _, c := range []byte(local[4:]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	if i >= d.N() {
		return 0, false
	}
	return i, true
}

// current returns user i (-1: the Global Admin) as it is now; false when
// it was deleted.
func (d *Directory) current(i int) (User, bool) {
	ov := d.ov.Load()
	if ov.isDeleted(i) {
		return User{}, false
	}
	if u, ok := ov.changedUser(i); ok {
		return u.clone(), true
	}
	if i < 0 {
		return d.admin.clone(), true
	}
	return d.generate(i), true
}

// buildIDIndex maps every generated user's object ID to its index. It runs
// once, on the first lookup by ID (about 10 ms for 50,000 users).
func (d *Directory) buildIDIndex() {
	d.byID = make(map[[16]byte]int32, d.n)
	for i := range d.n {
		d.byID[d.uuid(i)] = int32(i)
	}
}

// indexOf returns the index of the generated user with object ID u, or -1.
func (d *Directory) indexOf(u [16]byte) int {
	d.idOnce.Do(d.buildIDIndex)
	if i, ok := d.byID[u]; ok {
		return int(i)
	}
	return -1
}

// uuid returns the object ID of generated user i, or of the admin for i < 0.
func (d *Directory) uuid(i int) [16]byte {
	var buf [128]byte
	name := append(buf[:0], "urn:tenantgate:m365test:"...)
	name = append(name, d.tenantKey...)
	name = append(name, ":user:"...)
	if i < 0 {
		name = append(name, "admin"...)
	} else {
		name = strconv.AppendInt(name, int64(i), 10)
	}
	return uuidV5(namespaceURL, name)
}

// appendNum5 appends i (0 <= i < 100,000) formatted as %05d.
func appendNum5(b []byte, i int) []byte {
	d := [5]byte{'0', '0', '0', '0', '0'}
	for k := 4; k >= 0 && i > 0; k-- {
		d[k] = byte('0' + i%10)
		i /= 10
	}
	return append(b, d[:]...)
}

// smtpAddress returns "SMTP:user%05d@{domain}" for user i, in one
// allocation; the user's other name strings are slices of it.
func (d *Directory) smtpAddress(i int) string {
	var b strings.Builder
	b.Grow(len("SMTP:user00000@") + len(d.domain))
	var num [5]byte
	b.WriteString("SMTP:user")
	b.Write(appendNum5(num[:0], i))
	b.WriteByte('@')
	b.WriteString(d.domain)
	return b.String()
}

// Offsets into smtpAddress: "SMTP:" + "user" + five digits + "@" + domain.
const (
	upnOffset   = len("SMTP:")     // userPrincipalName and mail start here
	numOffset   = len("SMTP:user") // the five digits (surname)
	numEnd      = numOffset + 5    // end of the digits
	nicknameEnd = numEnd           // mailNickname is smtp[upnOffset:nicknameEnd]
)

// generate builds generated user i in full.
func (d *Directory) generate(i int) User {
	smtp := d.smtpAddress(i)
	upn := smtp[upnOffset:]
	loc := &locations[i%10]
	return User{
		Index:             i,
		ID:                formatUUID(d.uuid(i)),
		AccountEnabled:    i%20 != 19,
		BusinessPhones:    []string{},
		City:              loc.city,
		CompanyName:       d.displayName,
		Country:           loc.country,
		Department:        departments[(i/10)%5],
		DisplayName:       "User " + smtp[numOffset:numEnd],
		GivenName:         "User",
		JobTitle:          jobTitles[(i/50)%4],
		Mail:              upn,
		MailNickname:      smtp[upnOffset:nicknameEnd],
		OfficeLocation:    loc.office,
		OtherMails:        []string{},
		ProxyAddresses:    []string{smtp},
		Surname:           smtp[numOffset:numEnd],
		UsageLocation:     loc.usage,
		UserPrincipalName: upn,
		UserType:          "Member",
		CreatedDateTime:   GeneratedCreated(i),
	}
}

// clone returns u with its own collection slices, so callers cannot change
// the directory's admin through them.
func (u User) clone() User {
	u.BusinessPhones = append([]string{}, u.BusinessPhones...)
	u.OtherMails = append([]string{}, u.OtherMails...)
	u.ProxyAddresses = append([]string{}, u.ProxyAddresses...)
	u.Identities = slices.Clone(u.Identities)
	return u
}

// gen is generated user i seen through the filter evaluator: each property
// is computed only when a filter asks for it, so scanning for
// `usageLocation eq 'IT'` neither formats names nor hashes object IDs.
type gen struct {
	d    *Directory
	i    int
	smtp string // smtpAddress(i), once computed
}

func (g *gen) smtpAddress() string {
	if g.smtp == "" {
		g.smtp = g.d.smtpAddress(g.i)
	}
	return g.smtp
}

func (g *gen) num() string { return g.smtpAddress()[numOffset:numEnd] }

func (g *gen) str(p prop) (string, bool) {
	i := g.i
	switch p {
	case pID:
		return formatUUID(g.d.uuid(i)), true
	case pCity:
		return locations[i%10].city, true
	case pCompanyName:
		return g.d.displayName, g.d.displayName != ""
	case pCountry:
		return locations[i%10].country, true
	case pDepartment:
		return departments[(i/10)%5], true
	case pDisplayName:
		if g.smtp != "" {
			return "User " + g.num(), true
		}
		var b [len("User 00000")]byte
		return string(appendNum5(append(b[:0], "User "...), i)), true
	case pGivenName:
		return "User", true
	case pJobTitle:
		return jobTitles[(i/50)%4], true
	case pMail, pUserPrincipalName:
		return g.smtpAddress()[upnOffset:], true
	case pMailNickname:
		return g.smtpAddress()[upnOffset:nicknameEnd], true
	case pOfficeLocation:
		return locations[i%10].office, true
	case pSurname:
		return g.num(), true
	case pUsageLocation:
		return locations[i%10].usage, true
	case pUserType:
		return "Member", true
	}
	return "", false
}

func (g *gen) boolean(prop) bool { return g.i%20 != 19 }

func (g *gen) list(p prop) []string {
	if p == pProxyAddresses {
		return []string{g.smtpAddress()}
	}
	return nil
}

// IdentityAt returns the object ID and userPrincipalName of user i
// (generated, changed or added), or of the Global Admin for i < 0,
// without building the rest of an unchanged generated user. It panics if
// i is at or past N().
func (d *Directory) IdentityAt(i int) (id, upn string) {
	if i < 0 {
		return d.admin.ID, d.admin.UserPrincipalName
	}
	if i >= d.n {
		u := d.UserAt(i)
		return u.ID, u.UserPrincipalName
	}
	if u, ok := d.ov.Load().changedUser(i); ok {
		return u.ID, u.UserPrincipalName
	}
	return formatUUID(d.uuid(i)), d.smtpAddress(i)[upnOffset:]
}
