package main

import (
	"errors"
	"net/http"

	"github.com/tenantgate/tenantgate/audit"
)

// signInCookie binds a sign-in at Microsoft to the browser that started
// it. SameSite=Lax: Microsoft's redirect back is a cross-site top-level
// GET, which Strict cookies do not come with.
func (p *portal) signInCookie() string {
	if p.auth.secure {
		return "__Host-tenantgate_signin"
	}
	return "tenantgate_signin"
}

// signInStart (GET /login/microsoft) sends the browser to Microsoft's
// sign-in for the provider's tenant. A link, not a form: the portal's
// CSP keeps form submissions on the portal.
func (p *portal) signInStart(w http.ResponseWriter, r *http.Request) {
	if p.signIn == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	binding := newBinding()
	u, err := p.signIn.begin(r.Context(), binding, safeNext(r.URL.Query().Get("next")))
	if err != nil {
		p.a.log.Error("technician sign-in could not start", "err", err)
		d := p.data(r)
		d.Error = "The sign-in with Microsoft could not start: the provider's tenant did not answer. Try again in a minute."
		p.render(w, http.StatusBadGateway, "login.html", d)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: p.signInCookie(), Value: binding, Path: "/", MaxAge: int(signInFlowTTL.Seconds()),
		HttpOnly: true, Secure: p.auth.secure, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// signInCallback (GET /login/callback) completes the sign-in: a session
// for the technician with the role of the id_token's roles claim.
func (p *portal) signInCallback(w http.ResponseWriter, r *http.Request) {
	if p.signIn == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	binding := ""
	if c, err := r.Cookie(p.signInCookie()); err == nil {
		binding = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: p.signInCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.auth.secure, SameSite: http.SameSiteLaxMode})
	tech, next, err := p.signIn.complete(r.Context(), r.URL.Query(), binding)
	if err != nil {
		d := p.data(r)
		var se *signInError
		if errors.As(err, &se) {
			p.a.log.Info("technician sign-in refused", "reason", se.msg)
			d.Error = se.msg
			p.render(w, http.StatusForbidden, "login.html", d)
			return
		}
		p.a.log.Error("technician sign-in failed", "err", err)
		d.Error = "The sign-in could not be completed: Microsoft did not answer. Try again in a minute."
		p.render(w, http.StatusBadGateway, "login.html", d)
		return
	}
	who := principal{Kind: kindTechnician, ID: tech.ObjectID, Name: tech.Name, Username: tech.Username, Role: tech.Role}
	if err := p.auth.startSession(r.Context(), w, who); err != nil {
		p.a.log.Error("storing a portal session failed", "err", err)
		d := p.data(r)
		d.Error = "You were signed in at Microsoft, but the session could not be stored: the portal's database did not answer. Sign in again in a minute."
		p.render(w, http.StatusServiceUnavailable, "login.html", d)
		return
	}
	p.a.log.Info("technician signed in", "oid", tech.ObjectID, "role", string(tech.Role))
	if err := p.auditPortal(r.Context(), who, actionSignIn, audit.Succeeded, newRequestID(), "Microsoft Entra ID, role "+string(tech.Role)); err != nil {
		p.a.log.Warn("auditing a sign-in failed", "err", err)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
