package m365test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// DefaultPassword is the password of every user of a tenant whose
// [TenantOptions.Password] is empty.
const DefaultPassword = "m365test-Passw0rd!"

// TenantOptions describes a fake Entra ID tenant. The zero value plus a
// domain is a usable tenant.
type TenantOptions struct {
	// ID is the tenant GUID. Empty derives a stable GUID from the first
	// domain, so a test can predict it.
	ID string
	// Domains are the verified domains; the first is the default
	// (initial) domain, e.g. "contoso.onmicrosoft.com". Required.
	Domains []string
	// DisplayName is the organisation's name (every user's companyName).
	// Empty uses the first domain label.
	DisplayName string
	// Users is the number of generated users (see "Demo data" in the
	// package documentation),
	// besides the Global Admin admin@{first domain}.
	Users int
	// Password is the password of every user, the Global Admin included.
	// Empty means [DefaultPassword].
	Password string
	// MFAUsers lists user principal names protected by multi-factor
	// authentication: the password grant fails for them with 50076.
	MFAUsers []string
}

// Tenant is a fake Entra ID tenant registered with [Server.AddTenant].
type Tenant struct {
	// ID is the tenant GUID.
	ID string
	// Domains are the verified domains, default first.
	Domains []string
	// DisplayName is the organisation's name.
	DisplayName string

	dir      *directory.Directory
	password string
	// The fields below are guarded by Server.mu.
	mfa map[string]bool // lower-case UPN
	// accounts are users in a refused state; assigned, for apps that
	// require assignment, the users assigned (lower-case UPNs);
	// disabledApps the apps disabled in the tenant (client IDs).
	accounts     map[string]AccountState
	assigned     map[string]map[string]bool
	disabledApps map[string]bool
	grants       map[string]*grant
	guests       map[string]*guest // by lower-case home address and by object ID (AddGuest)
	revoked      map[string]int64  // user oid -> unix nanos before which refresh tokens are revoked
	// roleAssignments are the app roles assigned to users: client ID +
	// "\x00" + user oid -> role values (AssignAppRole).
	roleAssignments map[string][]string
	calls           map[string]CallRecord
	placed          int         // demo calls placed so far
	placedEnds      []time.Time // end times of the demo calls placed, in order
	direct          []DirectRoutingCall
	pstn            []PstnCall

	teamsMu sync.RWMutex
	teams   map[int]*TeamsUserConfiguration // by generator index (-1: admin); nil entry: removed

	voice *voiceState      // licenses, numbers, policies (voice.go)
	now   func() time.Time // the server's clock
}

// Domain returns the tenant's default domain.
func (t *Tenant) Domain() string { return t.Domains[0] }

// AdminUPN returns the user principal name of the tenant's Global Admin.
func (t *Tenant) AdminUPN() string { return "admin@" + t.Domains[0] }

// Password returns the password every user of the tenant signs in with.
func (t *Tenant) Password() string { return t.password }

// Users returns the number of generated users (the Global Admin not
// included).
func (t *Tenant) Users() int { return t.dir.N() }

// UserID returns the object ID of the user with the given user principal
// name, or "" if the tenant has no such user.
func (t *Tenant) UserID(upn string) string {
	u, ok := t.dir.User(upn)
	if !ok {
		return ""
	}
	return u.ID
}

// stableGUID derives a version-4-shaped GUID from name.
func stableGUID(name string) string {
	sum := sha256.Sum256([]byte("tenantgate m365test tenant\x00" + strings.ToLower(name)))
	sum[6] = (sum[6] & 0x0f) | 0x40
	sum[8] = (sum[8] & 0x3f) | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// AddTenant registers a tenant. It fails when a domain or ID is already
// taken or the options are incomplete.
func (s *Server) AddTenant(opts TenantOptions) (*Tenant, error) {
	if len(opts.Domains) == 0 || opts.Domains[0] == "" {
		return nil, fmt.Errorf("m365test: AddTenant: at least one domain is required")
	}
	if opts.Users < 0 || opts.Users > directory.MaxUsers {
		return nil, fmt.Errorf("m365test: AddTenant: Users = %d is outside [0, %d]", opts.Users, directory.MaxUsers)
	}
	id := strings.ToLower(opts.ID)
	if id == "" {
		id = stableGUID(opts.Domains[0])
	} else if !isGUID(id) {
		return nil, fmt.Errorf("m365test: AddTenant: ID %q is not a GUID", opts.ID)
	}
	name := opts.DisplayName
	if name == "" {
		name, _, _ = strings.Cut(opts.Domains[0], ".")
	}
	pw := opts.Password
	if pw == "" {
		pw = DefaultPassword
	}
	t := &Tenant{
		ID:          id,
		Domains:     append([]string(nil), opts.Domains...),
		DisplayName: name,
		dir:         directory.New(id, opts.Domains[0], name, opts.Users),
		password:    pw,
		mfa:         map[string]bool{},
		grants:      map[string]*grant{},
		revoked:     map[string]int64{},
		calls:       map[string]CallRecord{},
		teams:       map[int]*TeamsUserConfiguration{},
	}
	t.voice, t.now = newVoiceState(id, opts.Users), s.Now
	t.voice.propDelay = s.opts.TeamsPropagationDelay
	t.dir.SetLicenses(tenantLicenses{t})
	t.dir.SetClock(s.Now) // users added later were created at the fake's time
	for _, u := range opts.MFAUsers {
		t.mfa[strings.ToLower(u)] = true
	}
	if s.opts.AdvancedQueryLag > 0 {
		t.dir.KeepHistory(s.Now, s.opts.AdvancedQueryLag)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[id]; ok {
		return nil, fmt.Errorf("m365test: AddTenant: tenant %s already exists", id)
	}
	for _, d := range t.Domains {
		if _, ok := s.domains[strings.ToLower(d)]; ok {
			return nil, fmt.Errorf("m365test: AddTenant: domain %s already belongs to a tenant", d)
		}
	}
	s.tenants[id] = t
	for _, d := range t.Domains {
		s.domains[strings.ToLower(d)] = t
	}
	return t, nil
}

// Tenant returns the tenant whose GUID or verified domain is idOrDomain.
func (s *Server) Tenant(idOrDomain string) (*Tenant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(idOrDomain)
	return t, t != nil
}

func (s *Server) tenantLocked(idOrDomain string) *Tenant {
	k := strings.ToLower(idOrDomain)
	if t, ok := s.tenants[k]; ok {
		return t
	}
	return s.domains[k]
}

// Tenants returns every tenant, in no particular order.
func (s *Server) Tenants() []*Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Tenant, 0, len(s.tenants))
	for _, t := range s.tenants {
		out = append(out, t)
	}
	return out
}

// SetMFA marks the user upn of the tenant as protected by multi-factor
// authentication (or not).
func (s *Server) SetMFA(tenant, upn string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: SetMFA: unknown tenant %q", tenant)
	}
	t.mfa[strings.ToLower(upn)] = on
	return nil
}

// RevokeSignInSessions ends every refresh token issued so far to the user
// upn of the tenant, as an admin's "Revoke sessions" or a password reset
// does: redeeming one fails with AADSTS50173.
func (s *Server) RevokeSignInSessions(tenant, upn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(tenant)
	if t == nil {
		return fmt.Errorf("m365test: RevokeSignInSessions: unknown tenant %q", tenant)
	}
	u, ok := t.dir.User(upn)
	if !ok {
		return fmt.Errorf("m365test: RevokeSignInSessions: no user %q in tenant %s", upn, t.ID)
	}
	t.revoked[u.ID] = s.nowLocked().UnixNano()
	return nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
