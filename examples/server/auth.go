package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/httpapi"
)

// sessionTTL is how long a portal login lasts.
const sessionTTL = 12 * time.Hour

// adminAuth authenticates the provider's admins. Programs send the admin
// token as "Authorization: Bearer <token>"; the portal's login form trades
// the token for a session cookie (HttpOnly, SameSite=Strict), so the token
// never sits where page scripts could read it. Either way every admin
// route is allowed for every customer: this reference portal has a single
// admin role. A real host plugs its own login and per-customer rights in
// here.
type adminAuth struct {
	name      string // the admin's name (-admin-name)
	tokenHash [sha256.Size]byte
	secure    bool // cookies get Secure and the __Host- prefix
	now       func() time.Time

	mu       sync.Mutex
	sessions map[[sha256.Size]byte]time.Time // hash of the cookie value -> expiry
}

func newAdminAuth(name, token string, secure bool) *adminAuth {
	return &adminAuth{name: name, tokenHash: sha256.Sum256([]byte(token)), secure: secure, now: time.Now,
		sessions: map[[sha256.Size]byte]time.Time{}}
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

// authenticated reports whether r carries the admin token or a live session.
func (a *adminAuth) authenticated(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && a.tokenOK(strings.TrimSpace(tok))
	}
	c, err := r.Cookie(a.cookieName())
	if err != nil || c.Value == "" {
		return false
	}
	key := sha256.Sum256([]byte(c.Value))
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.sessions[key]
	if ok && a.now().After(exp) {
		delete(a.sessions, key)
		return false
	}
	return ok
}

// Actor implements httpapi.ActorNamer: the portal has one admin, named
// by -admin-name; a login session and the bearer token both act as that
// admin. The audit trail says which.
func (a *adminAuth) Actor(r *http.Request) string {
	via := "session"
	if r.Header.Get("Authorization") != "" {
		via = "API token"
	}
	return a.name + " (" + via + ")"
}

// Authorize implements httpapi.Authorizer.
func (a *adminAuth) Authorize(_ context.Context, r *http.Request, _ string, _ httpapi.Operation) error {
	if !a.authenticated(r) {
		return fmt.Errorf("no valid admin token or session: %w", httpapi.ErrUnauthenticated)
	}
	return nil
}

// login starts a session when token is the admin token.
func (a *adminAuth) login(w http.ResponseWriter, token string) bool {
	if !a.tokenOK(token) {
		return false
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	value := base64.RawURLEncoding.EncodeToString(b[:])
	now := a.now()
	a.mu.Lock()
	for k, exp := range a.sessions {
		if now.After(exp) {
			delete(a.sessions, k)
		}
	}
	a.sessions[sha256.Sum256([]byte(value))] = now.Add(sessionTTL)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: a.cookieName(), Value: value, Path: "/", MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode})
	return true
}

// logout ends r's session.
func (a *adminAuth) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(a.cookieName()); err == nil {
		a.mu.Lock()
		delete(a.sessions, sha256.Sum256([]byte(c.Value)))
		a.mu.Unlock()
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
