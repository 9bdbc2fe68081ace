package httpapi

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/m365access"
)

//go:embed templates/*.html
var builtinPages embed.FS

// The page templates, each rendered inside layout.html.
const (
	pageLayout  = "layout.html"
	pageLanding = "landing.html"
	pageSuccess = "success.html"
	pageFailure = "failure.html"
)

// pageData is what the page templates render.
type pageData struct {
	Title        string
	Provider     string
	SupportEmail string
	SupportURL   string

	// The landing page.
	SentBy       string
	CustomerName string
	Tenant       string
	Account      string
	Expires      string
	Permissions  []invite.Permission
	StartURL     string

	// Success and failure pages.
	Heading  string
	Message  string
	WhatToDo string
	// RetryURL, when set, is where a "Sign in with Microsoft" form posts
	// to start again.
	RetryURL string
	// Refresh, when set, is the page's meta refresh ("3;url=...").
	Refresh string
	// Progress is the consent progress page's state (confirming,
	// confirmed, failed), for scripts and tests.
	Progress string
}

// wizard serves the customer-facing pages.
type wizard struct {
	c     *checked
	mux   *http.ServeMux
	pages map[string]*template.Template
	// formActions are the CSP form-action sources; csp the whole policy.
	formActions []string
	csp         string
	// bg counts background consent confirmations; closing stops new ones.
	bg      sync.WaitGroup
	closing atomic.Bool
}

func newWizard(cfg Config) (*wizard, error) {
	c, err := cfg.check(false)
	if err != nil {
		return nil, err
	}
	wz := &wizard{c: c, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	if err := wz.parsePages(); err != nil {
		return nil, err
	}
	// form-action: ourselves, the public origin (forms post there), and the
	// sign-in origins the start POST redirects to (browsers check the
	// redirect chain of a form submission against form-action).
	pub, _ := origin(c.publicURL.String())
	actions := []string{"'self'", pub}
	for _, o := range c.SignInOrigins {
		oo, _ := origin(o)
		actions = append(actions, oo)
	}
	wz.formActions = dedupe(actions)
	wz.csp = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action " +
		strings.Join(wz.formActions, " ") + "; frame-ancestors 'none'; base-uri 'none'"

	wz.mux.HandleFunc("GET /invite/{token}", wz.landing)
	wz.mux.HandleFunc("POST /invite/{token}/start", wz.start)
	wz.mux.HandleFunc("GET /auth/callback", wz.authCallback)
	wz.mux.HandleFunc("GET /consent/callback", wz.consentCallback)
	wz.mux.HandleFunc("GET /consent/progress", wz.consentProgress)
	wz.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		wz.fail(w, http.StatusNotFound, failure{heading: "Page not found",
			message: "There is no page at this address.", todo: "Open the link from your invitation email again."})
	})
	return wz, nil
}

// formActionAllows reports whether the pages' CSP form-action lists origin.
func (wz *wizard) formActionAllows(origin string) bool {
	return slices.Contains(wz.formActions, origin)
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// parsePages parses the layout and each page, preferring cfg.Pages.
func (wz *wizard) parsePages() error {
	read := func(name string) (string, error) {
		if wz.c.Pages != nil {
			if b, err := fs.ReadFile(wz.c.Pages, name); err == nil {
				return string(b), nil
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("httpapi: reading page template %s: %w", name, err)
			}
		}
		b, err := builtinPages.ReadFile("templates/" + name)
		return string(b), err
	}
	layout, err := read(pageLayout)
	if err != nil {
		return err
	}
	for _, name := range []string{pageLanding, pageSuccess, pageFailure} {
		body, err := read(name)
		if err != nil {
			return err
		}
		t, err := template.New(name).Parse(layout)
		if err == nil {
			_, err = t.Parse(body)
		}
		if err != nil {
			return fmt.Errorf("httpapi: parsing page template %s: %w", name, err)
		}
		if t.Lookup("layout") == nil || t.Lookup("content") == nil {
			return fmt.Errorf("httpapi: page template %s: layout.html must define \"layout\" and %s \"content\"", name, name)
		}
		wz.pages[name] = t
	}
	return nil
}

// ServeHTTP applies cross-origin protection to the form POST, then routes.
func (wz *wizard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := wz.c.CrossOrigin.Check(r); err != nil {
		wz.fail(w, http.StatusForbidden, failure{heading: "Request refused",
			message: "This request came from another web site.", todo: "Open the link from your invitation email directly."})
		return
	}
	wz.mux.ServeHTTP(w, r)
}

// render writes a page with the security headers.
func (wz *wizard) render(w http.ResponseWriter, status int, page string, d pageData) {
	d.Provider, d.SupportEmail, d.SupportURL = wz.c.ProviderName, wz.c.SupportEmail, wz.c.SupportURL
	var buf bytes.Buffer
	if err := wz.pages[page].ExecuteTemplate(&buf, "layout", d); err != nil {
		wz.c.Logger.Error("httpapi: rendering page failed", "page", page, "err", err.Error())
		setPageHeaders(w, wz.csp)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("This page could not be shown. Please try again later.\n"))
		return
	}
	setPageHeaders(w, wz.csp)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// failure is a failure page's text.
type failure struct {
	heading, message, todo string
	retry                  string
}

func (wz *wizard) fail(w http.ResponseWriter, status int, f failure) {
	wz.render(w, status, pageFailure, pageData{Title: f.heading, Heading: f.heading, Message: f.message, WhatToDo: f.todo, RetryURL: f.retry})
}

// expires formats a time for people.
func expires(t time.Time) string {
	return t.UTC().Format("Monday, 2 January 2006 15:04 MST")
}

// redeem looks up the invitation of a link, or writes the failure page.
// start counts a sign-in start against the invitation's bound.
func (wz *wizard) redeem(w http.ResponseWriter, r *http.Request, token string, start bool) (invite.Invitation, bool) {
	lookup := wz.c.Invitations.Redeem
	if start {
		lookup = wz.c.Invitations.Start
	}
	inv, err := lookup(r.Context(), token, wz.c.ClientIP(r))
	if err == nil {
		return inv, true
	}
	var rl *invite.RateLimitError
	ask := "Ask " + wz.c.ProviderName + " to send you a new invitation."
	if inv.SentBy != "" {
		ask = "Ask " + inv.SentBy + " at " + wz.c.ProviderName + " to send you a new invitation."
	}
	switch {
	case errors.As(err, &rl) && rl.Scope == invite.ScopeStart:
		mins := int(rl.RetryAfter.Minutes()) + 1
		wz.fail(w, http.StatusTooManyRequests, failure{heading: "Too many sign-in attempts",
			message: "This invitation started more sign-ins than it allows in a short time.",
			todo:    fmt.Sprintf("Wait %d minutes, then open the link from your invitation email again and sign in once.", mins)})
	case errors.As(err, &rl):
		mins := int(rl.RetryAfter.Minutes()) + 1
		wz.fail(w, http.StatusTooManyRequests, failure{heading: "Too many attempts",
			message: "This browser tried too many invitation links that do not work.",
			todo:    fmt.Sprintf("Wait %d minutes, then open the link from your invitation email again.", mins)})
	case errors.Is(err, invite.ErrExpired):
		wz.fail(w, http.StatusGone, failure{heading: "This invitation has expired",
			message: "The link worked until " + expires(inv.ExpiresAt) + ".", todo: ask})
	case errors.Is(err, invite.ErrRevoked):
		wz.fail(w, http.StatusGone, failure{heading: "This invitation is no longer valid",
			message: "It was withdrawn or replaced by a newer invitation.", todo: "Use the newest invitation email you received, or " + strings.ToLower(ask[:1]) + ask[1:]})
	case errors.Is(err, invite.ErrCompleted):
		wz.fail(w, http.StatusGone, failure{heading: "This invitation was already used",
			message: "The connection was established with it; a link works only once.",
			todo:    "Nothing more is needed. If the connection must be renewed, " + strings.ToLower(ask[:1]) + ask[1:]})
	case errors.Is(err, invite.ErrInvalidToken):
		wz.fail(w, http.StatusNotFound, failure{heading: "This link is not valid",
			message: "No invitation belongs to this link.",
			todo:    "Check that you opened the whole link from the email (long links are sometimes cut). Otherwise " + strings.ToLower(ask[:1]) + ask[1:]})
	default:
		wz.c.Logger.ErrorContext(r.Context(), "httpapi: redeeming an invitation failed", "err", err.Error())
		wz.fail(w, http.StatusInternalServerError, failure{heading: "Something went wrong",
			message: "The invitation could not be checked just now.", todo: "Try again in a few minutes."})
	}
	return inv, false
}

func (wz *wizard) landing(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, ok := wz.redeem(w, r, token, false)
	if !ok {
		return
	}
	d := pageData{Title: "Connect Microsoft 365", SentBy: inv.SentBy, CustomerName: inv.CustomerName, Tenant: inv.Tenant,
		Expires: expires(inv.ExpiresAt), Permissions: wz.c.Permissions, StartURL: wz.c.publicLink("/invite/" + url.PathEscape(token) + "/start")}
	if d.CustomerName == "" {
		d.CustomerName = inv.Customer
	}
	if s, err := wz.c.Access.GetSettings(r.Context(), inv.Customer); err == nil {
		d.Account = s.ServiceAccount
		if d.Tenant == "" {
			d.Tenant = s.Tenant
		}
	}
	wz.render(w, http.StatusOK, pageLanding, d)
}

// start begins the token connection and sends the browser to Microsoft.
func (wz *wizard) start(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, ok := wz.redeem(w, r, token, true)
	if !ok {
		return
	}
	value, binding, err := newBinding()
	if err != nil {
		wz.c.Logger.ErrorContext(r.Context(), "httpapi: random binding failed", "err", err.Error())
		wz.fail(w, http.StatusInternalServerError, failure{heading: "Something went wrong", message: "The sign-in could not be started.", todo: "Try again in a few minutes."})
		return
	}
	res, err := wz.c.Access.Begin(r.Context(), inv.Customer, m365access.BeginOptions{BrowserBinding: binding, Invitation: inv.ID})
	if err != nil {
		wz.c.Logger.WarnContext(r.Context(), "httpapi: starting the token connection failed", "customer", inv.Customer, "err", err.Error())
		f := wz.failureOf(err)
		wz.fail(w, statusOfFailure(err), f)
		return
	}
	if o, err := origin(res.AuthorizeURL); err == nil && !wz.formActionAllows(o) {
		wz.c.Logger.WarnContext(r.Context(), "httpapi: the sign-in origin is not in Config.SignInOrigins; browsers block the redirect (CSP form-action)", "origin", o)
	}
	wz.c.setBindingCookie(w, value, res.ExpiresAt)
	wz.c.setCookie(w, inviteCookie, token, res.ExpiresAt)
	setPageHeaders(w, wz.csp)
	http.Redirect(w, r, res.AuthorizeURL, http.StatusSeeOther)
}

// authCallback completes the token connection.
func (wz *wizard) authCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := wz.c.cookie(r, inviteCookie)
	retry := ""
	if token != "" {
		retry = wz.c.publicLink("/invite/" + url.PathEscape(token) + "/start")
	}
	if cbErr := m365access.CallbackError(q); cbErr != nil {
		// Spend the transaction and record the error in the customer's
		// Status; an answer to no sign-in started here records nothing
		// but is still explained.
		_, err := wz.c.Access.CompleteCallback(r.Context(), q, bindingOf(wz.c.cookie(r, bindingCookie)))
		var fe *m365access.FlowError
		recorded := !errors.As(err, &fe)
		wz.c.Logger.InfoContext(r.Context(), "httpapi: sign-in returned an error", "error", cbErr.OAuthError,
			"aadsts", cbErr.Codes, "action", string(cbErr.Action), "recorded", recorded)
		wz.fail(w, http.StatusBadRequest, wz.signInRefusal(cbErr, retry))
		return
	}
	// The attempt is audited once every check passed, before the
	// connection is stored: a trail that cannot record it stops the
	// change (fail closed).
	conn, err := wz.c.Access.CompleteWith(r.Context(), q.Get("state"), q.Get("code"), bindingOf(wz.c.cookie(r, bindingCookie)),
		m365access.CompleteOptions{InvitationLive: wz.c.Invitations.Live,
			BeforeStore: func(ctx context.Context, customer, account string) error {
				return wz.appendAudit(r.WithContext(ctx), customer, account, actionConnect, audit.Attempted)
			}})
	if errors.Is(err, errAuditUnavailable) {
		wz.auditFailure(w, "Nothing was connected")
		return
	}
	if err != nil {
		wz.c.Logger.WarnContext(r.Context(), "httpapi: completing the token connection failed", "err", err.Error())
		f := wz.failureOf(err)
		if f.retry == "" && retryable(err) {
			f.retry = retry
		}
		wz.fail(w, statusOfFailure(err), f)
		return
	}
	// Complete the invitation the sign-in started from (the transaction
	// names it; the browser's cookies decide nothing here).
	if conn.Invitation != "" {
		if _, err := wz.c.Invitations.Complete(r.Context(), conn.Customer, conn.Invitation); err != nil {
			wz.c.Logger.WarnContext(r.Context(), "httpapi: completing the invitation failed", "customer", conn.Customer, "invitation", conn.Invitation, "err", err.Error())
		}
	}
	wz.c.clearCookie(w, bindingCookie)
	wz.c.clearCookie(w, inviteCookie)
	wz.audit(r, conn.Customer, conn.Account, actionConnect)
	msg := "Your Microsoft 365 tenant is now connected to " + wz.c.ProviderName + "."
	if conn.Account != "" {
		msg = "You signed in as " + conn.Account + ". Your Microsoft 365 tenant is now connected to " + wz.c.ProviderName + "."
	}
	wz.render(w, http.StatusOK, pageSuccess, pageData{Title: "Connected", Heading: "Connected",
		Message: msg, WhatToDo: "You can close this page. You can revoke the access at any time in Microsoft Entra ID."})
}

// signInRefusal explains an error Microsoft redirected back instead of
// a code: what it is (an administrator must approve, declined, blocked
// by policy, the account cannot sign in) and what to do.
func (wz *wizard) signInRefusal(e *m365access.Error, retry string) failure {
	prov := wz.c.ProviderName
	codeNote := ""
	if len(e.Codes) > 0 {
		codeNote = " (Microsoft error code " + strconv.Itoa(e.Codes[0]) + ")"
	}
	switch {
	case e.HasCode(90094) || e.HasCode(90093) || e.HasCode(65001) || e.OAuthError == "consent_required":
		return failure{heading: "Admin consent is needed",
			message: "Your organization requires an administrator to approve " + prov + ": the account that signed in cannot grant the permissions it needs" + codeNote + ". Nothing was connected.",
			todo:    "Sign out of Microsoft (or use a private window), then sign in as a Global Administrator and tick \"Consent on behalf of your organization\", or ask " + prov + " for the admin consent link for your administrator.",
			retry:   retry}
	case e.HasCode(53003):
		return failure{heading: "Blocked by your organization's Conditional Access policy",
			message: "A Conditional Access policy of your organization blocked this sign-in" + codeNote + ". Nothing was connected.",
			todo:    "Ask your administrator which policy blocked it (Microsoft Entra ID sign-in logs) and to allow this sign-in, or sign in from a device and location the policy allows.",
			retry:   retry}
	case e.HasCode(65004) || (e.OAuthError == "access_denied" && len(e.Codes) == 0):
		// Name the button only when the page has it (a retry link).
		todo := "To connect, click Sign in with Microsoft again and choose Accept on Microsoft's page. If you do not want to connect, you can close this page."
		if retry == "" {
			todo = "To connect, open the invitation link from your email again and choose Accept on Microsoft's page. If you do not want to connect, you can close this page."
		}
		return failure{heading: "You cancelled the sign-in", message: "You declined on Microsoft's page" + codeNote + ", so nothing was connected and nothing was changed.",
			todo: todo, retry: retry}
	case e.Action == m365access.ActionFixAccount:
		todo := "Ask your administrator to fix the account in Microsoft Entra ID, then try again."
		if e.Hint != "" {
			todo = "Ask your administrator to fix it (" + e.Hint + "), then try again."
		}
		return failure{heading: "This account cannot sign in", message: "Microsoft refused the account that signed in" + codeNote + ". Nothing was connected.", todo: todo, retry: retry}
	case e.Action == m365access.ActionEnableApp:
		return failure{heading: prov + " is disabled in your organization", message: "Microsoft refused the sign-in because the application is disabled in your tenant" + codeNote + ".",
			todo: "Ask your administrator to enable it in Microsoft Entra ID (Enterprise applications, Properties, Enabled for users to sign in), then try again.", retry: retry}
	}
	switch e.OAuthError {
	case "interaction_required", "login_required":
		return failure{heading: "Additional verification is needed", message: "Your organization requires multi-factor authentication or a compliant device" + codeNote + ".",
			todo: "Try again and complete the verification Microsoft asks for.", retry: retry}
	case "temporarily_unavailable", "server_error":
		return failure{heading: "Microsoft is busy", message: "Microsoft could not complete the sign-in just now.",
			todo: "Wait a few minutes and try again.", retry: retry}
	}
	if e.Action == m365access.ActionCompleteMFAOrSwitchToToken {
		return failure{heading: "Additional verification is needed", message: "Your organization requires multi-factor authentication or a compliant device" + codeNote + ".",
			todo: "Try again and complete the verification Microsoft asks for.", retry: retry}
	}
	return failure{heading: "The sign-in did not complete", message: "Microsoft did not finish the sign-in" + codeNote + ".",
		todo: "Try again. If it fails again, contact " + prov + ".", retry: retry}
}

// consentCallback takes the admin consent callback at once: the
// transaction is checked and the grant recorded as reported (Entra ID's
// word), the page answers, and the grant is confirmed through Graph in the
// background (ConfirmConsent waits up to the Manager's ConsentWait for it
// to replicate). The page then follows the confirmation
// (/consent/progress).
func (wz *wizard) consentCallback(w http.ResponseWriter, r *http.Request) {
	cb := m365access.ConsentCallbackFromQuery(r.URL.Query())
	acc, err := wz.c.Access.AcceptConsentWith(r.Context(), cb, bindingOf(wz.c.cookie(r, bindingCookie)), m365access.AcceptOptions{
		BeforeRecord: func(ctx context.Context, customer string) error {
			return wz.appendAudit(r.WithContext(ctx), customer, "", actionConsent, audit.Attempted)
		}})
	if errors.Is(err, errAuditUnavailable) {
		wz.auditFailure(w, "Your consent was not recorded")
		return
	}
	if err != nil {
		wz.c.Logger.WarnContext(r.Context(), "httpapi: completing admin consent failed", "err", err.Error())
		f := wz.failureOf(err)
		if cb.Error == "access_denied" || errors.Is(err, m365access.ErrDenied) {
			f = failure{heading: "Consent was not granted", message: "Nothing was changed.",
				todo: "To grant it, ask " + wz.c.ProviderName + " for the consent link again, open it and choose Accept as a Global Administrator."}
		}
		wz.fail(w, statusOfFailure(err), f)
		return
	}
	wz.c.clearCookie(w, bindingCookie)
	wz.audit(r, acc.Customer, "", actionConsent)
	wz.confirmLater(r, acc)
	wz.renderProgress(w, cb.State, m365access.ConsentProgress{Customer: acc.Customer, ClientID: acc.ClientID, Pending: true})
}

// consentConfirmBudget bounds one background confirmation (the Manager's
// ConsentWait bounds its waiting; this bounds a stuck Graph).
const consentConfirmBudget = 2 * time.Minute

// confirmLater confirms an accepted consent through Graph apart from the
// request, and emits consent.granted once confirmed. Close waits for it.
func (wz *wizard) confirmLater(r *http.Request, acc *m365access.AcceptedConsent) {
	if wz.closing.Load() {
		return // the fleet's next check (Validate) confirms it
	}
	ctx := context.WithoutCancel(r.Context())
	wz.bg.Add(1)
	go func() {
		defer wz.bg.Done()
		ctx, cancel := context.WithTimeout(ctx, consentConfirmBudget)
		defer cancel()
		c, err := wz.c.Access.ConfirmConsent(ctx, acc.Customer)
		if err != nil {
			wz.c.Logger.InfoContext(ctx, "httpapi: admin consent not confirmed yet", "customer", acc.Customer, "err", err.Error())
			return
		}
		wz.consentGranted(ctx, c)
	}()
}

// consentProgress serves GET /consent/progress?state=: how the
// confirmation of the consent the callback accepted goes. It reads the
// stored status only; while the confirmation goes on the page refreshes
// itself.
func (wz *wizard) consentProgress(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	pr, err := wz.c.Access.ConsentProgress(r.Context(), state)
	if err != nil {
		wz.fail(w, http.StatusNotFound, failure{heading: "Nothing to show",
			message: "This page follows an admin consent just granted, and there is none under this address (or it was a while ago).",
			todo:    "If you granted consent, " + wz.c.ProviderName + " confirms it on its side; you can close this page."})
		return
	}
	wz.renderProgress(w, state, pr)
}

// renderProgress writes the consent progress page.
func (wz *wizard) renderProgress(w http.ResponseWriter, state string, pr m365access.ConsentProgress) {
	d := pageData{Title: "Admin consent"}
	app := "the app"
	if pr.ClientID != "" {
		app = "the app " + pr.ClientID
	}
	switch {
	case pr.Confirmed:
		d.Heading = "Consent granted and confirmed"
		d.Message = "Admin consent for " + app + " is in place in your tenant: Microsoft Graph shows its permissions granted" +
			rolesText(pr.Roles) + "."
		d.WhatToDo = "You can close this page; there is nothing more to do."
		d.Progress = "confirmed"
	case pr.Pending:
		d.Heading = "Consent received, confirming with Microsoft…"
		d.Message = "Microsoft reported admin consent for " + app + " as granted. " + wz.c.ProviderName +
			" is now checking through Microsoft Graph that the permissions are in place; Microsoft can take a few minutes to propagate a new consent."
		d.WhatToDo = "This page updates itself. You can also close it: " + wz.c.ProviderName + " finishes the check on its own."
		d.Refresh = "3;url=progress?state=" + url.QueryEscape(state)
		d.Progress = "confirming"
	default:
		d.Heading = "Consent not confirmed"
		d.Message = "Microsoft reported admin consent for " + app + ", but Microsoft Graph still refuses its permissions."
		if pr.LastError != nil {
			d.Message += " Last answer: " + safeText(pr.LastError.Message, 300)
		}
		d.WhatToDo = "Open the consent link again as a Global Administrator of the tenant, or grant admin consent to the app in the Entra admin center (App registrations or Enterprise applications, the app, API permissions, Grant admin consent). Then ask " +
			wz.c.ProviderName + " to validate the connection."
		d.Progress = "failed"
	}
	wz.render(w, http.StatusOK, pageSuccess, d)
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	return " (" + strings.Join(roles, ", ") + ")"
}

// The wizard's audited actions.
const (
	actionConnect = "connection.complete"
	actionConsent = "consent.grant"
)

// errAuditUnavailable is the error of a wizard change whose audit entry
// could not be recorded: the change is not made.
var errAuditUnavailable = errors.New("httpapi: the audit trail could not record the change")

// audit records the outcome of a change the customer's admin made
// through the wizard, after its attempt (appendAudit) was recorded.
func (wz *wizard) audit(r *http.Request, customer, account, action string) {
	if err := wz.appendAudit(r, customer, account, action, audit.Succeeded); err != nil {
		wz.c.Logger.ErrorContext(r.Context(), "httpapi: the audit trail refused an entry", "customer", customer, "action", action, "err", err.Error())
	}
}

// appendAudit appends one entry of a wizard change. The actor is the
// account that signed in, as Microsoft named it. An error wraps
// errAuditUnavailable; nil without an audit trail.
func (wz *wizard) appendAudit(r *http.Request, customer, account, action string, outcome audit.Outcome) error {
	if wz.c.Audit == nil || customer == "" {
		return nil
	}
	if account == "" {
		account = "the customer's administrator"
	}
	e := audit.Entry{Actor: account + " (customer)", Action: action, Customer: customer, Outcome: outcome, RequestID: requestID(r)}
	if err := wz.c.Audit.Append(r.Context(), e); err != nil {
		if outcome == audit.Attempted {
			wz.c.Logger.ErrorContext(r.Context(), "httpapi: the audit trail refused an entry; the change is not made", "customer", customer, "action", action, "err", err.Error())
		}
		return fmt.Errorf("%w: %w", errAuditUnavailable, err)
	}
	return nil
}

// auditFailure answers a wizard change stopped because its audit entry
// could not be recorded.
func (wz *wizard) auditFailure(w http.ResponseWriter, heading string) {
	wz.fail(w, http.StatusInternalServerError, failure{heading: heading,
		message: wz.c.ProviderName + " could not record the change just now, so it did not make it.",
		todo:    "Try again in a few minutes. If it persists, contact " + wz.c.ProviderName + "."})
}

// consentGranted emits consent.granted for a confirmed admin consent.
func (wz *wizard) consentGranted(ctx context.Context, c *m365access.Consent) {
	if wz.c.Events == nil || c.Customer == "" {
		return
	}
	e := events.Event{Type: events.ConsentGranted, Time: c.GrantedAt,
		Key:  "consent/" + strconv.FormatInt(c.GrantedAt.UnixNano(), 10),
		Data: events.Data{Customer: c.Customer, Roles: c.Roles}}
	if err := wz.c.Events.Emit(ctx, e); err != nil {
		wz.c.Logger.WarnContext(ctx, "httpapi: emitting consent.granted failed", "customer", c.Customer, "err", err.Error())
	}
}

// retryable reports whether starting the sign-in again can help.
func retryable(err error) bool {
	var fe *m365access.FlowError
	if errors.As(err, &fe) {
		switch fe.Reason {
		case m365access.ReasonNotConfigured, m365access.ReasonWrongMode, m365access.ReasonInvitationGone:
			return false
		}
		return true
	}
	return m365access.ActionOf(err) != m365access.ActionGrantConsent
}

func statusOfFailure(err error) int {
	var fe *m365access.FlowError
	if errors.As(err, &fe) {
		if fe.Reason == m365access.ReasonNotConfigured {
			return http.StatusServiceUnavailable
		}
		return http.StatusBadRequest
	}
	var me *m365access.Error
	if errors.As(err, &me) {
		if me.Retryable {
			return http.StatusServiceUnavailable
		}
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// failureOf explains a failed sign-in or consent to the person in front
// of the browser: what happened and what to do, never the raw error.
func (wz *wizard) failureOf(err error) failure {
	prov := wz.c.ProviderName
	var fe *m365access.FlowError
	if errors.As(err, &fe) {
		switch fe.Reason {
		case m365access.ReasonStateExpired:
			return failure{heading: "The sign-in took too long", message: "The sign-in must be finished within a few minutes of starting it.",
				todo: "Start again: open the link from your invitation email and click Sign in with Microsoft."}
		case m365access.ReasonStateReused:
			return failure{heading: "This sign-in was already used", message: "Each sign-in completes once; this page was probably reloaded.",
				todo: "If you saw a success page before, nothing more is needed. Otherwise open the link from your invitation email again."}
		case m365access.ReasonStateUnknown, m365access.ReasonMissingCode, m365access.ReasonNonceMismatch, m365access.ReasonIDTokenInvalid:
			return failure{heading: "The sign-in could not be completed", message: "The answer from Microsoft does not belong to a sign-in started here.",
				todo: "Open the link from your invitation email again and click Sign in with Microsoft."}
		case m365access.ReasonBindingMismatch:
			return failure{heading: "Please use the same browser", message: "The sign-in was started in another browser, or this browser's cookies were cleared.",
				todo: "Open the link from your invitation email in this browser and click Sign in with Microsoft here, with cookies enabled."}
		case m365access.ReasonInvitationGone:
			return failure{heading: "This invitation is no longer valid", message: "It was withdrawn, replaced by a newer invitation or expired while you were signing in. Nothing was connected.",
				todo: "Use the newest invitation email you received, or ask " + prov + " to send you a new invitation."}
		case m365access.ReasonNotAdmin:
			return failure{heading: "An administrator must sign in", message: "The account that signed in is not an administrator of your organization, so it cannot connect it to " + prov + ". Nothing was changed.",
				todo: "Sign out of Microsoft (or use a private window), open the invitation link again and sign in as a Global Administrator."}
		case m365access.ReasonWrongAccount:
			return failure{heading: "A different account signed in", message: "The sign-in must use the account named in the invitation.",
				todo: "Sign out of Microsoft (or use a private window), open the invitation link again and sign in with the requested account."}
		case m365access.ReasonTenantMismatch:
			return failure{heading: "Another organization signed in", message: "The account that signed in belongs to another Microsoft 365 tenant than the one " + prov + " expects.",
				todo: "Sign in with an account of your organization's tenant, or ask " + prov + " to correct the tenant."}
		case m365access.ReasonScopesMissing, m365access.ReasonPermissionsShort:
			return failure{heading: "Permissions were not granted", message: "Microsoft did not grant every permission " + prov + " needs.",
				todo: "Try again and accept all permissions; if your organization requires it, ask a Global Administrator to grant admin consent."}
		case m365access.ReasonDenied:
			return failure{heading: "The sign-in was cancelled or refused", message: "Nothing was connected and nothing was changed.",
				todo: "Try again and choose Accept on Microsoft's page."}
		case m365access.ReasonNotConfigured, m365access.ReasonWrongMode:
			return failure{heading: "The connection is not set up yet", message: prov + " has not finished setting up this connection.",
				todo: "Contact " + prov + " and mention this page."}
		}
	}
	switch m365access.ActionOf(err) {
	case m365access.ActionGrantConsent:
		return failure{heading: "Admin consent is needed", message: "Your organization requires an administrator to approve " + prov + ".",
			todo: "Ask a Global Administrator to sign in, or ask " + prov + " for the admin consent link."}
	case m365access.ActionCompleteMFAOrSwitchToToken:
		return failure{heading: "Additional verification is needed", message: "Your organization requires multi-factor authentication or a compliant device.",
			todo: "Try again and complete the verification Microsoft asks for."}
	case m365access.ActionWaitAndRetry:
		return failure{heading: "Microsoft is busy", message: "Microsoft could not complete the sign-in just now.",
			todo: "Wait a few minutes and try again."}
	case m365access.ActionFixTenant:
		return failure{heading: "The tenant was not found", message: "Microsoft does not know the tenant " + prov + " has on record.",
			todo: "Contact " + prov + " to correct it."}
	}
	return failure{heading: "The connection could not be completed", message: "Something went wrong while finishing the sign-in.",
		todo: "Try again in a few minutes. If it keeps failing, contact " + prov + "."}
}
