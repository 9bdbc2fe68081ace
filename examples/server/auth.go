package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/httpapi"
)

// Session lifetimes: a session ends sessionTTL after sign-in whatever
// happens, and earlier after sessionIdle without a request.
const (
	sessionTTL  = 8 * time.Hour
	sessionIdle = 30 * time.Minute
)

// The kinds of principal.
const (
	kindTechnician = "technician" // signed in with Microsoft Entra ID
	kindAPIToken   = "apiToken"   // a named API token
	kindBreakGlass = "breakGlass" // the shared admin token
)

// principal is who is behind a request: a technician, a named API token
// or the break-glass admin token, with its role.
type principal struct {
	Kind string
	// ID is the technician's object ID or the token's ID ("" for the
	// admin token).
	ID   string
	Name string // a technician's name, a token's name, the admin's name
	// Username is a technician's sign-in name.
	Username string
	Role     httpapi.Role
	// Session: the request came with the portal's session cookie.
	Session bool
}

// actor is the principal as the audit trail names it.
func (p principal) actor() string {
	switch p.Kind {
	case kindTechnician:
		return displayName(p.Name, p.Username)
	case kindAPIToken:
		return "API token " + p.Name
	}
	if p.Session {
		return p.Name + " (break-glass admin token, portal session)"
	}
	return p.Name + " (break-glass admin token)"
}

// adminAuth authenticates the provider's people and scripts: technicians
// signed in with Microsoft Entra ID (a session cookie), named API tokens
// (Authorization: Bearer tgk_...), and the shared admin token, kept for
// the demo and for break-glass (bearer, or traded for a session in the
// login form), which has the admin role. Sessions are HttpOnly,
// SameSite=Strict cookies (Secure and __Host- under https) whose value is
// kept only hashed, in the portal's database (sessionStore: every replica
// knows them); each ends sessionTTL after sign-in or sessionIdle after its
// last request (to the minute). Authorize checks the principal's role
// (httpapi.Role) against the operation.
type adminAuth struct {
	name      string // the admin token's name (-admin-name)
	tokenHash [sha256.Size]byte
	secure    bool // cookies get Secure and the __Host- prefix
	now       func() time.Time
	tokens    *apiTokenStore // nil: no named API tokens
	sessions  *sessionStore  // set before the portal serves
	ttl, idle time.Duration

	mu sync.Mutex // guards now (tests move it)
}

func newAdminAuth(name, token string, secure bool) *adminAuth {
	return &adminAuth{name: name, tokenHash: sha256.Sum256([]byte(token)), secure: secure, now: time.Now,
		ttl: sessionTTL, idle: sessionIdle}
}

// clock is the sessions' current time (now is guarded by mu: tests move
// it).
func (a *adminAuth) clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now()
}

// tokenOK compares a presented token with the admin token in constant time
// (hashing first makes the comparison independent of the lengths too).
func (a *adminAuth) tokenOK(presented string) bool {
	h := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(h[:], a.tokenHash[:]) == 1
}

func (a *adminAuth) cookieName() string {
	if a.secure {
		return "__Host-tenantgate_admin"
	}
	return "tenantgate_admin"
}

// breakGlass is the admin token's principal.
func (a *adminAuth) breakGlass() principal {
	return principal{Kind: kindBreakGlass, Name: a.name, Role: httpapi.RoleAdmin}
}

// errNotSignedIn: neither a valid bearer token nor a live session.
var errNotSignedIn = errors.New("no valid admin token, API token or session")

// who returns the principal behind r.
func (a *adminAuth) who(r *http.Request) (principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return principal{}, errNotSignedIn
		}
		if a.tokenOK(tok) {
			return a.breakGlass(), nil
		}
		if a.tokens != nil && strings.HasPrefix(tok, apiTokenPrefix) {
			t, err := a.tokens.lookup(r.Context(), tok)
			if errors.Is(err, errNoToken) {
				return principal{}, errNotSignedIn
			}
			if err != nil {
				return principal{}, fmt.Errorf("read the API tokens: %w", err)
			}
			return principal{Kind: kindAPIToken, ID: t.ID, Name: t.Name, Role: t.Role}, nil
		}
		return principal{}, errNotSignedIn
	}
	c, err := r.Cookie(a.cookieName())
	if err != nil || c.Value == "" {
		return principal{}, errNotSignedIn
	}
	if len(c.Value) > 128 {
		return principal{}, errNotSignedIn
	}
	who, ok, err := a.sessions.get(r.Context(), c.Value, a.clock(), a.idle)
	if err != nil {
		return principal{}, err
	}
	if !ok {
		return principal{}, errNotSignedIn
	}
	return who, nil
}

// authenticated reports whether r carries a valid token or a live session.
func (a *adminAuth) authenticated(r *http.Request) bool {
	_, err := a.who(r)
	return err == nil
}

// Actor implements httpapi.ActorNamer: the technician's name and sign-in
// name, the API token's name, or the admin name with "break-glass".
func (a *adminAuth) Actor(r *http.Request) string {
	p, err := a.who(r)
	if err != nil {
		return ""
	}
	return p.actor()
}

// Authorize implements httpapi.Authorizer: a principal's role decides
// (every customer alike: this reference portal has no per-customer
// rights; a host adds them here).
func (a *adminAuth) Authorize(_ context.Context, r *http.Request, _ string, op httpapi.Operation) error {
	p, err := a.who(r)
	if errors.Is(err, errNotSignedIn) {
		return fmt.Errorf("%w: %w", errNotSignedIn, httpapi.ErrUnauthenticated)
	}
	if err != nil {
		return err
	}
	return httpapi.CheckRole(p.Role, op)
}

// startSession signs the browser in as who; an error (the database) sets
// no cookie.
func (a *adminAuth) startSession(ctx context.Context, w http.ResponseWriter, who principal) error {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	value := base64.RawURLEncoding.EncodeToString(b[:])
	if err := a.sessions.put(ctx, value, who, a.clock(), a.ttl, a.idle); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookieName(), Value: value, Path: "/", MaxAge: int(a.ttl.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode})
	return nil
}

// login starts a break-glass session when token is the admin token; ok
// is false for any other token.
func (a *adminAuth) login(ctx context.Context, w http.ResponseWriter, token string) (ok bool, err error) {
	if !a.tokenOK(token) {
		return false, nil
	}
	return true, a.startSession(ctx, w, a.breakGlass())
}

// logout ends r's session (the cookie is cleared even when the database
// cannot be reached; the session then ends at its idle limit).
func (a *adminAuth) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(a.cookieName()); err == nil && len(c.Value) <= 128 {
		_ = a.sessions.remove(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode})
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
