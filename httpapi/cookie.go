package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"
)

// The wizard's cookies. bindingCookie holds a random value whose hash is
// the m365access browser binding; inviteCookie holds the invitation token
// the sign-in started from, so that the callback can complete it.
const (
	bindingCookie = "tenantgate_binding"
	inviteCookie  = "tenantgate_invite"
)

// newBinding returns a random cookie value and the browser binding derived
// from it. Only the cookie holds the value; the store sees a hash of the
// binding.
func newBinding() (value, binding string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	value = base64.RawURLEncoding.EncodeToString(b[:])
	return value, bindingOf(value), nil
}

// bindingOf is the browser binding of a cookie value.
func bindingOf(value string) string {
	sum := sha256.Sum256([]byte("tenantgate-httpapi-binding\x00" + value))
	return hex.EncodeToString(sum[:])
}

// cookieName is name with a prefix browsers enforce when cookies are
// Secure: __Host- when the cookies' path is "/" (the cookie must then be
// Secure, have Path=/ and no Domain, so a sibling subdomain cannot set or
// shadow it), else __Secure- (a __Host- cookie cannot have another path).
func (c *checked) cookieName(name string) string {
	switch {
	case c.secure && c.cookiePath == "/":
		return "__Host-" + name
	case c.secure:
		return "__Secure-" + name
	}
	return name
}

// setCookie sets one of the wizard's cookies: HttpOnly, SameSite=Lax (the
// callback is a top-level navigation from Microsoft), Secure when the
// public URL is https, scoped to the public base path.
func (c *checked) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	maxAge := int(time.Until(expires).Seconds())
	if maxAge < 60 {
		maxAge = 60
	}
	http.SetCookie(w, &http.Cookie{
		Name: c.cookieName(name), Value: value, Path: c.cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
}

// setBindingCookie sets the browser-binding cookie.
func (c *checked) setBindingCookie(w http.ResponseWriter, value string, expires time.Time) {
	c.setCookie(w, bindingCookie, value, expires)
}

// clearCookie deletes one of the wizard's cookies.
func (c *checked) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: c.cookieName(name), Value: "", Path: c.cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
}

// cookie returns the value of one of the wizard's cookies, "" if absent.
func (c *checked) cookie(r *http.Request, name string) string {
	ck, err := r.Cookie(c.cookieName(name))
	if err != nil {
		return ""
	}
	return ck.Value
}
