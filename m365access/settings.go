package m365access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// AuthMode is how the library gets tokens for a customer.
type AuthMode string

// The auth modes.
const (
	// ModeToken (recommended): a delegated sign-in of the service account
	// through the token connection; the refresh token is kept sealed.
	ModeToken AuthMode = "token"
	// ModeAppRegistration: the customer's own app registration, client
	// credentials flow with a secret or certificate.
	ModeAppRegistration AuthMode = "appRegistration"
	// ModePassword (deprecated): the service account's user name and
	// password (the resource owner password grant, which RFC 9700 forbids
	// and MFA defeats). Only for Validate and for migrating to ModeToken.
	ModePassword AuthMode = "password"
)

func (m AuthMode) known() bool {
	return m == ModeToken || m == ModeAppRegistration || m == ModePassword
}

// minSecretLen is the shortest client secret accepted (Entra's are 40).
const minSecretLen = 16

// settings is the stored form of a customer's settings. The record is
// sealed as a whole: it holds secrets.
type settings struct {
	Tenant         string   `json:"tenant"`
	TenantID       string   `json:"tenantId,omitempty"` // resolved GUID
	Mode           AuthMode `json:"mode"`
	ServiceAccount string   `json:"serviceAccount,omitempty"`
	// ServiceAccountID is the service account's object ID in the tenant,
	// learned from Graph at its first connection; with the tenant it
	// identifies the account from then on.
	ServiceAccountID string `json:"serviceAccountId,omitempty"`
	Cloud            Cloud  `json:"cloud,omitempty"`

	AppClientID        string     `json:"appClientId,omitempty"`
	AppSecret          string     `json:"appSecret,omitempty"`
	AppSecretExpiresAt *time.Time `json:"appSecretExpiresAt,omitempty"`
	AppCertPEM         string     `json:"appCertPem,omitempty"`
	AppCertThumbprint  string     `json:"appCertThumbprint,omitempty"`
	AppCertExpiresAt   *time.Time `json:"appCertExpiresAt,omitempty"`

	Password string `json:"password,omitempty"`

	QoEAppID           string     `json:"qoeAppId,omitempty"`
	QoESecret          string     `json:"qoeSecret,omitempty"`
	QoESecretExpiresAt *time.Time `json:"qoeSecretExpiresAt,omitempty"`

	UserFilter string `json:"userFilter,omitempty"`
}

// SettingsUpdate changes a customer's settings. A nil field keeps the
// stored value; a pointer to "" clears it. Secrets are write-only.
type SettingsUpdate struct {
	// Tenant is the tenant GUID or a verified domain of it.
	Tenant *string
	// Mode is the auth mode; ModeToken is recommended.
	Mode *AuthMode
	// ServiceAccount is the UPN of the customer's Global Admin or service
	// account. With ModeToken, the signed-in user must be this account.
	ServiceAccount *string
	// Cloud is the customer's cloud.
	Cloud *Cloud

	// AppClientID is the customer's app registration client ID.
	AppClientID *string
	// AppClientSecret is its client secret.
	AppClientSecret *string
	// AppClientSecretExpiresAt is when that secret expires (Entra shows
	// it when the secret is created), for the expiry forecast.
	AppClientSecretExpiresAt *time.Time
	// AppCertificatePEM is its certificate and unencrypted private key,
	// PEM encoded; the expiry is read from the certificate.
	AppCertificatePEM *string

	// Password is the service account's password (ModePassword only).
	//
	// Deprecated: the password grant fails under MFA and RFC 9700 forbids
	// it; use ModeToken.
	Password *string

	// QoEAppID is the Teams QoE notification app's client ID.
	QoEAppID *string
	// QoEClientSecret is its client secret.
	QoEClientSecret *string
	// QoEClientSecretExpiresAt is when that secret expires.
	QoEClientSecretExpiresAt *time.Time

	// UserFilter is the user sync filter (Get-CsOnlineUser syntax).
	UserFilter *string

	// ExpectVersion, when not zero, makes the save fail with a conflict
	// (errors.Is(err, tokenstore.ErrConflict)) unless the stored settings
	// still have this version (an HTTP If-Match). Zero applies the update
	// onto whatever version is current, retrying on concurrent writes.
	ExpectVersion int64
}

// Settings is what a read returns: everything but the secrets, for which
// it says only whether each is set and when it expires.
type Settings struct {
	Customer       string
	Version        int64
	UpdatedAt      time.Time
	Tenant         string
	TenantID       string // the GUID, once resolved
	Mode           AuthMode
	ServiceAccount string
	// ServiceAccountID is the service account's object ID in the tenant,
	// known after its first token connection: later sign-ins must be
	// this object.
	ServiceAccountID string
	Cloud            Cloud

	AppClientID           string
	AppSecretSet          bool
	AppSecretExpiresAt    *time.Time
	AppCertificateSet     bool
	AppCertificateSHA256  string
	AppCertificateExpires *time.Time

	PasswordSet bool

	QoEAppID           string
	QoESecretSet       bool
	QoESecretExpiresAt *time.Time

	UserFilter string
}

func (s *settings) view(customer string, rec tokenstore.Record) Settings {
	return Settings{
		Customer: customer, Version: rec.Version, UpdatedAt: rec.UpdatedAt,
		Tenant: s.Tenant, TenantID: s.TenantID, Mode: s.Mode, ServiceAccount: s.ServiceAccount, ServiceAccountID: s.ServiceAccountID, Cloud: s.Cloud,
		AppClientID: s.AppClientID, AppSecretSet: s.AppSecret != "", AppSecretExpiresAt: s.AppSecretExpiresAt,
		AppCertificateSet: s.AppCertPEM != "", AppCertificateSHA256: s.AppCertThumbprint, AppCertificateExpires: s.AppCertExpiresAt,
		PasswordSet: s.Password != "",
		QoEAppID:    s.QoEAppID, QoESecretSet: s.QoESecret != "", QoESecretExpiresAt: s.QoESecretExpiresAt,
		UserFilter: s.UserFilter,
	}
}

// tenant returns the tenant to put in authority URLs: the resolved GUID
// when known, else what was saved.
func (s *settings) tenant() string {
	if s.TenantID != "" {
		return s.TenantID
	}
	return s.Tenant
}

// Kinds of records the package stores.
const (
	kindSettings   = "m365.settings"
	kindConnection = "m365.connection"
	kindStatus     = "m365.status"
	kindPending    = "m365.pending"
)

// pendingCustomer holds sign-in and consent transactions, which are found
// by state before the customer is known. Host customer IDs must not use it.
const pendingCustomer = "_tenantgate.pending"

func settingsKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: customer, Kind: kindSettings, Name: "settings"}
}

// GetSettings returns the customer's settings without secrets, or an
// error matching tokenstore.ErrNotFound.
func (m *Manager) GetSettings(ctx context.Context, customer string) (Settings, error) {
	s, rec, err := m.loadSettings(ctx, customer)
	if err != nil {
		return Settings{}, err
	}
	return s.view(customer, rec), nil
}

// UserFilter returns the customer's user sync filter (Get-CsOnlineUser
// syntax), "" when none is set or the customer has no settings yet. It
// makes the Manager a usersync.FilterSource.
func (m *Manager) UserFilter(ctx context.Context, customer string) (string, error) {
	s, _, err := m.loadSettings(ctx, customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return s.UserFilter, nil
}

func (m *Manager) loadSettings(ctx context.Context, customer string) (*settings, tokenstore.Record, error) {
	if err := checkCustomer(customer); err != nil {
		return nil, tokenstore.Record{}, err
	}
	rec, err := tokenstore.GetSealed(ctx, m.store, settingsKey(customer))
	if err != nil {
		return nil, rec, fmt.Errorf("m365access: settings of customer %q: %w", customer, err)
	}
	var s settings
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		return nil, rec, fmt.Errorf("m365access: settings of customer %q are corrupt", customer)
	}
	return &s, rec, nil
}

// SaveSettings validates the update applied to the stored settings and
// stores the result. It returns every invalid field at once as a
// *ValidationError and stores nothing then. Concurrent saves of one
// customer do not lose updates.
func (m *Manager) SaveSettings(ctx context.Context, customer string, u SettingsUpdate) (Settings, error) {
	var tenantChanged bool
	s, rec, err := m.updateSettings(ctx, customer, u.ExpectVersion, func(s *settings, exists bool) error {
		old := s.Tenant
		if err := m.apply(s, u, exists); err != nil {
			return err
		}
		tenantChanged = exists && !strings.EqualFold(old, s.Tenant)
		return nil
	})
	if err != nil {
		return Settings{}, err
	}
	if tenantChanged {
		// A connection to another tenant is worthless now.
		if err := m.store.Delete(ctx, connectionKey(customer), tokenstore.AnyVersion); err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
			m.log.WarnContext(ctx, "m365access: dropping the old tenant's connection failed", "customer", customer, "err", err)
		}
		m.forget(customer)
	} else {
		m.forgetClients(customer)
	}
	m.emitSettingsSaved(ctx, customer)
	return s.view(customer, rec), nil
}

// updateSettings re-reads, applies fn and writes with the read version,
// retrying on conflicts unless expect pins a version.
func (m *Manager) updateSettings(ctx context.Context, customer string, expect int64, fn func(s *settings, exists bool) error) (*settings, tokenstore.Record, error) {
	if err := checkCustomer(customer); err != nil {
		return nil, tokenstore.Record{}, err
	}
	key := settingsKey(customer)
	for attempt := 0; ; attempt++ {
		var s settings
		var version int64
		rec, err := tokenstore.GetSealed(ctx, m.store, key)
		switch {
		case err == nil:
			if err := json.Unmarshal(rec.Data, &s); err != nil {
				return nil, rec, fmt.Errorf("m365access: settings of customer %q are corrupt", customer)
			}
			version = rec.Version
		case errors.Is(err, tokenstore.ErrNotFound):
		default:
			return nil, rec, fmt.Errorf("m365access: reading settings of customer %q: %w", customer, err)
		}
		if expect != 0 && expect != version {
			return nil, rec, fmt.Errorf("m365access: settings of customer %q: %w", customer,
				&tokenstore.ConflictError{Key: key, Expected: expect, Actual: version})
		}
		if err := fn(&s, version != 0); err != nil {
			return nil, rec, err
		}
		data, err := json.Marshal(&s)
		if err != nil {
			return nil, rec, err
		}
		out, err := m.store.Put(ctx, tokenstore.Record{Key: key, Data: data, Sealed: true}, version)
		if err == nil {
			return &s, out, nil
		}
		if !errors.Is(err, tokenstore.ErrConflict) || expect != 0 || attempt >= 20 {
			return nil, rec, fmt.Errorf("m365access: saving settings of customer %q: %w", customer, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, rec, err
		}
	}
}

// apply validates u against s and applies it, reporting every problem:
// each section applies its fields in turn, then each checks its part of
// the whole record, so the problems come in the sections' order.
func (m *Manager) apply(s *settings, u SettingsUpdate, exists bool) error {
	c := &settingsChange{m: m, s: s, u: u, exists: exists, old: *s, now: time.Now()}
	for _, sec := range settingsSections {
		if sec.apply != nil {
			sec.apply(c)
		}
	}
	for _, sec := range settingsSections {
		if sec.check != nil {
			sec.check(c)
		}
	}
	return c.fe.err()
}

// settingsChange is one update being applied: the settings changed in
// place, the update, the settings as they were and the problems found.
type settingsChange struct {
	m      *Manager
	s      *settings
	u      SettingsUpdate
	exists bool
	old    settings
	now    time.Time
	fe     fieldErrors
}

// settingsSection is one section of a customer's settings. apply copies
// the update's fields of the section (reporting what only the value given
// shows, such as an expiry already past); check checks the section in the
// whole record. Either may be nil.
type settingsSection struct {
	name  string
	apply func(c *settingsChange)
	check func(c *settingsChange)
}

// settingsSections are the sections in order; a new setting is a new
// section or a line in one.
var settingsSections = []settingsSection{
	{"tenant", applyTenant, checkTenant},
	{"mode", applyMode, checkMode},
	{"serviceAccount", applyServiceAccount, checkServiceAccount},
	{"cloud", applyCloud, checkCloud},
	{"appRegistration", applyAppRegistration, checkAppRegistration},
	{"password", applyPassword, checkPassword},
	{"qoe", applyQoE, checkQoE},
	{"userFilter", applyUserFilter, checkUserFilter},
}

// setTrimmed sets *dst to src without surrounding spaces when src is given.
func setTrimmed(dst *string, src *string) {
	if src != nil {
		*dst = strings.TrimSpace(*src)
	}
}

func applyTenant(c *settingsChange) {
	if c.u.Tenant == nil {
		return
	}
	setTrimmed(&c.s.Tenant, c.u.Tenant)
	c.s.TenantID = ""
	if isGUID(c.s.Tenant) {
		c.s.TenantID = strings.ToLower(c.s.Tenant)
	}
}

func checkTenant(c *settingsChange) {
	switch {
	case c.s.Tenant == "":
		c.fe.add("tenant", CodeRequired, "the tenant (GUID or verified domain) is required")
	case !isTenant(c.s.Tenant):
		c.fe.add("tenant", CodeInvalid, "the tenant must be a GUID or a domain such as contoso.onmicrosoft.com")
	}
}

// applyMode sets the mode; new settings without one are a token
// connection.
func applyMode(c *settingsChange) {
	if c.u.Mode != nil {
		c.s.Mode = *c.u.Mode
	}
	if c.s.Mode == "" && !c.exists {
		c.s.Mode = ModeToken
	}
}

func checkMode(c *settingsChange) {
	if !c.s.Mode.known() {
		c.fe.add("mode", CodeUnknown, "the mode must be token, appRegistration or password")
	}
}

// applyServiceAccount sets the service account; another account (or
// tenant) forgets the pinned object ID, learnt again at the next sign-in.
func applyServiceAccount(c *settingsChange) {
	setTrimmed(&c.s.ServiceAccount, c.u.ServiceAccount)
	if !strings.EqualFold(c.old.ServiceAccount, c.s.ServiceAccount) || !strings.EqualFold(c.old.Tenant, c.s.Tenant) {
		c.s.ServiceAccountID = ""
	}
}

func checkServiceAccount(c *settingsChange) {
	switch {
	case c.s.ServiceAccount == "" && c.s.Mode == ModePassword:
		c.fe.add("serviceAccount", CodeRequired, "the password mode needs the service account")
	case c.s.ServiceAccount != "" && !isUPN(c.s.ServiceAccount):
		c.fe.add("serviceAccount", CodeInvalid, "the service account must be a user principal name such as admin@contoso.com")
	}
}

func applyCloud(c *settingsChange) {
	if c.u.Cloud != nil {
		c.s.Cloud = *c.u.Cloud
	}
}

func checkCloud(c *settingsChange) {
	if _, err := c.m.clouds.Lookup(c.s.Cloud); err != nil {
		c.fe.add("cloud", CodeUnknown, "the cloud must be global, usGovL4, usGovL5 or china")
	}
}

// applyAppRegistration sets the app registration's client ID and
// credentials (a secret with its expiry, a certificate). Secrets are kept
// verbatim; removing one forgets its expiry.
func applyAppRegistration(c *settingsChange) {
	s, u := c.s, c.u
	setTrimmed(&s.AppClientID, u.AppClientID)
	if u.AppClientSecret != nil {
		s.AppSecret = *u.AppClientSecret
		if s.AppSecret == "" {
			s.AppSecretExpiresAt = nil
		}
	}
	if u.AppClientSecretExpiresAt != nil {
		t := u.AppClientSecretExpiresAt.UTC()
		s.AppSecretExpiresAt = &t
		if t.Before(c.now) {
			c.fe.add("appRegistration.clientSecretExpiresAt", CodeExpired, "the client secret expired on %s", t.Format(time.RFC3339))
		}
	}
	if u.AppCertificatePEM != nil {
		applyAppCertificate(c, *u.AppCertificatePEM)
	}
}

// applyAppCertificate sets the app registration's certificate (PEM,
// empty to remove it) with its thumbprint and expiry.
func applyAppCertificate(c *settingsChange, pem string) {
	s := c.s
	s.AppCertPEM, s.AppCertThumbprint, s.AppCertExpiresAt = pem, "", nil
	if pem == "" {
		return
	}
	_, _, info, err := parseCertificatePEM([]byte(pem))
	switch {
	case err != nil:
		c.fe.add("appRegistration.certificate", CodeUnparseable, "%v", err)
	case info.NotAfter.Before(c.now):
		c.fe.add("appRegistration.certificate", CodeExpired, "the certificate expired on %s", info.NotAfter.UTC().Format(time.RFC3339))
	default:
		exp := info.NotAfter.UTC()
		s.AppCertThumbprint, s.AppCertExpiresAt = info.Thumbprint, &exp
	}
}

func checkAppRegistration(c *settingsChange) {
	s := c.s
	switch {
	case s.AppClientID == "" && s.Mode == ModeAppRegistration:
		c.fe.add("appRegistration.clientId", CodeRequired, "the app registration's client ID is required")
	case s.AppClientID != "" && !isGUID(s.AppClientID):
		c.fe.add("appRegistration.clientId", CodeInvalid, "the client ID must be a GUID")
	}
	switch {
	case s.AppSecret == "" && s.AppCertPEM == "" && s.Mode == ModeAppRegistration:
		c.fe.add("appRegistration.clientSecret", CodeRequired, "a client secret or a certificate is required")
	case s.AppSecret != "" && len(s.AppSecret) < minSecretLen:
		c.fe.add("appRegistration.clientSecret", CodeTooShort, "the client secret must have at least %d characters", minSecretLen)
	}
}

func applyPassword(c *settingsChange) {
	if c.u.Password != nil {
		c.s.Password = *c.u.Password
	}
}

func checkPassword(c *settingsChange) {
	if c.s.Password == "" && c.s.Mode == ModePassword {
		c.fe.add("password", CodeRequired, "the password mode needs the service account's password")
	}
}

// applyQoE sets the call quality app and its secret (kept verbatim;
// removing it forgets its expiry).
func applyQoE(c *settingsChange) {
	s, u := c.s, c.u
	setTrimmed(&s.QoEAppID, u.QoEAppID)
	if u.QoEClientSecret != nil {
		s.QoESecret = *u.QoEClientSecret
		if s.QoESecret == "" {
			s.QoESecretExpiresAt = nil
		}
	}
	if u.QoEClientSecretExpiresAt != nil {
		t := u.QoEClientSecretExpiresAt.UTC()
		s.QoESecretExpiresAt = &t
		if t.Before(c.now) {
			c.fe.add("qoe.clientSecretExpiresAt", CodeExpired, "the QoE client secret expired on %s", t.Format(time.RFC3339))
		}
	}
}

// checkQoE checks the call quality app: both its ID and secret, or
// neither.
func checkQoE(c *settingsChange) {
	s := c.s
	if s.QoEAppID == "" && s.QoESecret == "" {
		return
	}
	switch {
	case s.QoEAppID == "":
		c.fe.add("qoe.appId", CodeRequired, "the QoE app ID is required with its secret")
	case !isGUID(s.QoEAppID):
		c.fe.add("qoe.appId", CodeInvalid, "the QoE app ID must be a GUID")
	}
	switch {
	case s.QoESecret == "":
		c.fe.add("qoe.clientSecret", CodeRequired, "the QoE app's client secret is required")
	case len(s.QoESecret) < minSecretLen:
		c.fe.add("qoe.clientSecret", CodeTooShort, "the QoE client secret must have at least %d characters", minSecretLen)
	}
}

func applyUserFilter(c *settingsChange) { setTrimmed(&c.s.UserFilter, c.u.UserFilter) }

// checkUserFilter checks a filter given in this update with the
// Manager's filter validator, when it has one.
func checkUserFilter(c *settingsChange) {
	if c.u.UserFilter == nil || c.s.UserFilter == "" || c.m.validateFilter == nil {
		return
	}
	if err := c.m.validateFilter(c.s.UserFilter); err != nil {
		c.fe.add("userFilter", CodeInvalid, "%v", err)
	}
}

func checkCustomer(customer string) error {
	if customer == "" || customer == pendingCustomer {
		return fmt.Errorf("m365access: invalid customer ID %q", customer)
	}
	return nil
}
