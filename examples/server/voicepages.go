package main

import (
	"net/http"
	"net/url"
)

// The portal's Teams Phone pages: a Numbers page per customer and a Voice
// page per user (voice.html, voice-user.html, voice.js, voice.css), on the
// admin API's voice routes.

// voiceNumbersPage is a customer's Teams Phone numbers, ranges and
// operations.
func (p *portal) voiceNumbersPage(w http.ResponseWriter, r *http.Request) {
	d := p.data(r)
	if !d.LoggedIn {
		http.Redirect(w, r, "/login?next=/voice", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "voice.html", d)
}

// voiceUserPage is one user's Teams Phone: readiness, assign, release,
// policies and the user's operations.
func (p *portal) voiceUserPage(w http.ResponseWriter, r *http.Request) {
	d := p.data(r)
	if !d.LoggedIn {
		http.Redirect(w, r, "/login?next=/voice", http.StatusSeeOther)
		return
	}
	d.User = r.URL.Query().Get("user")
	if d.User == "" || len(d.User) > 320 {
		http.Redirect(w, r, "/voice?customer="+url.QueryEscape(d.Customer), http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "voice-user.html", d)
}
