package invite

import "time"

// Status is where an invitation is in its lifecycle.
type Status string

// The statuses of an invitation. Pending and opened invitations are live:
// their link works until ExpiresAt.
const (
	// StatusPending: sent (or created), not opened yet.
	StatusPending Status = "pending"
	// StatusOpened: the recipient opened the link at least once.
	StatusOpened Status = "opened"
	// StatusCompleted: the token connection was established through it;
	// the link opens nothing any more.
	StatusCompleted Status = "completed"
	// StatusExpired: it was still live when ExpiresAt passed.
	StatusExpired Status = "expired"
	// StatusRevoked: a provider admin revoked it, or a newer invitation of
	// the same customer superseded it.
	StatusRevoked Status = "revoked"
	// StatusFailed: the mail could not be sent, so the link was never
	// delivered and does not work.
	StatusFailed Status = "failed"
)

// Live reports whether an invitation in this status can still be redeemed.
func (s Status) Live() bool { return s == StatusPending || s == StatusOpened }

// Permission is one permission the token connection will be granted, with
// the reason the provider needs it, as the email explains it.
type Permission struct {
	// Name is the permission as Microsoft Entra ID names it, for example
	// "User.Read.All".
	Name string `json:"name"`
	// Reason says in plain words why the provider needs it.
	Reason string `json:"reason"`
}

// DefaultPermissions are the delegated permissions of the token connection
// that the email lists when Options.Permissions is empty.
var DefaultPermissions = []Permission{
	{Name: "User.Read.All", Reason: "to read the users of your organization so that they can be set up in our service"},
	{Name: "offline_access", Reason: "to keep this access without asking you to sign in again; you can revoke it at any time in Microsoft Entra ID"},
	{Name: "openid, profile", Reason: "to confirm which account and tenant signed in"},
}

// Invitation is one invitation as the provider's admins see it. It never
// holds the token or the link.
type Invitation struct {
	// ID identifies the invitation within its customer. IDs sort in
	// creation order.
	ID string `json:"id"`
	// Customer is the host's customer ID.
	Customer string `json:"customer"`
	// CustomerName is the customer's display name, as shown in the email.
	CustomerName string `json:"customerName,omitempty"`
	// Tenant is the customer's tenant (domain or ID) as shown in the email.
	Tenant string `json:"tenant,omitempty"`
	// Recipient is the address the invitation was sent to; empty for an
	// invitation made by Create whose link the admin passes on himself.
	Recipient string `json:"recipient,omitempty"`
	// SentBy names the provider admin who sent it.
	SentBy string `json:"sentBy"`
	// Status is the current status; an expired invitation reads as
	// StatusExpired without any write.
	Status Status `json:"status"`

	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	SentAt      time.Time `json:"sentAt,omitzero"`      // when the mail was accepted
	OpenedAt    time.Time `json:"openedAt,omitzero"`    // first Redeem
	CompletedAt time.Time `json:"completedAt,omitzero"` // Complete
	RevokedAt   time.Time `json:"revokedAt,omitzero"`   // Revoke or superseded
	FailedAt    time.Time `json:"failedAt,omitzero"`    // the mail failed

	// RevokedBy names who revoked it; SupersededBy is the ID of the newer
	// invitation that replaced it, when that was the reason.
	RevokedBy    string `json:"revokedBy,omitempty"`
	SupersededBy string `json:"supersededBy,omitempty"`
	// Failure says why the mail could not be sent (StatusFailed).
	Failure string `json:"failure,omitempty"`
}

// effective returns inv with Status turned to StatusExpired when it was
// live at ExpiresAt and now is past it.
func (inv Invitation) effective(now time.Time) Invitation {
	if inv.Status.Live() && !now.Before(inv.ExpiresAt) {
		inv.Status = StatusExpired
	}
	return inv
}
