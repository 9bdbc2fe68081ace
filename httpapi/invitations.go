package httpapi

import (
	"github.com/tenantgate/tenantgate/tokenstore"
	"net/http"
	"net/url"
	"time"

	"github.com/tenantgate/tenantgate/invite"
)

// invitationJSON is the Invitation resource. It never carries the link.
type invitationJSON struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	To          string     `json:"to,omitempty"`
	SentBy      string     `json:"sentBy"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   time.Time  `json:"expiresAt"`
	SentAt      *time.Time `json:"sentAt,omitempty"`
	OpenedAt    *time.Time `json:"openedAt,omitempty"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	FailedAt    *time.Time `json:"failedAt,omitempty"`
}

// invitationRequestJSON is the body of POST invitations.
type invitationRequestJSON struct {
	// To is the recipient; empty means the saved service account.
	To string `json:"to"`
}

// wizardLinkJSON is the answer of refresh-token.
type wizardLinkJSON struct {
	Invitation invitationJSON `json:"invitation"`
	// Link is the live wizard link: secret until used.
	Link      string    `json:"link"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func invitationOut(inv invite.Invitation) invitationJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return invitationJSON{
		ID: inv.ID, Status: string(inv.Status), To: inv.Recipient, SentBy: inv.SentBy,
		CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, SentAt: opt(inv.SentAt), OpenedAt: opt(inv.OpenedAt),
		CompletedAt: opt(inv.CompletedAt), RevokedAt: opt(inv.RevokedAt), FailedAt: opt(inv.FailedAt),
	}
}

// sendRequest fills an invite.SendRequest from the customer's settings.
func (a *admin) sendRequest(r *http.Request, customer, to string) (invite.SendRequest, error) {
	s, err := a.loadSettings(r, customer)
	if err != nil {
		return invite.SendRequest{}, err
	}
	if to == "" {
		to = s.ServiceAccount
	}
	return invite.SendRequest{
		Customer: customer, CustomerName: a.c.CustomerName(r.Context(), customer),
		Tenant: s.Tenant, Recipient: to, SentBy: a.c.Actor(r),
	}, nil
}

func (a *admin) sendInvitation(w http.ResponseWriter, r *http.Request, customer string) {
	var in invitationRequestJSON
	if p := decodeJSON(w, r, &in); p != nil {
		writeProblem(w, *p)
		return
	}
	req, err := a.sendRequest(r, customer, in.To)
	if err != nil {
		a.c.fail(w, r, "send invitation", err)
		return
	}
	if req.Recipient == "" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Code: codeValidation, Detail: "some fields are invalid",
			Fields: []FieldError{{Field: "to", Code: "required", Message: "give the recipient, or save the service account first"}}})
		return
	}
	inv, err := a.c.Invitations.Send(r.Context(), req)
	if err != nil {
		a.c.fail(w, r, "send invitation", err)
		return
	}
	w.Header().Set("Location", customerLocation(r, customer)+"/m365/invitations/"+url.PathEscape(inv.ID))
	writeJSON(w, http.StatusCreated, invitationOut(inv))
}

func (a *admin) listInvitations(w http.ResponseWriter, r *http.Request, customer string) {
	list, err := a.c.Invitations.List(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "list invitations", err)
		return
	}
	out := struct {
		Invitations []invitationJSON `json:"invitations"`
	}{Invitations: make([]invitationJSON, 0, len(list))}
	for _, inv := range list {
		out.Invitations = append(out.Invitations, invitationOut(inv))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) revokeInvitation(w http.ResponseWriter, r *http.Request, customer string) {
	id := r.PathValue("id")
	if (tokenstore.Key{Customer: customer, Kind: "invite", Name: id}).Validate() != nil {
		// An ID no invitation can have (too long, control characters).
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "no such invitation for this customer"})
		return
	}
	inv, err := a.c.Invitations.Revoke(r.Context(), customer, id, a.c.Actor(r))
	if err != nil {
		a.c.fail(w, r, "revoke invitation", err)
		return
	}
	writeJSON(w, http.StatusOK, invitationOut(inv))
}

// refreshToken makes a new wizard link for the service account, without
// mail: the admin passes it on (Refresh Token Now).
func (a *admin) refreshToken(w http.ResponseWriter, r *http.Request, customer string) {
	if p := decodeEmpty(w, r); p != nil {
		writeProblem(w, *p)
		return
	}
	req, err := a.sendRequest(r, customer, "")
	if err != nil {
		a.c.fail(w, r, "refresh token", err)
		return
	}
	inv, link, err := a.c.Invitations.Create(r.Context(), req)
	if err != nil {
		a.c.fail(w, r, "refresh token", err)
		return
	}
	w.Header().Set("Location", customerLocation(r, customer)+"/m365/invitations/"+url.PathEscape(inv.ID))
	writeJSON(w, http.StatusCreated, wizardLinkJSON{Invitation: invitationOut(inv), Link: link, ExpiresAt: inv.ExpiresAt})
}
