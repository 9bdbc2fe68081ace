package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/httpapi"
)

// Audited actions of the portal itself (the admin API audits its own).
const (
	actionSignIn       = "portal.signin"
	actionTokenCreate  = "apitokens.create"
	actionTokenRevoke  = "apitokens.revoke"
	opManageAPITokens  = httpapi.Operation("apitokens.manage") // admin: unknown to httpapi, so admin only
	tokenExpiryMaxDays = 366
)

// tokenRow is a token as the page shows it.
type tokenRow struct {
	ID, Name, Role, State, CreatedBy string
	Created, Expires, LastUsed       string
	Live                             bool
}

// tokensView is the API tokens page's part of pageData.
type tokensView struct {
	Tokens []tokenRow
	// New is the value of a token just created: shown once.
	New, NewName string
	// Form values to show again after a refused create.
	Name, Role, Days string
	// Notice says what just happened; Error why a create was refused.
	Notice, Error string
}

// portalTime is the one date format of the token page, in UTC.
func portalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// requireRole answers pages for someone signed in with a role below
// want: 403 with a page saying which role the page needs. It returns
// the principal when it may go on.
func (p *portal) requireRole(w http.ResponseWriter, r *http.Request, want httpapi.Role, next string) (principal, bool) {
	who, err := p.auth.who(r)
	if err != nil {
		http.Redirect(w, r, "/login?next="+next, http.StatusSeeOther)
		return principal{}, false
	}
	if !who.Role.AtLeast(want) {
		d := p.data(r)
		d.Error = "This page needs the " + string(want) + " role; you are signed in as " + string(who.Role) + "."
		p.render(w, http.StatusForbidden, "forbidden.html", d)
		return principal{}, false
	}
	return who, true
}

// tokensPage (GET /tokens) lists the named API tokens: admins only.
func (p *portal) tokensPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.requireRole(w, r, httpapi.RoleAdmin, "/tokens"); !ok {
		return
	}
	p.renderTokens(w, r, http.StatusOK, tokensView{Role: string(httpapi.RoleViewer), Days: "90", Notice: r.URL.Query().Get("notice")})
}

func (p *portal) renderTokens(w http.ResponseWriter, r *http.Request, status int, v tokensView) {
	d := p.data(r)
	list, err := p.a.apiTokens.list(r.Context())
	if err != nil {
		p.a.log.Error("reading the API tokens failed", "err", err)
		http.Error(w, "the API tokens could not be read", http.StatusInternalServerError)
		return
	}
	now := p.auth.clock()
	for _, t := range list {
		v.Tokens = append(v.Tokens, tokenRow{ID: t.ID, Name: t.Name, Role: string(t.Role), State: t.state(now), CreatedBy: t.CreatedBy,
			Created: portalTime(t.Created), Expires: portalTime(t.Expires), LastUsed: portalTime(t.LastUsed), Live: t.live(now)})
	}
	d.Tokens = &v
	p.render(w, status, "tokens.html", d)
}

// createToken (POST /tokens) makes a named token and shows its value
// once.
func (p *portal) createToken(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireRole(w, r, httpapi.RoleAdmin, "/tokens")
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	v := tokensView{Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role"), Days: r.PostForm.Get("days")}
	role, err := httpapi.ParseRole(v.Role)
	if err != nil {
		v.Error = "Choose a role: viewer, operator or admin."
		p.renderTokens(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	var expires time.Time
	if v.Days != "" && v.Days != "0" {
		days, err := strconv.Atoi(v.Days)
		if err != nil || days < 1 || days > tokenExpiryMaxDays {
			v.Error = "The expiry is a number of days from 1 to 366, or never."
			p.renderTokens(w, r, http.StatusUnprocessableEntity, v)
			return
		}
		expires = p.auth.clock().Add(time.Duration(days) * 24 * time.Hour)
	}
	reqID := newRequestID()
	if err := p.auditPortal(r.Context(), who, actionTokenCreate, audit.Attempted, reqID, "token "+v.Name); err != nil {
		p.a.log.Error("auditing a token creation failed; nothing created", "err", err)
		http.Error(w, "the audit trail could not record this; nothing was created", http.StatusServiceUnavailable)
		return
	}
	t, value, err := p.a.apiTokens.create(r.Context(), v.Name, role, expires, who.actor())
	if err != nil {
		_ = p.auditPortal(r.Context(), who, actionTokenCreate, audit.Failed, reqID, "token refused")
		if errors.Is(err, errTokenName) || errors.Is(err, errTokenInput) {
			v.Error = err.Error()
			p.renderTokens(w, r, http.StatusUnprocessableEntity, v)
			return
		}
		p.a.log.Error("storing an API token failed", "err", err)
		http.Error(w, "the token could not be stored", http.StatusInternalServerError)
		return
	}
	_ = p.auditPortal(r.Context(), who, actionTokenCreate, audit.Succeeded, reqID, "token "+t.Name+" ("+string(t.Role)+")")
	p.renderTokens(w, r, http.StatusCreated, tokensView{New: value, NewName: t.Name, Role: string(httpapi.RoleViewer), Days: "90"})
}

// revokeToken (POST /tokens/{id}/revoke) ends a token at once.
func (p *portal) revokeToken(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireRole(w, r, httpapi.RoleAdmin, "/tokens")
	if !ok {
		return
	}
	id := r.PathValue("id")
	t, err := p.a.apiTokens.get(r.Context(), id)
	if errors.Is(err, errNoToken) {
		p.renderTokens(w, r, http.StatusNotFound, tokensView{Role: string(httpapi.RoleViewer), Days: "90", Notice: "There is no such token."})
		return
	}
	if err != nil {
		http.Error(w, "the API tokens could not be read", http.StatusInternalServerError)
		return
	}
	reqID := newRequestID()
	if err := p.auditPortal(r.Context(), who, actionTokenRevoke, audit.Attempted, reqID, "token "+t.Name); err != nil {
		http.Error(w, "the audit trail could not record this; nothing was revoked", http.StatusServiceUnavailable)
		return
	}
	if _, err := p.a.apiTokens.revoke(r.Context(), id); err != nil {
		_ = p.auditPortal(r.Context(), who, actionTokenRevoke, audit.Failed, reqID, "token "+t.Name)
		http.Error(w, "the token could not be revoked", http.StatusInternalServerError)
		return
	}
	_ = p.auditPortal(r.Context(), who, actionTokenRevoke, audit.Succeeded, reqID, "token "+t.Name)
	http.Redirect(w, r, "/tokens?notice="+url.QueryEscape("Revoked "+t.Name+": scripts using it are refused from now on."), http.StatusSeeOther)
}

// auditPortal records an action of the portal itself (no customer).
// newRequestID is a request ID as the admin API makes them (24 hex
// digits), which the audit keeps as it is.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (p *portal) auditPortal(ctx context.Context, who principal, action string, outcome audit.Outcome, reqID, detail string) error {
	return p.a.trail.Append(ctx, audit.Entry{Actor: who.actor(), Action: action, Outcome: outcome, RequestID: reqID, Detail: detail})
}
