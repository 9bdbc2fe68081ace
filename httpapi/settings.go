package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/usersync/filter"
)

// settingsJSON is the Settings resource. Secrets are write-only: reads
// carry only whether each is set and when it expires.
type settingsJSON struct {
	Customer              string     `json:"customer"`
	Version               int64      `json:"version"`
	UpdatedAt             *time.Time `json:"updatedAt,omitempty"`
	Tenant                string     `json:"tenant"`
	TenantID              string     `json:"tenantId,omitempty"`
	AuthMode              string     `json:"authMode"`
	ServiceAccount        string     `json:"serviceAccount"`
	Cloud                 string     `json:"cloud,omitempty"`
	ClientID              string     `json:"clientId"`
	ClientSecretSet       bool       `json:"clientSecretSet"`
	ClientSecretExpiresAt *time.Time `json:"clientSecretExpiresAt,omitempty"`
	CertificateSet        bool       `json:"certificateSet"`
	CertificateSHA256     string     `json:"certificateSha256,omitempty"`
	CertificateExpiresAt  *time.Time `json:"certificateExpiresAt,omitempty"`
	PasswordSet           bool       `json:"passwordSet"`
	UserFilter            string     `json:"userFilter"`
}

// settingsUpdateJSON is the body of PUT settings. An absent (or null)
// field keeps the stored value; "" clears it.
type settingsUpdateJSON struct {
	Tenant                *string    `json:"tenant"`
	AuthMode              *string    `json:"authMode"`
	ServiceAccount        *string    `json:"serviceAccount"`
	Cloud                 *string    `json:"cloud"`
	ClientID              *string    `json:"clientId"`
	ClientSecret          *string    `json:"clientSecret"`
	ClientSecretExpiresAt *time.Time `json:"clientSecretExpiresAt"`
	CertificatePEM        *string    `json:"certificatePem"`
	Password              *string    `json:"password"`
	UserFilter            *string    `json:"userFilter"`
}

// settingsReadOnlyJSON are the read-only fields of Settings: a PUT
// accepts and ignores them, so that a client can send back what it read
// (read-modify-write).
type settingsReadOnlyJSON struct {
	Customer             any `json:"customer"`
	Version              any `json:"version"`
	UpdatedAt            any `json:"updatedAt"`
	TenantID             any `json:"tenantId"`
	ClientSecretSet      any `json:"clientSecretSet"`
	CertificateSet       any `json:"certificateSet"`
	CertificateSHA256    any `json:"certificateSha256"`
	CertificateExpiresAt any `json:"certificateExpiresAt"`
	PasswordSet          any `json:"passwordSet"`
}

// qoeJSON is the QoE resource.
type qoeJSON struct {
	AppID                 string     `json:"appId"`
	ClientSecretSet       bool       `json:"clientSecretSet"`
	ClientSecretExpiresAt *time.Time `json:"clientSecretExpiresAt,omitempty"`
}

// qoeUpdateJSON is the body of PUT qoe.
type qoeUpdateJSON struct {
	AppID                 *string    `json:"appId"`
	ClientSecret          *string    `json:"clientSecret"`
	ClientSecretExpiresAt *time.Time `json:"clientSecretExpiresAt"`
}

func settingsOut(customer string, s m365access.Settings) settingsJSON {
	out := settingsJSON{
		Customer: customer, Version: s.Version, Tenant: s.Tenant, TenantID: s.TenantID,
		AuthMode: string(s.Mode), ServiceAccount: s.ServiceAccount, Cloud: string(s.Cloud),
		ClientID: s.AppClientID, ClientSecretSet: s.AppSecretSet, ClientSecretExpiresAt: s.AppSecretExpiresAt,
		CertificateSet: s.AppCertificateSet, CertificateSHA256: s.AppCertificateSHA256,
		CertificateExpiresAt: s.AppCertificateExpires, PasswordSet: s.PasswordSet, UserFilter: s.UserFilter,
	}
	if !s.UpdatedAt.IsZero() {
		t := s.UpdatedAt
		out.UpdatedAt = &t
	}
	if out.AuthMode == "" {
		out.AuthMode = string(m365access.ModeToken)
	}
	return out
}

// loadSettings returns the customer's settings, or empty settings when the
// customer has none yet.
func (a *admin) loadSettings(r *http.Request, customer string) (m365access.Settings, error) {
	s, err := a.c.Access.GetSettings(r.Context(), customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return m365access.Settings{Customer: customer}, nil
	}
	return s, err
}

func (a *admin) getSettings(w http.ResponseWriter, r *http.Request, customer string) {
	s, err := a.loadSettings(r, customer)
	if err != nil {
		a.c.fail(w, r, "get settings", err)
		return
	}
	w.Header().Set("ETag", etag(s.Version))
	writeJSON(w, http.StatusOK, settingsOut(customer, s))
}

func (a *admin) putSettings(w http.ResponseWriter, r *http.Request, customer string) {
	var body struct {
		settingsUpdateJSON
		settingsReadOnlyJSON
	}
	if p := decodeJSON(w, r, &body); p != nil {
		writeProblem(w, *p)
		return
	}
	expect, ok := ifMatch(r)
	if !ok {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadQuery, Detail: `If-Match must be a version ETag such as "3"`})
		return
	}
	if gone, err := a.offboarding(r.Context(), customer); err != nil {
		a.c.fail(w, r, "read the customer", err)
		return
	} else if gone {
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeOffboarding,
			Detail: "the customer is being offboarded; save its settings when that finished"})
		return
	}
	// PUT on a customer never created creates it (documented, for the
	// clients written before POST /customers), answering 200 as before;
	// on an offboarded one it creates it again, lifting the fence
	// offboarding left (after the tombstone's retention, only POST
	// /customers does).
	if a.c.Fleet != nil {
		if gone, err := a.c.Fleet.Offboarded(r.Context(), customer); err != nil {
			a.c.fail(w, r, "read the customer", err)
			return
		} else if gone {
			if err := a.c.Fleet.Unfence(r.Context(), customer); err != nil {
				a.c.fail(w, r, "create the customer again", err)
				return
			}
		}
	}
	a.saveSettings(w, r, customer, body.settingsUpdateJSON, expect, "", http.StatusOK)
}

// saveSettings validates and saves settings, then enrolls the customer in
// the fleet: a refused save writes nothing. status is the success status
// (201 for a new customer, with its Location).
func (a *admin) saveSettings(w http.ResponseWriter, r *http.Request, customer string, in settingsUpdateJSON, expect int64, name string, status int) {
	if in.UserFilter != nil {
		if fe := checkFilter(*in.UserFilter); fe != nil {
			writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation,
				Detail: "some fields are invalid", Action: string(m365access.ActionFixFilter), Fields: []FieldError{*fe}})
			return
		}
	}
	u := m365access.SettingsUpdate{
		Tenant: in.Tenant, ServiceAccount: in.ServiceAccount, AppClientID: in.ClientID,
		AppClientSecret: in.ClientSecret, AppClientSecretExpiresAt: in.ClientSecretExpiresAt,
		AppCertificatePEM: in.CertificatePEM, UserFilter: in.UserFilter, ExpectVersion: expect,
	}
	if in.Password != nil {
		//lint:ignore SA1019 the settings screen keeps the legacy password mode, to validate and migrate away only.
		u.Password = in.Password
	}
	if in.AuthMode != nil {
		m := m365access.AuthMode(*in.AuthMode)
		u.Mode = &m
	}
	if in.Cloud != nil {
		cl := m365access.Cloud(*in.Cloud)
		u.Cloud = &cl
	}
	s, err := a.c.Access.SaveSettings(r.Context(), customer, u)
	if err != nil {
		if expect != 0 && errors.Is(err, tokenstore.ErrConflict) {
			writeProblem(w, Problem{Status: http.StatusPreconditionFailed, Code: codeVersionMismatch,
				Detail: "the settings were changed meanwhile; read them again"})
			return
		}
		a.c.fail(w, r, "save settings", err)
		return
	}
	if err := a.enroll(r.Context(), customer, name); errors.Is(err, fleet.ErrOffboarding) {
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeOffboarding,
			Detail: "the customer is being offboarded; save its settings when that finished"})
		return
	} else if err != nil {
		a.c.fail(w, r, "enroll the customer", err)
		return
	}
	w.Header().Set("ETag", etag(s.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", customerLocation(r, customer)+"/m365")
	}
	writeJSON(w, status, settingsOut(customer, s))
}

// customerLocation is the customer's URL for a Location header: the
// request's path (as the client sent it, so with the prefix the API is
// mounted under) up to /customers, then /customers/{customer}.
func customerLocation(r *http.Request, customer string) string {
	p := r.URL.EscapedPath()
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
		p = u.EscapedPath()
	}
	if i := strings.LastIndex(p, "/customers"); i >= 0 {
		p = p[:i]
	} else {
		p = ""
	}
	return p + "/customers/" + url.PathEscape(customer)
}

func (a *admin) getQoE(w http.ResponseWriter, r *http.Request, customer string) {
	s, err := a.loadSettings(r, customer)
	if err != nil {
		a.c.fail(w, r, "get qoe", err)
		return
	}
	a.syncQoESubscription(r, customer)
	writeJSON(w, http.StatusOK, qoeJSON{AppID: s.QoEAppID, ClientSecretSet: s.QoESecretSet, ClientSecretExpiresAt: s.QoESecretExpiresAt})
}

func (a *admin) putQoE(w http.ResponseWriter, r *http.Request, customer string) {
	var in qoeUpdateJSON
	if p := decodeJSON(w, r, &in); p != nil {
		writeProblem(w, *p)
		return
	}
	a.dropQoESubscription(r, customer, in)
	s, err := a.c.Access.SaveSettings(r.Context(), customer, m365access.SettingsUpdate{
		QoEAppID: in.AppID, QoEClientSecret: in.ClientSecret, QoEClientSecretExpiresAt: in.ClientSecretExpiresAt,
	})
	if err != nil {
		var ve *m365access.ValidationError
		if errors.As(err, &ve) {
			// The QoE resource names its fields without the "qoe." prefix;
			// other settings (say, a missing tenant) keep their names.
			p := problemFor(err)
			for i := range p.Fields {
				p.Fields[i].Field = strings.TrimPrefix(p.Fields[i].Field, "qoe.")
			}
			writeProblem(w, p)
			return
		}
		a.c.fail(w, r, "save qoe", err)
		return
	}
	a.syncQoESubscription(r, customer)
	writeJSON(w, http.StatusOK, qoeJSON{AppID: s.QoEAppID, ClientSecretSet: s.QoESecretSet, ClientSecretExpiresAt: s.QoESecretExpiresAt})
}

// checkFilter compiles a user filter and says what is wrong with it.
func checkFilter(text string) *FieldError {
	if _, err := filter.Compile(text); err != nil {
		return &FieldError{Field: "userFilter", Code: m365access.CodeInvalid, Message: safeText(err.Error(), 300)}
	}
	return nil
}

// etag is the ETag of a settings version.
func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ifMatch reads an If-Match header holding one version ETag; 0 when absent.
func ifMatch(r *http.Request) (int64, bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, true
	}
	h = strings.TrimPrefix(h, "W/")
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return 0, false
	}
	v, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}
