package main

import "net/http"

// voiceFleetPage is Teams Phone across the fleet (voice-fleet.html,
// voice-fleet.js): per customer its voice users, ready and not, free
// numbers per range and running operations, from GET /voice; search,
// filter, sort and the page cursor live in the URL.
func (p *portal) voiceFleetPage(w http.ResponseWriter, r *http.Request) {
	d := p.data(r)
	if !d.LoggedIn {
		http.Redirect(w, r, "/login?next=/voice/fleet", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "voice-fleet.html", d)
}
