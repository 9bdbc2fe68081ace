package graphmail

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tenantgate/tenantgate/invite"
)

// Config configures a Mailer. Client and Sender are required.
type Config struct {
	// Client is a Graph client authenticated with an app-only token of the
	// provider's tenant that carries Mail.Send.
	Client *msgraph.GraphServiceClient
	// Sender is the mailbox to send from: its user principal name or
	// object ID, for example "invites@fabrikam.example".
	Sender string
	// SaveToSentItems keeps a copy in the sender's Sent Items. The copy
	// holds a live invitation link, so the default is false.
	SaveToSentItems bool
}

// Mailer sends invite.Messages through Graph sendMail. It is safe for
// concurrent use.
type Mailer struct {
	cfg Config
}

var _ invite.Mailer = (*Mailer)(nil)

// New checks cfg and returns a Mailer. It does not call Graph.
func New(cfg Config) (*Mailer, error) {
	if cfg.Client == nil {
		return nil, errors.New("graphmail: Config.Client is required")
	}
	if cfg.Sender == "" || strings.ContainsFunc(cfg.Sender, func(r rune) bool { return r <= ' ' || r == '/' || r == '?' || r == '#' }) {
		return nil, fmt.Errorf("graphmail: Config.Sender %q must be the sending mailbox's user principal name or object ID", cfg.Sender)
	}
	return &Mailer{cfg: cfg}, nil
}

// SendError is a sendMail call Graph refused. Code is Graph's error code
// (branch on it, not on the message); Action says what a person must do
// when it is a configuration problem.
type SendError struct {
	StatusCode int    // HTTP status
	Code       string // for example "ErrorAccessDenied"
	Action     string // empty when retrying later is the remedy
	Err        error  // the SDK's error
}

// Error gives the status, Graph's code and the action.
func (e *SendError) Error() string {
	s := fmt.Sprintf("graphmail: sendMail refused (HTTP %d, %s)", e.StatusCode, e.Code)
	if e.Action != "" {
		s += ": " + e.Action
	}
	return s
}

// Unwrap returns the SDK's error.
func (e *SendError) Unwrap() error { return e.Err }

// Send sends msg as HTML from the configured sender. Graph answers 202
// once the message is queued for delivery.
func (m *Mailer) Send(ctx context.Context, msg *invite.Message) error {
	if msg == nil {
		return errors.New("graphmail: nil message")
	}
	if err := checkAddress(msg.To); err != nil {
		return fmt.Errorf("graphmail: recipient: %w", err)
	}
	if msg.ReplyTo != "" {
		if err := checkAddress(msg.ReplyTo); err != nil {
			return fmt.Errorf("graphmail: Reply-To: %w", err)
		}
	}
	if strings.ContainsAny(msg.Subject, "\r\n") {
		return errors.New("graphmail: line break in the subject: refused (header injection)")
	}
	gm := models.NewMessage()
	gm.SetSubject(&msg.Subject)
	body := models.NewItemBody()
	ct := models.HTML_BODYTYPE
	content := msg.HTML
	if content == "" {
		ct, content = models.TEXT_BODYTYPE, msg.Text
	}
	body.SetContentType(&ct)
	body.SetContent(&content)
	gm.SetBody(body)
	gm.SetToRecipients([]models.Recipientable{recipient(msg.To)})
	if msg.ReplyTo != "" {
		gm.SetReplyTo([]models.Recipientable{recipient(msg.ReplyTo)})
	}
	req := users.NewItemSendMailPostRequestBody()
	req.SetMessage(gm)
	save := m.cfg.SaveToSentItems
	req.SetSaveToSentItems(&save)
	if err := m.cfg.Client.Users().ByUserId(m.cfg.Sender).SendMail().Post(ctx, req, nil); err != nil {
		return classify(m.cfg.Sender, err)
	}
	return nil
}

func recipient(addr string) models.Recipientable {
	ea := models.NewEmailAddress()
	ea.SetAddress(&addr)
	r := models.NewRecipient()
	r.SetEmailAddress(ea)
	return r
}

func checkAddress(addr string) error {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return fmt.Errorf("%q is not one bare address like name@example.com", addr)
	}
	return nil
}

// classify turns the SDK's error into a *SendError with the action a
// person must take, or wraps transport errors.
func classify(sender string, err error) error {
	var odata *odataerrors.ODataError
	var api *abstractions.ApiError
	se := &SendError{Err: err}
	switch {
	case errors.As(err, &odata):
		se.StatusCode = odata.ResponseStatusCode
		if main := odata.GetErrorEscaped(); main != nil && main.GetCode() != nil {
			se.Code = *main.GetCode()
		}
	case errors.As(err, &api):
		se.StatusCode = api.ResponseStatusCode
	default:
		return fmt.Errorf("graphmail: sendMail as %s: %w", sender, err)
	}
	switch {
	case se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden || se.Code == "ErrorAccessDenied":
		se.Action = "grant the provider app the application permission Mail.Send with admin consent in the provider's tenant, and allow the mailbox " + sender + " in its application access policy"
	case se.StatusCode == http.StatusNotFound || se.Code == "ErrorInvalidUser" || se.Code == "MailboxNotEnabledForRESTAPI":
		se.Action = "the sender mailbox " + sender + " does not exist or has no Exchange Online license: fix graphmail Config.Sender"
	case se.Code == "ErrorInvalidRecipients":
		se.Action = "the recipient address was refused: check it"
	}
	return se
}
