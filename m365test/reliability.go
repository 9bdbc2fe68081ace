package m365test

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// reliabilityFaults are the faults of reliability experiments that are
// not one request's answer (see Fault): pages cut short and access tokens
// revoked before their expiry.
type reliabilityFaults struct {
	mu      sync.Mutex
	cuts    map[string]int    // tenant ID -> /users pages still to cut
	serial  uint64            // access tokens issued so far
	issued  map[string]uint64 // uti -> serial of the token
	revoked map[string]revocation
}

// revocation is a tenant's access tokens revoked at one moment.
type revocation struct {
	below     uint64 // tokens with a serial below this are refused
	challenge bool   // answer with a CAE claims challenge
	nbf       int64  // the challenge's nbf value (the revocation time)
}

// maxIssuedTokens bounds the tokens remembered for revocation; older
// ones count as revoked by any revocation.
const maxIssuedTokens = 1 << 16

// CutNextLinks makes the next n pages of the tenant's GET /users that have
// a following page answer without @odata.nextLink: a valid page that
// looks like the last one, as a truncating proxy or a Graph fault would
// send it. The returned function removes what is left of the fault.
func (s *Server) CutNextLinks(tenant string, n int) (remove func()) {
	id := s.tenantID(tenant)
	r := &s.rel
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cuts == nil {
		r.cuts = map[string]int{}
	}
	r.cuts[id] += n
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.cuts, id)
	}
}

// cutNextLink reports whether this /users page of tenant must lose its
// next link, consuming one cut.
func (r *reliabilityFaults) cutNextLink(tenant string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cuts[tenant] <= 0 {
		return false
	}
	r.cuts[tenant]--
	return true
}

// RevokeAccessTokens revokes every access token issued so far to the
// tenant (apps and users alike), as Entra ID does when an administrator
// revokes sessions or a Continuous Access Evaluation event arrives: Graph
// answers them 401 InvalidAuthenticationToken although they have not
// expired. With challenge, the 401 carries a CAE claims challenge
// (WWW-Authenticate error="insufficient_claims" and a base64 claims
// request for a token issued after the revocation), as Graph sends it to
// CAE-capable clients; without, a plain 401. Tokens issued afterwards are
// accepted.
func (s *Server) RevokeAccessTokens(tenant string, challenge bool) {
	id := s.tenantID(tenant)
	now := s.Now().Unix()
	r := &s.rel
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revoked == nil {
		r.revoked = map[string]revocation{}
	}
	r.revoked[id] = revocation{below: r.serial + 1, challenge: challenge, nbf: now}
}

// noteIssued remembers an access token's issue order by its uti claim.
func (r *reliabilityFaults) noteIssued(claims map[string]any) {
	uti, _ := claims["uti"].(string)
	if uti == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.issued == nil || len(r.issued) >= maxIssuedTokens {
		r.issued = map[string]uint64{}
	}
	r.serial++
	r.issued[uti] = r.serial
}

// revokedToken returns the 401 for a token of tenant revoked by
// RevokeAccessTokens, nil when it is not revoked.
func (r *reliabilityFaults) revokedToken(tenant, uti string) *graphError {
	r.mu.Lock()
	defer r.mu.Unlock()
	rv, ok := r.revoked[tenant]
	if !ok || r.issued[uti] >= rv.below {
		return nil
	}
	if !rv.challenge {
		return unauthorized("The token has been revoked.")
	}
	claims := `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(rv.nbf, 10) + `"}}}`
	return &graphError{status: 401, code: "InvalidAuthenticationToken",
		msg:    "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp",
		claims: base64.StdEncoding.EncodeToString([]byte(claims))}
}

// tenantID resolves a tenant's GUID or domain to its GUID (unchanged when
// unknown).
func (s *Server) tenantID(tenant string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenantLocked(tenant); t != nil {
		return t.ID
	}
	return strings.ToLower(tenant)
}

// challengeHeader is the WWW-Authenticate value of Graph's 401, with a
// CAE claims challenge when claims is set.
func challengeHeader(claims string) string {
	h := `Bearer realm="", authorization_uri="https://` + LoginHost + `/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`
	if claims != "" {
		h += fmt.Sprintf(`, error="insufficient_claims", claims="%s"`, claims)
	}
	return h
}
