package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// reportJSON is the ValidationReport resource.
type reportJSON struct {
	OK          bool        `json:"ok"`
	AuthMode    string      `json:"authMode"`
	TenantID    string      `json:"tenantId,omitempty"`
	ValidatedAt time.Time   `json:"validatedAt"`
	Checks      []checkJSON `json:"checks"`
	// Capabilities are the optional ones (Teams Phone provisioning).
	Capabilities []m365access.Capability `json:"capabilities,omitempty"`
}

// checkJSON is one check of a validation report.
type checkJSON struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Action string `json:"action,omitempty"`
}

// statusJSON is the Status resource.
type statusJSON struct {
	State                 string                  `json:"state"`
	AuthMode              string                  `json:"authMode"`
	Account               string                  `json:"account,omitempty"`
	TenantID              string                  `json:"tenantId,omitempty"`
	ConnectedAt           *time.Time              `json:"connectedAt,omitempty"`
	LastRefreshAt         *time.Time              `json:"lastRefreshAt,omitempty"`
	LastValidatedAt       *time.Time              `json:"lastValidatedAt,omitempty"`
	LastValidationOK      bool                    `json:"lastValidationOk"`
	LastError             *lastErrorJSON          `json:"lastError,omitempty"`
	ConsentGrantedAt      *time.Time              `json:"consentGrantedAt,omitempty"`
	ConsentReportedAt     *time.Time              `json:"consentReportedAt,omitempty"`
	GrantedRoles          []string                `json:"grantedRoles,omitempty"`
	Capabilities          []m365access.Capability `json:"capabilities,omitempty"`
	RefreshTokenExpiresAt *time.Time              `json:"refreshTokenExpiresAt,omitempty"`
	SecretExpiresAt       *time.Time              `json:"secretExpiresAt,omitempty"`
	CertificateExpiresAt  *time.Time              `json:"certificateExpiresAt,omitempty"`
	QoESecretExpiresAt    *time.Time              `json:"qoeSecretExpiresAt,omitempty"`
	// QoESubscription is the call records subscription's state and
	// expiry, with Config.QoE.
	QoESubscription *qoeSubscriptionJSON `json:"qoeSubscription,omitempty"`
}

// lastErrorJSON is the last failure of a connection.
type lastErrorJSON struct {
	OccurredAt time.Time `json:"occurredAt"`
	Op         string    `json:"op"`
	Codes      []int     `json:"codes,omitempty"`
	GraphCode  string    `json:"graphCode,omitempty"`
	Action     string    `json:"action,omitempty"`
	Message    string    `json:"message"`
}

// signInLinkJSON is a Microsoft sign-in or admin consent link bound to the
// browser that asked for it.
type signInLinkJSON struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (a *admin) validate(w http.ResponseWriter, r *http.Request, customer string) {
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	rep, err := a.c.Access.Validate(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "validate", err)
		return
	}
	out := reportJSON{OK: rep.OK, AuthMode: string(rep.Mode), TenantID: rep.TenantID, ValidatedAt: rep.At, Checks: []checkJSON{}, Capabilities: rep.Capabilities}
	for _, c := range rep.Checks {
		out.Checks = append(out.Checks, checkJSON{Name: c.Name, OK: c.OK, Detail: safeText(c.Detail, 500), Action: string(c.Action)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) status(w http.ResponseWriter, r *http.Request, customer string) {
	st, err := a.c.Access.Status(r.Context(), customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		st, err = m365access.Status{Customer: customer, Mode: m365access.ModeToken, State: m365access.StateNotConnected}, nil
	}
	if err != nil {
		a.c.fail(w, r, "status", err)
		return
	}
	out := statusJSON{
		State: string(st.State), AuthMode: string(st.Mode), Account: st.Account, TenantID: st.TenantID,
		ConnectedAt: st.ConnectedAt, LastRefreshAt: st.LastRefresh, LastValidatedAt: st.LastValidation,
		LastValidationOK: st.LastValidationOK, ConsentGrantedAt: st.ConsentGrantedAt, ConsentReportedAt: st.ConsentReportedAt, GrantedRoles: st.GrantedRoles, Capabilities: st.Capabilities,
		RefreshTokenExpiresAt: st.RefreshTokenDeadline, SecretExpiresAt: st.SecretExpiresAt,
		CertificateExpiresAt: st.CertificateExpiresAt, QoESecretExpiresAt: st.QoESecretExpiresAt,
	}
	if e := st.LastError; e != nil {
		out.LastError = &lastErrorJSON{OccurredAt: e.At, Op: e.Op, Codes: e.Codes, GraphCode: e.GraphCode,
			Action: string(e.Action), Message: safeText(e.Message, 500)}
	}
	if a.c.QoE != nil {
		qs, err := a.c.QoE.Status(r.Context(), customer)
		if err != nil {
			a.c.fail(w, r, "qoe status", err)
			return
		}
		sub := subscriptionJSON(qs)
		out.QoESubscription = &sub
	}
	writeJSON(w, http.StatusOK, out)
}

// switchToToken begins a token connection whose completion flips the
// customer to token authentication. The binding cookie is set on this
// response, so the link works in the browser that asked for it.
func (a *admin) switchToToken(w http.ResponseWriter, r *http.Request, customer string) {
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	value, binding, err := newBinding()
	if err != nil {
		a.c.fail(w, r, "switch to token", err)
		return
	}
	res, err := a.c.Access.SwitchToToken(r.Context(), customer, m365access.BeginOptions{BrowserBinding: binding})
	if err != nil {
		a.c.fail(w, r, "switch to token", err)
		return
	}
	a.c.setBindingCookie(w, value, res.ExpiresAt)
	a.c.clearCookie(w, inviteCookie)
	writeJSON(w, http.StatusOK, signInLinkJSON{URL: res.AuthorizeURL, ExpiresAt: res.ExpiresAt})
}

// consentLinkJSON is the ConsentLink resource: the admin consent link of
// the app the customer's connection uses.
type consentLinkJSON struct {
	// URL works in the browser that asked for it (the binding cookie is
	// set on the response).
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
	// ShareURL is bound to no browser: give it to the customer's Global
	// Administrator to open in their own browser.
	ShareURL       string    `json:"shareUrl"`
	ShareExpiresAt time.Time `json:"shareExpiresAt"`
	// ClientID is the app the consent is for; CustomerApp says it is the
	// customer's own app registration, not the provider's app.
	ClientID    string `json:"clientId"`
	CustomerApp bool   `json:"customerApp"`
	// RedirectURI must be a Web redirect URI of the customer's own app
	// registration for the link to work.
	RedirectURI string `json:"redirectUri"`
}

// consent returns the admin consent links of the app the customer's
// connection uses (its own app registration in appRegistration mode, the
// provider's app otherwise): one bound to the browser that asked, one to
// share with the customer's administrator.
func (a *admin) consent(w http.ResponseWriter, r *http.Request, customer string) {
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	value, binding, err := newBinding()
	if err != nil {
		a.c.fail(w, r, "consent", err)
		return
	}
	bound, err := a.c.Access.AdminConsentLink(r.Context(), customer, m365access.ConsentOptions{BrowserBinding: binding})
	if err != nil {
		a.c.fail(w, r, "consent", err)
		return
	}
	shared, err := a.c.Access.AdminConsentLink(r.Context(), customer, m365access.ConsentOptions{})
	if err != nil {
		a.c.fail(w, r, "consent", err)
		return
	}
	a.c.setBindingCookie(w, value, bound.ExpiresAt)
	writeJSON(w, http.StatusOK, consentLinkJSON{URL: bound.URL, ExpiresAt: bound.ExpiresAt, ShareURL: shared.URL, ShareExpiresAt: shared.ExpiresAt,
		ClientID: bound.ClientID, CustomerApp: bound.CustomerApp, RedirectURI: bound.RedirectURI})
}
