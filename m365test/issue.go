package m365test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// GraphAppID is Microsoft Graph's application ID, the audience GUID of
// Graph tokens.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// graphAudience is the aud claim of Graph access tokens.
const graphAudience = "https://" + GraphHost

// authCode is an issued authorization code.
type authCode struct {
	tenant      *Tenant
	clientID    string
	redirectURI string
	challenge   string
	method      string
	user        directory.User
	scope       string
	nonce       string
	mfa         bool
	issued      time.Time
	used        bool
}

// refreshToken is an issued refresh token. Each is valid until expires
// (issued + RefreshTokenLifetime); using one returns a new one and leaves
// the old one working, as Entra does.
type refreshToken struct {
	tenant   *Tenant
	clientID string
	user     directory.User
	mfa      bool
	issued   time.Time
	expires  time.Time
}

func randomToken(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return prefix + b64.EncodeToString(b[:])
}

// servicePrincipalID is the stable object ID of app's service principal in t.
func servicePrincipalID(t *Tenant, clientID string) string {
	sum := sha256.Sum256([]byte("sp\x00" + t.ID + "\x00" + clientID))
	sum[6] = (sum[6] & 0x0f) | 0x40
	sum[8] = (sum[8] & 0x3f) | 0x80
	return formatGUID(sum[:16])
}

func formatGUID(b []byte) string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&0xf])
	}
	return string(out)
}

// appidacr is the client authentication method claim: 0 public, 1 secret,
// 2 certificate.
type clientAuth string

const (
	authPublic clientAuth = "0"
	authSecret clientAuth = "1"
	authCert   clientAuth = "2"
)

// userTokens issues the delegated tokens of a user flow and returns the
// token response.
func (s *Server) userTokens(host string, t *Tenant, a *App, u directory.User, scp []string, requested string, nonce string, mfa bool, ca clientAuth, offline, clientInfo bool) (map[string]any, error) {
	now := s.Now()
	amr := []string{"pwd"}
	if mfa {
		amr = append(amr, "mfa")
	}
	exp := now.Add(s.opts.AccessTokenLifetime)
	atClaims := map[string]any{
		"aud":                 graphAudience,
		"iss":                 "https://sts.windows.net/" + t.ID + "/",
		"iat":                 now.Unix(),
		"nbf":                 now.Unix(),
		"exp":                 exp.Unix(),
		"acr":                 "1",
		"amr":                 amr,
		"app_displayname":     a.DisplayName,
		"appid":               a.ClientID,
		"appidacr":            string(ca),
		"family_name":         u.Surname,
		"given_name":          u.GivenName,
		"idtyp":               "user",
		"ipaddr":              "127.0.0.1",
		"name":                u.DisplayName,
		"oid":                 u.ID,
		"scp":                 strings.Join(scp, " "),
		"sub":                 pairwiseSub(u.ID, a.ClientID),
		"tenant_region_scope": "NA",
		"tid":                 t.ID,
		"unique_name":         u.UserPrincipalName,
		"upn":                 u.UserPrincipalName,
		"uti":                 randomToken("")[:22],
		"ver":                 "1.0",
		"wids":                userRoles(t, u),
	}
	g := s.guestOf(t, u.ID)
	if g != nil {
		// A guest: no upn; its home identity provider and address.
		delete(atClaims, "upn")
		atClaims["unique_name"], atClaims["email"], atClaims["acct"] = g.Mail, g.Mail, 1
		atClaims["idp"] = "https://sts.windows.net/" + g.HomeTenantID + "/"
	}
	at, err := s.accessToken(atClaims)
	if err != nil {
		return nil, err
	}
	idClaims := map[string]any{
		"wids":               userRoles(t, u),
		"aud":                a.ClientID,
		"iss":                "https://" + host + "/" + t.ID + "/v2.0",
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"name":               u.DisplayName,
		"oid":                u.ID,
		"preferred_username": u.UserPrincipalName,
		"sub":                pairwiseSub(u.ID, a.ClientID),
		"tid":                t.ID,
		"ver":                "2.0",
	}
	if nonce != "" {
		idClaims["nonce"] = nonce
	}
	// An app role assigned to the user puts its value in the id_token's
	// roles claim; without one the claim is absent.
	if roles := s.assignedRoles(t, a, u); len(roles) > 0 {
		idClaims["roles"] = roles
	}
	if g != nil {
		idClaims["preferred_username"], idClaims["email"] = g.Mail, g.Mail
		idClaims["idp"] = "https://sts.windows.net/" + g.HomeTenantID + "/"
	}
	secs := int(s.opts.AccessTokenLifetime / time.Second)
	resp := map[string]any{
		"token_type":     "Bearer",
		"scope":          grantedScope(scp, requested, offline),
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   at,
	}
	// The token response carries an id_token only when openid was
	// requested (auth code flow reference: "id_token ... Only provided if
	// openid scope was requested").
	if requestsOpenID(requested) {
		idt, err := s.signer.sign(idClaims)
		if err != nil {
			return nil, err
		}
		resp["id_token"] = idt
	}
	if clientInfo {
		uid, utid := u.ID, t.ID
		if g != nil {
			// The home account: MSAL's home account ID is the home tenant's.
			uid, utid = g.HomeObjectID, g.HomeTenantID
		}
		ci, _ := json.Marshal(map[string]string{"uid": uid, "utid": utid})
		resp["client_info"] = b64.EncodeToString(ci)
	}
	if offline {
		rt := randomToken("1.A")
		s.mu.Lock()
		s.refresh[rt] = &refreshToken{tenant: t, clientID: a.ClientID, user: u, mfa: mfa, issued: now, expires: now.Add(s.opts.RefreshTokenLifetime)}
		s.mu.Unlock()
		resp["refresh_token"] = rt
	}
	return resp, nil
}

// appToken issues an app-only token with the app roles granted in t.
func (s *Server) appToken(t *Tenant, a *App, roles []string, ca clientAuth, scope string) (map[string]any, error) {
	now := s.Now()
	sp := servicePrincipalID(t, a.ClientID)
	claims := map[string]any{
		"aud":             graphAudience,
		"iss":             "https://sts.windows.net/" + t.ID + "/",
		"iat":             now.Unix(),
		"nbf":             now.Unix(),
		"exp":             now.Add(s.opts.AccessTokenLifetime).Unix(),
		"app_displayname": a.DisplayName,
		"appid":           a.ClientID,
		"appidacr":        string(ca),
		"idtyp":           "app",
		"oid":             sp,
		"sub":             sp,
		"tid":             t.ID,
		"uti":             randomToken("")[:22],
		"ver":             "1.0",
	}
	if len(roles) > 0 {
		claims["roles"] = roles
	}
	at, err := s.accessToken(claims)
	if err != nil {
		return nil, err
	}
	secs := int(s.opts.AccessTokenLifetime / time.Second)
	return map[string]any{
		"token_type":     "Bearer",
		"scope":          scope,
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   at,
	}, nil
}

func pairwiseSub(oid, clientID string) string {
	sum := sha256.Sum256([]byte(oid + "\x00" + clientID))
	return b64.EncodeToString(sum[:])[:43]
}

// Directory role template IDs (Entra built-in roles) the fake puts in the
// wids claim.
const (
	// RoleGlobalAdministrator is the Global Administrator role.
	RoleGlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"
	// RoleUser is the role every member user holds (Entra lists it in wids).
	RoleUser = "b79fbf4d-3ef9-4689-8143-76b194e85509"
)

// userRoles is the wids claim of u: the Global Admin holds the Global
// Administrator role, every user the member user role. (Entra puts wids
// in id tokens when the app's groupMembershipClaims includes
// DirectoryRole; the fake always does.)
func userRoles(t *Tenant, u directory.User) []string {
	if strings.EqualFold(u.UserPrincipalName, t.AdminUPN()) {
		return []string{RoleGlobalAdministrator, RoleUser}
	}
	return []string{RoleUser}
}

// grantedScope is the scope parameter of a user token response: as Entra
// ID answers, the granted set (every delegated Graph permission the token
// carries, in Graph's short form, whatever subset was requested), then the
// OpenID Connect scopes requested, offline_access only with a refresh
// token.
func grantedScope(granted []string, requested string, offline bool) string {
	// Graph permissions come back in the form they were asked in: with the
	// resource URI when the request used it (MSAL compares the two).
	prefix := ""
	for _, sc := range strings.Fields(requested) {
		if strings.HasPrefix(strings.ToLower(sc), graphAudience+"/") {
			prefix = graphAudience + "/"
			break
		}
	}
	out := make([]string, 0, len(granted)+4)
	for _, g := range granted {
		out = append(out, prefix+g)
	}
	for _, sc := range strings.Fields(requested) {
		switch l := strings.ToLower(sc); l {
		case "openid", "profile", "email":
			out = append(out, l)
		}
	}
	if offline {
		out = append(out, "offline_access")
	}
	return strings.Join(out, " ")
}

// requestsOpenID reports whether a scope parameter names openid.
func requestsOpenID(scope string) bool {
	for _, sc := range strings.Fields(scope) {
		if strings.EqualFold(sc, "openid") {
			return true
		}
	}
	return false
}
