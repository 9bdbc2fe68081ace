package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/tokenstore"
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.ParseFS(assets, "assets/*.html"))

// portalCSP allows the portal's own script, style and API calls and
// nothing else: no inline script or style, no framing, forms post only to
// the portal.
const portalCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// routes mounts the admin API under /api, the wizard pages at the root
// (where the provider app's PublicBaseURL points), and the portal's own pages.
func (a *app) routes(apiCfg httpapi.Config, auth *adminAuth) (http.Handler, error) {
	api, err := httpapi.NewAdmin(apiCfg)
	if err != nil {
		return nil, err
	}
	a.api = api // closed by closeAll
	wizard, err := httpapi.NewWizard(apiCfg)
	if err != nil {
		return nil, err
	}
	a.wizard = wizard // closed by closeAll
	var apiHandler http.Handler = api
	if a.fake != nil {
		apiHandler = a.demoConsentLinks(api)
	}
	static, _ := fs.Sub(assets, "assets")
	p := &portal{a: a, auth: auth, limit: newLoginLimiter(time.Now), signIn: a.signIn}
	cop := http.NewCrossOriginProtection()

	mux := http.NewServeMux()
	mux.Handle("/api/", p.limitBearer(http.StripPrefix("/api", apiHandler)))
	mux.Handle("/invite/", wizard)
	mux.Handle("/auth/callback", wizard)
	mux.Handle("/consent/callback", wizard)
	mux.Handle("/consent/progress", wizard)
	// Microsoft's call records notifications (no admin token: each
	// notification's clientState is checked).
	mux.Handle("POST "+notificationPath, a.qoe.Handler())
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /customers", p.customersPage)
	mux.HandleFunc("GET /voice", p.voiceNumbersPage)
	mux.HandleFunc("GET /voice/user", p.voiceUserPage)
	mux.HandleFunc("GET /voice/fleet", p.voiceFleetPage)
	mux.HandleFunc("GET /voice/plan", p.voicePlanPage)
	mux.HandleFunc("GET /voice/operation", p.voiceOperationPage)
	mux.HandleFunc("GET /activity/audit", p.activityPage("audit"))
	mux.HandleFunc("GET /activity/events", p.activityPage("events"))
	mux.HandleFunc("GET /activity/deliveries", p.activityPage("deliveries"))
	mux.HandleFunc("GET /login", p.loginPage)
	mux.Handle("POST /login", cop.Handler(http.HandlerFunc(p.login)))
	mux.Handle("POST /logout", cop.Handler(http.HandlerFunc(p.logout)))
	// Technicians' sign-in with Microsoft Entra ID, and the named API
	// tokens (admins).
	mux.HandleFunc("GET /login/microsoft", p.signInStart)
	mux.HandleFunc("GET /login/callback", p.signInCallback)
	mux.HandleFunc("GET /tokens", p.tokensPage)
	mux.Handle("POST /tokens", cop.Handler(http.HandlerFunc(p.createToken)))
	mux.Handle("POST /tokens/{id}/revoke", cop.Handler(http.HandlerFunc(p.revokeToken)))
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.Handle("GET /metrics", p.limitBearer(http.HandlerFunc(p.metrics)))
	if a.outbox != nil {
		mux.HandleFunc("GET /outbox", p.outboxPage)
		mux.Handle("GET /dev/outbox", p.limitBearer(http.HandlerFunc(p.outboxJSON)))
		mux.Handle("POST /dev/calls", cop.Handler(p.limitBearer(http.HandlerFunc(p.devCalls))))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.render(w, http.StatusNotFound, "notfound.html", p.data(r))
	})
	return mux, nil
}

// staticFiles serves the embedded script and style sheet.
func staticFiles(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".js") && !strings.HasSuffix(r.URL.Path, ".css") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// portal serves the provider's admin screen, its login and (demo) the outbox.
type portal struct {
	a     *app
	auth  *adminAuth
	limit *loginLimiter // failed logins per client address
	// signIn signs technicians in with Microsoft Entra ID; nil when not
	// configured (the admin token only).
	signIn *entraSignIn
}

// pageData is what the portal's templates render.
type pageData struct {
	Provider  string
	Customer  string
	Demo      bool
	LoggedIn  bool
	PublicURL string
	Error     string
	Next      string
	// Missing is the customer ID a page asked for that does not exist.
	Missing string
	// Demo: the fake tenant's Global Admin and password.
	AdminUPN, AdminPassword string
	Emails                  []outboxEmail
	// User is the user of the Voice page (UPN or object ID).
	User string
	// Who is the signed-in person (or token) as the header names it,
	// Role their role; BreakGlass says the shared admin token signed in.
	Who, Role  string
	WhoDetail  string // a technician's sign-in name
	BreakGlass bool
	// SignIn: technicians can sign in with Microsoft Entra ID.
	SignIn bool
	// DemoTechnicians are the demo's technicians (sign-in name and role).
	DemoTechnicians []demoTechnician
	// Tokens is the API tokens page.
	Tokens *tokensView
	// View is the activity page's view: audit, events or deliveries.
	View string
	// Tab is the customer page's tab, Tabs all of them (customertabs.go);
	// Voice is a Teams Phone page's plan or operation (voicepages.go).
	Tab   string
	Tabs  []customerTab
	Voice voiceView
}

func (p *portal) data(r *http.Request) pageData {
	d := pageData{Provider: p.a.cfg.ProviderName, Customer: p.a.cfg.Customer, Demo: p.a.fake != nil,
		PublicURL: p.a.publicURL, SignIn: p.signIn != nil, DemoTechnicians: p.a.demoTechnicians}
	if who, err := p.auth.who(r); err == nil {
		d.LoggedIn, d.Who, d.Role, d.BreakGlass = true, who.actor(), string(who.Role), who.Kind == kindBreakGlass
		if who.Kind == kindTechnician {
			d.Who, d.WhoDetail = who.Name, who.Username
			if d.Who == "" {
				d.Who = who.Username
			}
		}
	}
	if p.a.tenant != nil {
		d.AdminUPN, d.AdminPassword = p.a.tenant.AdminUPN(), m365test.DefaultPassword
	}
	if c := r.URL.Query().Get("customer"); c != "" && validCustomer(c) {
		d.Customer = c
	}
	return d
}

// validCustomer accepts the customer IDs the portal links to.
func validCustomer(c string) bool {
	return len(c) <= 200 && !strings.ContainsAny(c, "/?#%\\ \t\r\n\x00")
}

// render writes a page with the portal's security headers.
func (p *portal) render(w http.ResponseWriter, status int, page string, d pageData) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, page, d); err != nil {
		p.a.log.Error("rendering a portal page failed", "page", page, "err", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", portalCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (p *portal) index(w http.ResponseWriter, r *http.Request) {
	d := p.data(r)
	if !d.LoggedIn {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	known, err := p.known(r.Context(), d.Customer)
	if err != nil {
		p.a.log.Error("reading a customer failed", "customer", d.Customer, "err", err)
		http.Error(w, "the customer could not be read", http.StatusInternalServerError)
		return
	}
	if !known {
		if r.URL.Query().Get("customer") == "" {
			// The default customer was never created: the fleet is the
			// place to add one.
			http.Redirect(w, r, "/customers", http.StatusSeeOther)
			return
		}
		// A mistyped or removed customer gets no editable blank page.
		d.Missing, d.Customer = d.Customer, p.a.cfg.Customer
		p.render(w, http.StatusNotFound, "notfound.html", d)
		return
	}
	d.Tab, d.Tabs = customerTabs(r.URL.Query().Get("tab"))
	p.render(w, http.StatusOK, "index.html", d)
}

// known reports whether the customer was created: it is in the fleet or
// has settings.
func (p *portal) known(ctx context.Context, customer string) (bool, error) {
	if _, err := p.a.fleet.Customer(ctx, customer); err == nil {
		return true, nil
	} else if !errors.Is(err, fleet.ErrNotEnrolled) {
		return false, err
	}
	_, err := p.a.manager.GetSettings(ctx, customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// customersPage is the fleet: every customer with its state and what to do.
func (p *portal) customersPage(w http.ResponseWriter, r *http.Request) {
	d := p.data(r)
	if !d.LoggedIn {
		http.Redirect(w, r, "/login?next=/customers", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "customers.html", d)
}

func (p *portal) loginPage(w http.ResponseWriter, r *http.Request) {
	d := p.data(r)
	d.Next = safeNext(r.URL.Query().Get("next"))
	p.render(w, http.StatusOK, "login.html", d)
}

// safeNext keeps a post-login redirect on the portal's own pages.
func safeNext(next string) string {
	switch next {
	case "/outbox", "/customers", "/voice", "/tokens", "/activity/audit", "/activity/events", "/activity/deliveries":
		return next
	}
	return "/"
}

func (p *portal) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	client := p.a.clientIP.Key(r)
	// The right token always signs in (see limitBearer): only wrong ones
	// meet the limit.
	ok, err := p.auth.login(r.Context(), w, strings.TrimSpace(r.PostForm.Get("token")))
	if err != nil {
		p.a.log.Error("storing a portal session failed", "err", err)
		d := p.data(r)
		d.Next = safeNext(r.PostForm.Get("next"))
		d.Error = "The session could not be stored: the portal's database did not answer. Try again in a minute."
		p.render(w, http.StatusServiceUnavailable, "login.html", d)
		return
	}
	if ok {
		p.limit.succeed(client)
		// Break-glass use is audited as such.
		if err := p.auditPortal(r.Context(), p.auth.breakGlass(), actionSignIn, audit.Succeeded, newRequestID(), "break-glass admin token"); err != nil {
			p.a.log.Warn("auditing a break-glass sign-in failed", "err", err)
		}
		http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
		return
	}
	if wait := p.limit.wait(client); wait > 0 {
		p.a.log.Warn("portal login rate limited", "client", client)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		d := p.data(r)
		d.Next = safeNext(r.PostForm.Get("next"))
		d.Error = fmt.Sprintf("Too many wrong admin tokens from your address (%d within %d minutes). Try again in %s.",
			loginMaxFailures, int(loginWindow.Minutes()), waitText(wait))
		p.render(w, http.StatusTooManyRequests, "login.html", d)
		return
	}
	p.limit.fail(client)
	p.a.log.Info("portal login refused", "remote", r.RemoteAddr)
	d := p.data(r)
	d.Next = safeNext(r.PostForm.Get("next"))
	d.Error = "That is not the admin token. Use the token the server printed at start (or TENANTGATE_ADMIN_TOKEN)."
	p.render(w, http.StatusUnauthorized, "login.html", d)
}

// waitText says how long to wait, in whole minutes or (under one) seconds.
func waitText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(math.Ceil(d.Seconds())))
	}
	if m := int(math.Ceil(d.Minutes())); m > 1 {
		return fmt.Sprintf("%d minutes", m)
	}
	return "1 minute"
}

func (p *portal) logout(w http.ResponseWriter, r *http.Request) {
	p.auth.logout(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// outboxEmail is one sent email as the outbox page and /dev/outbox show it.
type outboxEmail struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Links   []string  `json:"links"`
	Text    string    `json:"text"`
}

// admin answers 401 unless r carries a token or session, 403 unless
// its role is want or more.
func (p *portal) admin(w http.ResponseWriter, r *http.Request, want httpapi.Role) bool {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	who, err := p.auth.who(r)
	if err == nil && who.Role.AtLeast(want) {
		return true
	}
	w.Header().Set("Content-Type", "application/problem+json")
	if err == nil {
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(httpapi.Problem{Type: "about:blank", Title: "Forbidden", Status: http.StatusForbidden,
			Code: "forbidden", Detail: "this needs the " + string(want) + " role; you have " + string(who.Role)})
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="tenantgate"`)
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(httpapi.Problem{Type: "about:blank", Title: "Unauthorized", Status: http.StatusUnauthorized,
		Code: "unauthenticated", Detail: "send an API token (or the admin token) as Authorization: Bearer <token>"})
	return false
}

// metrics serves the process's OpenTelemetry metrics as Prometheus text
// (tenantgate_... series) to the admin.
func (p *portal) metrics(w http.ResponseWriter, r *http.Request) {
	if !p.admin(w, r, httpapi.RoleViewer) {
		return
	}
	p.a.metrics.ServeHTTP(w, r)
}

// emails lists the outbox, newest first, with the invitation links found
// in each message.
func (p *portal) emails() []outboxEmail {
	prefix := p.a.publicURL + "/invite/"
	var out []outboxEmail
	for _, e := range p.a.outbox.List() {
		links := []string{}
		for _, f := range strings.Fields(e.Message.Text) {
			if strings.HasPrefix(f, prefix) {
				if u, err := url.Parse(f); err == nil {
					links = append(links, u.String())
				}
			}
		}
		out = append(out, outboxEmail{Seq: e.Seq, At: e.At, To: e.Message.To, Subject: e.Message.Subject,
			Links: links, Text: e.Message.Text})
	}
	return out
}

func (p *portal) outboxPage(w http.ResponseWriter, r *http.Request) {
	// The emails hold live invitation links: the day's work, not a read.
	if _, ok := p.requireRole(w, r, httpapi.RoleOperator, "/outbox"); !ok {
		return
	}
	d := p.data(r)
	d.Emails = p.emails()
	p.render(w, http.StatusOK, "outbox.html", d)
}

// outboxJSON serves GET /dev/outbox: the demo's sent emails as JSON. The
// links are live invitation links, so it needs the admin token.
func (p *portal) outboxJSON(w http.ResponseWriter, r *http.Request) {
	if !p.admin(w, r, httpapi.RoleOperator) {
		return
	}
	emails := p.emails()
	if emails == nil {
		emails = []outboxEmail{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Emails []outboxEmail `json:"emails"`
	}{emails})
}
