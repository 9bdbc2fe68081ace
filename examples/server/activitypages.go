package main

import "net/http"

// activityPage serves the audit trail, events and webhook deliveries
// pages (one template, the view named in the path): filters and the page
// cursor live in the URL, assets/activity.js reads them and the API.
func (p *portal) activityPage(view string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := p.data(r)
		if !d.LoggedIn {
			http.Redirect(w, r, "/login?next=/activity/"+view, http.StatusSeeOther)
			return
		}
		d.View = view
		p.render(w, http.StatusOK, "activity.html", d)
	}
}
