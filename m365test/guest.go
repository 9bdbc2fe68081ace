package m365test

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/mail"
	"strings"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// GuestOptions describes a guest (B2B) user invited into a tenant.
type GuestOptions struct {
	// Email is the guest's address in its home organisation, e.g.
	// "alice@fabrikam.com". Required.
	Email string
	// HomeTenantID is the GUID of the guest's home tenant. Empty: the
	// tenant of this server that has Email's domain, whose user Email must
	// exist (the guest signs in with that user's password); when no tenant
	// of the server has the domain, a GUID derived from the domain.
	HomeTenantID string
	// Password is the guest's home password when the home tenant is not
	// one of this server's; empty means [DefaultPassword].
	Password string
	// DisplayName is the guest's name; empty uses Email's local part.
	DisplayName string
}

// Guest is a guest user added with [Server.AddGuest].
type Guest struct {
	// ID is the guest's object ID in the resource tenant (its own, not
	// the home account's).
	ID string
	// UserPrincipalName is the resource tenant's name for the guest,
	// alice_fabrikam.com#EXT#@contoso.onmicrosoft.com.
	UserPrincipalName string
	// Mail is the home address (Email).
	Mail string
	// HomeTenantID and HomeObjectID identify the home account: an
	// id_token's client_info names them (uid, utid), so MSAL's home
	// account ID is the home tenant's.
	HomeTenantID, HomeObjectID string
}

// guest is what the fake keeps about a guest: who it is at home.
type guest struct {
	Guest
	homeTenant *Tenant // nil: a home tenant outside this server
	password   string  // for an outside home tenant
}

// AddGuest invites a guest (B2B) user into the tenant, as an admin's
// "Invite external user" does once the guest redeemed the invitation: a
// user of userType Guest with its own object ID in the tenant, user
// principal name {local}_{domain}#EXT#@{tenant's default domain}, mail
// and otherMails its home address. The guest signs in at the tenant's
// authority with its home credentials and the home address; its
// id_token has tid and oid of the resource tenant, no upn but email and
// preferred_username (the home address), and client_info names the home
// tenant. Its Teams configuration has accountType guest. The generated
// demo users are unchanged (a guest lists after them).
func (s *Server) AddGuest(tenant string, o GuestOptions) (Guest, error) {
	t, ok := s.Tenant(tenant)
	if !ok {
		return Guest{}, fmt.Errorf("m365test: AddGuest: unknown tenant %q", tenant)
	}
	a, err := mail.ParseAddress(o.Email)
	if err != nil || a.Address != o.Email || a.Name != "" {
		return Guest{}, fmt.Errorf("m365test: AddGuest: Email %q is not a bare address", o.Email)
	}
	local, domain, _ := strings.Cut(strings.ToLower(o.Email), "@")
	g := &guest{password: o.Password}
	home, homeOnServer := s.Tenant(domain)
	switch {
	case homeOnServer && home.ID == t.ID:
		return Guest{}, fmt.Errorf("m365test: AddGuest: %s belongs to the tenant itself, not a guest", o.Email)
	case homeOnServer && (o.HomeTenantID == "" || strings.EqualFold(o.HomeTenantID, home.ID)):
		hu, ok := home.dir.User(o.Email)
		if !ok {
			return Guest{}, fmt.Errorf("m365test: AddGuest: no user %s in its home tenant %s", o.Email, home.ID)
		}
		g.homeTenant, g.HomeTenantID, g.HomeObjectID = home, home.ID, hu.ID
	case o.HomeTenantID != "" && !isGUID(o.HomeTenantID):
		return Guest{}, fmt.Errorf("m365test: AddGuest: HomeTenantID %q is not a GUID", o.HomeTenantID)
	default:
		g.HomeTenantID = strings.ToLower(o.HomeTenantID)
		if g.HomeTenantID == "" {
			g.HomeTenantID = stableGUID(domain)
		}
		g.HomeObjectID = guestGUID("home", g.HomeTenantID, o.Email)
	}
	if g.homeTenant == nil && g.password == "" {
		g.password = DefaultPassword
	}
	name := o.DisplayName
	if name == "" {
		name = local
	}
	g.ID = guestGUID("guest", t.ID, o.Email)
	g.UserPrincipalName = local + "_" + domain + "#EXT#@" + t.Domain()
	g.Mail = o.Email
	u, err := t.dir.AddCustom(directory.User{
		ID: g.ID, AccountEnabled: true, BusinessPhones: []string{}, DisplayName: name, Mail: o.Email,
		MailNickname: local + "_" + domain + "#EXT#", OtherMails: []string{o.Email},
		ProxyAddresses: []string{"SMTP:" + o.Email}, UserPrincipalName: g.UserPrincipalName, UserType: "Guest",
	})
	if err != nil {
		return Guest{}, fmt.Errorf("m365test: AddGuest: %w", err)
	}
	cfg := generatedTeams(t.ID, -1)
	cfg.ID, cfg.UserPrincipalName, cfg.AccountType = u.ID, u.UserPrincipalName, "guest"
	cfg.FeatureTypes = []string{"Teams"}
	t.voice.markGuest(u.Index)
	t.teamsMu.Lock()
	t.teams[u.Index] = &cfg
	t.teamsMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.guests == nil {
		t.guests = map[string]*guest{}
	}
	t.guests[strings.ToLower(o.Email)] = g
	t.guests[g.ID] = g
	return g.Guest, nil
}

func guestGUID(kind, tenantID, email string) string {
	sum := sha256.Sum256([]byte("tenantgate m365test " + kind + "\x00" + strings.ToLower(tenantID) + "\x00" + strings.ToLower(email)))
	sum[6] = (sum[6] & 0x0f) | 0x40
	sum[8] = (sum[8] & 0x3f) | 0x80
	return formatGUID(sum[:16])
}

// guestOf returns the guest that is user u of t (by object ID or home
// address), or nil.
func (s *Server) guestOf(t *Tenant, key string) *guest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.guests[strings.ToLower(key)]
}

// userPasswordOK checks the password of user u of t: a guest's is its
// home account's.
func (s *Server) userPasswordOK(t *Tenant, u directory.User, pw string) bool {
	g := s.guestOf(t, u.ID)
	switch {
	case g == nil:
		return t.passwordOK(pw)
	case g.homeTenant != nil:
		return g.homeTenant.passwordOK(pw)
	default:
		return subtle.ConstantTimeCompare([]byte(pw), []byte(g.password)) == 1
	}
}
