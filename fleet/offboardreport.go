package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// The results of an offboarding item.
const (
	// OffboardDeleted: tenantgate deleted it (its own copy, or at
	// Microsoft where the item says so).
	OffboardDeleted = "deleted"
	// OffboardRevoked: revoked, so it no longer works.
	OffboardRevoked = "revoked"
	// OffboardNothing: there was nothing to do.
	OffboardNothing = "nothing"
	// OffboardActionRequired: only the customer's admin can do it; Action
	// says how.
	OffboardActionRequired = "actionRequired"
	// OffboardNotDone: tenantgate tried and could not; Action says what
	// remains.
	OffboardNotDone = "notDone"
)

// OffboardItem is one thing offboarding removed, or left to a person.
type OffboardItem struct {
	// Item names it, e.g. "secrets", "qoeSubscription",
	// "enterpriseApplication".
	Item string `json:"item"`
	// Result is one of OffboardDeleted, OffboardRevoked, OffboardNothing,
	// OffboardActionRequired and OffboardNotDone.
	Result string `json:"result"`
	// Detail says what was done, without secrets.
	Detail string `json:"detail"`
	// Action is the exact step left to the customer's admin, if any.
	Action string `json:"action,omitempty"`
}

// OffboardReport is what offboarding a customer did and what it leaves to
// the customer's admin. It is kept with the customer's tombstone after
// everything else is gone.
type OffboardReport struct {
	Customer   string         `json:"customer"`
	Job        int64          `json:"job"`
	StartedAt  time.Time      `json:"startedAt"`
	FinishedAt *time.Time     `json:"finishedAt,omitempty"`
	Items      []OffboardItem `json:"items"`
}

// OffboardReporter is an OffboardHook that says what it did: offboarding
// calls OffboardItems instead of Offboard and keeps the items in the
// report. Like Offboard, it must be idempotent.
type OffboardReporter interface {
	OffboardHook
	OffboardItems(ctx context.Context, customer string) ([]OffboardItem, error)
}

// OffboardReport returns the report of the customer's offboarding: while
// it runs (FinishedAt nil, the steps so far) and after it; ok is false
// when the customer was never offboarded.
func (f *Fleet) OffboardReport(ctx context.Context, customer string) (r OffboardReport, ok bool, err error) {
	var ts tombstone
	if _, ok, err := getJSON(ctx, f.cfg.Store, tombstoneKey(customer), &ts); err != nil || ok {
		if ts.Report != nil {
			r = *ts.Report
		} else if ok {
			r = OffboardReport{Customer: customer, Job: ts.Job, FinishedAt: &ts.At}
		}
		return r, ok, err
	}
	_, ok, err = getJSON(ctx, f.cfg.Store, reportKey(customer), &r)
	return r, ok, err
}

func reportKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: registryCustomer, Kind: kindOffboardReport, Name: customer}
}

// microsoftSteps are the items at Microsoft that tenantgate cannot remove
// itself, from the customer's settings as they were before offboarding
// erased them. providerApp is the provider's multi-tenant app (client
// ID), "" when unknown.
func microsoftSteps(s m365access.Settings, providerApp string) []OffboardItem {
	const center = "in the Microsoft Entra admin center (entra.microsoft.com), signed in to the customer's tenant"
	tenant := s.Tenant
	if s.TenantID != "" {
		tenant = s.TenantID
	}
	var out []OffboardItem
	switch s.Mode {
	case m365access.ModeToken, m365access.ModePassword:
		app := providerApp
		if app == "" {
			app = "of this provider"
		}
		out = append(out, OffboardItem{Item: "enterpriseApplication", Result: OffboardActionRequired,
			Detail: fmt.Sprintf("the provider's application %s keeps its service principal and consent in tenant %s", app, tenant),
			Action: fmt.Sprintf("%s as at least a Cloud Application Administrator: Identity > Applications > Enterprise applications > All applications, search for application ID %s, open it, Properties > Delete, Yes. This removes its consent (permission grants and app role assignments) too.", center, app)})
		if s.ServiceAccount != "" {
			action := fmt.Sprintf("to end it before then: %s, Identity > Users > All users > %s > Revoke sessions (this signs the account out of every app).", center, s.ServiceAccount)
			if s.Mode == m365access.ModePassword {
				action += " Change the account's password too: tenantgate held it (sealed) and has deleted its copy."
			}
			out = append(out, OffboardItem{Item: "refreshToken", Result: OffboardActionRequired,
				Detail: fmt.Sprintf("tenantgate deleted its copy of the service account %s's refresh token; Entra ID has no call that revokes one app's refresh token alone, so it stays valid at Microsoft until 90 days unused", s.ServiceAccount),
				Action: action})
		}
	case m365access.ModeAppRegistration:
		var creds []string
		if s.AppSecretSet {
			c := "its client secret"
			if s.AppSecretExpiresAt != nil {
				c += " (expiring " + s.AppSecretExpiresAt.UTC().Format(time.DateOnly) + ")"
			}
			creds = append(creds, c)
		}
		if s.AppCertificateSet {
			creds = append(creds, "its certificate (SHA-256 thumbprint "+s.AppCertificateSHA256+")")
		}
		cred := "the credential tenantgate used"
		if len(creds) > 0 {
			cred = creds[0]
			if len(creds) > 1 {
				cred += " and " + creds[1]
			}
		}
		out = append(out, OffboardItem{Item: "appCredential", Result: OffboardActionRequired,
			Detail: fmt.Sprintf("tenantgate deleted its sealed copy of %s of the customer's app registration %s; the credential itself stays valid at Microsoft", cred, s.AppClientID),
			Action: fmt.Sprintf("%s: Identity > Applications > App registrations > All applications, open application ID %s, Certificates & secrets, delete %s; or delete the app registration (Overview > Delete) if nothing else uses it.", center, s.AppClientID, cred)})
	}
	if s.QoEAppID != "" {
		out = append(out, OffboardItem{Item: "qoeAppCredential", Result: OffboardActionRequired,
			Detail: fmt.Sprintf("tenantgate deleted its sealed copy of the client secret of the call records app %s", s.QoEAppID),
			Action: fmt.Sprintf("%s: Identity > Applications > App registrations > All applications, open application ID %s, Certificates & secrets, delete its client secret; or delete the app registration if nothing else uses it.", center, s.QoEAppID)})
	}
	return out
}
