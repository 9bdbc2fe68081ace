package httpapi

import (
	"context"
	"net/url"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/m365access"
)

// accessAPI is what the handlers use of the *m365access.Manager
// (Config.Access): settings and validation, the connection's status and
// sign-in, the wizard's callbacks, the user filter and the public URLs.
type accessAPI interface {
	GetSettings(ctx context.Context, customer string) (m365access.Settings, error)
	SaveSettings(ctx context.Context, customer string, u m365access.SettingsUpdate) (m365access.Settings, error)
	Validate(ctx context.Context, customer string) (*m365access.Report, error)
	Status(ctx context.Context, customer string) (m365access.Status, error)
	Begin(ctx context.Context, customer string, opts m365access.BeginOptions) (m365access.BeginResult, error)
	SwitchToToken(ctx context.Context, customer string, opts m365access.BeginOptions) (m365access.BeginResult, error)
	CompleteWith(ctx context.Context, state, code, browserBinding string, opts m365access.CompleteOptions) (*m365access.Connection, error)
	CompleteCallback(ctx context.Context, q url.Values, browserBinding string) (*m365access.Connection, error)
	// AdminConsentLink gives the admin consent link of the app the
	// customer's connection uses (its own app registration, or the
	// provider's app).
	AdminConsentLink(ctx context.Context, customer string, opts m365access.ConsentOptions) (m365access.ConsentLink, error)
	// AcceptConsentWith takes a consent callback at once; ConfirmConsent
	// confirms it (the wizard runs it in the background) and
	// ConsentProgress follows it.
	AcceptConsentWith(ctx context.Context, cb m365access.ConsentCallback, browserBinding string, opts m365access.AcceptOptions) (*m365access.AcceptedConsent, error)
	ConfirmConsent(ctx context.Context, customer string) (*m365access.Consent, error)
	ConsentProgress(ctx context.Context, state string) (m365access.ConsentProgress, error)
	UserFilter(ctx context.Context, customer string) (string, error)
	PublicURLs() m365access.PublicURLs
}

// invitationsAPI is what the handlers use of the *invite.Service
// (Config.Invitations).
type invitationsAPI interface {
	Send(ctx context.Context, req invite.SendRequest) (invite.Invitation, error)
	Create(ctx context.Context, req invite.SendRequest) (invite.Invitation, string, error)
	List(ctx context.Context, customer string) ([]invite.Invitation, error)
	Revoke(ctx context.Context, customer, id, revokedBy string) (invite.Invitation, error)
	Redeem(ctx context.Context, token, clientKey string) (invite.Invitation, error)
	Start(ctx context.Context, token, clientKey string) (invite.Invitation, error)
	Live(ctx context.Context, customer, id string) error
	Complete(ctx context.Context, customer, id string) (invite.Invitation, error)
	PublicBaseURL() string
}

// fleetAPI is what the handlers use of the *fleet.Fleet (Config.Fleet).
type fleetAPI interface {
	Enroll(ctx context.Context, customer, name string) error
	Customers(ctx context.Context, opts fleet.ListOptions) (fleet.Page, error)
	Customer(ctx context.Context, customer string) (fleet.Customer, error)
	Offboard(ctx context.Context, customer string) (fleet.Job, error)
	SyncNow(ctx context.Context, customer string) (fleet.SyncRun, error)
	LatestSync(ctx context.Context, customer string) (fleet.SyncRun, bool, error)
	CancelSync(ctx context.Context, customer string) (fleet.SyncRun, error)
	Offboarded(ctx context.Context, customer string) (bool, error)
	OffboardReport(ctx context.Context, customer string) (fleet.OffboardReport, bool, error)
	Unfence(ctx context.Context, customer string) error
}
