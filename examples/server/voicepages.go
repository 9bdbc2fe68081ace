package main

import (
	"net/http"
	"net/url"
	"strings"
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

// voiceView is what the plan and operation pages name: the plan or the
// operation they show (voice.js reads it from the API).
type voiceView struct {
	Plan, Operation string
}

// voiceID accepts the plan and operation IDs the portal links to.
func voiceID(id string) bool {
	return id != "" && len(id) <= 100 && strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == ""
}

// voicePlanPage is one plan: per user the current state, the target, the
// steps or the error, the counts, and Apply after a confirmation.
func (p *portal) voicePlanPage(w http.ResponseWriter, r *http.Request) {
	p.voiceIDPage(w, r, "voice-plan.html", func(d *pageData, id string) { d.Voice.Plan = id })
}

// voiceOperationPage follows an operation (a plan's apply): a progress
// bar, per-user results, and Cancel after a confirmation.
func (p *portal) voiceOperationPage(w http.ResponseWriter, r *http.Request) {
	p.voiceIDPage(w, r, "voice-apply.html", func(d *pageData, id string) { d.Voice.Operation = id })
}

func (p *portal) voiceIDPage(w http.ResponseWriter, r *http.Request, page string, set func(*pageData, string)) {
	d := p.data(r)
	if !d.LoggedIn {
		http.Redirect(w, r, "/login?next=/voice", http.StatusSeeOther)
		return
	}
	id := r.URL.Query().Get("id")
	if !voiceID(id) {
		http.Redirect(w, r, "/?customer="+url.QueryEscape(d.Customer)+"&tab=voice", http.StatusSeeOther)
		return
	}
	set(&d, id)
	p.render(w, http.StatusOK, page, d)
}
