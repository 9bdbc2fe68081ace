package graphmail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/invite"
)

// DefaultGraphURL is the Microsoft Graph v1.0 endpoint of the global cloud.
const DefaultGraphURL = "https://graph.microsoft.com/v1.0"

// Config configures a Mailer. Credential and Sender are required.
type Config struct {
	// Credential gives app-only tokens of the provider's own tenant that
	// carry the application permission Mail.Send, for example an
	// azidentity.ClientSecretCredential of the provider app.
	Credential azcore.TokenCredential
	// Sender is the mailbox to send from: its user principal name or
	// object ID, for example "invites@fabrikam.example".
	Sender string
	// SaveToSentItems keeps a copy in the sender's Sent Items. The copy
	// holds a live invitation link, so the default is false.
	SaveToSentItems bool
	// GraphURL is Graph's endpoint including the version; empty means
	// DefaultGraphURL. The token is sent to its host only.
	GraphURL string
	// Transport is the HTTP transport under Graph's middleware (retry
	// honouring Retry-After, redirects); nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// Mailer sends invite.Messages through Graph sendMail, one POST each,
// through Graph's middleware pipeline. It is safe for concurrent use.
type Mailer struct {
	cfg    Config
	base   *url.URL
	scope  string
	client *http.Client
}

var _ invite.Mailer = (*Mailer)(nil)

// New checks cfg and returns a Mailer. It does not call Graph.
func New(cfg Config) (*Mailer, error) {
	if cfg.Credential == nil {
		return nil, errors.New("graphmail: Config.Credential is required (app-only tokens of the provider's tenant with Mail.Send)")
	}
	if cfg.Sender == "" || strings.ContainsFunc(cfg.Sender, func(r rune) bool { return r <= ' ' || r == '/' || r == '?' || r == '#' || r == '%' }) {
		return nil, fmt.Errorf("graphmail: Config.Sender %q must be the sending mailbox's user principal name or object ID", cfg.Sender)
	}
	raw := cfg.GraphURL
	if raw == "" {
		raw = DefaultGraphURL
	}
	base, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || base.Scheme != "https" || base.Host == "" || base.RawQuery != "" {
		return nil, fmt.Errorf("graphmail: Config.GraphURL %q is not an absolute https URL", raw)
	}
	client, err := graphhttp.NewClient(graphhttp.Options{Transport: cfg.Transport, Timeout: 60 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("graphmail: %w", err)
	}
	scope := base.Scheme + "://" + base.Host + "/.default"
	return &Mailer{cfg: cfg, base: base, scope: scope, client: client}, nil
}

// SendError is a sendMail call Graph refused. Code is Graph's error code
// (branch on it, not on the message); Action says what a person must do
// when it is a configuration problem.
type SendError struct {
	StatusCode int    // HTTP status
	Code       string // for example "ErrorAccessDenied"
	Action     string // empty when retrying later is the remedy
	Err        error  // Graph's error message, when it sent one
}

// Error gives the status, Graph's code and the action.
func (e *SendError) Error() string {
	s := fmt.Sprintf("graphmail: sendMail refused (HTTP %d, %s)", e.StatusCode, e.Code)
	if e.Action != "" {
		s += ": " + e.Action
	}
	return s
}

// Unwrap returns Graph's error message.
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
	content, ct := msg.HTML, "html"
	if content == "" {
		content, ct = msg.Text, "text"
	}
	body := sendMailBody{SaveToSentItems: m.cfg.SaveToSentItems}
	body.Message.Subject = msg.Subject
	body.Message.Body.ContentType = ct
	body.Message.Body.Content = content
	body.Message.ToRecipients = []recipient{newRecipient(msg.To)}
	if msg.ReplyTo != "" {
		body.Message.ReplyTo = []recipient{newRecipient(msg.ReplyTo)}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("graphmail: %w", err)
	}
	endpoint := m.base.JoinPath("users", m.cfg.Sender, "sendMail")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("graphmail: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := graphhttp.Authorize(ctx, req, m.cfg.Credential, []string{m.scope}, []string{m.base.Hostname()}); err != nil {
		return fmt.Errorf("graphmail: token for sendMail as %s: %w", m.cfg.Sender, err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("graphmail: sendMail as %s: %w", m.cfg.Sender, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	errBody, _ := io.ReadAll(io.LimitReader(resp.Body, graphhttp.MaxErrorBody))
	return classify(m.cfg.Sender, resp.StatusCode, errBody)
}

type sendMailBody struct {
	Message struct {
		Subject string `json:"subject"`
		Body    struct {
			ContentType string `json:"contentType"`
			Content     string `json:"content"`
		} `json:"body"`
		ToRecipients []recipient `json:"toRecipients"`
		ReplyTo      []recipient `json:"replyTo,omitempty"`
	} `json:"message"`
	SaveToSentItems bool `json:"saveToSentItems"`
}

type recipient struct {
	EmailAddress struct {
		Address string `json:"address"`
	} `json:"emailAddress"`
}

func newRecipient(addr string) recipient {
	var r recipient
	r.EmailAddress.Address = addr
	return r
}

func checkAddress(addr string) error {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return fmt.Errorf("%q is not one bare address like name@example.com", addr)
	}
	return nil
}

// classify turns Graph's refusal into a *SendError with the action a
// person must take.
func classify(sender string, status int, body []byte) error {
	se := &SendError{StatusCode: status}
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil {
		se.Code = eb.Error.Code
		if eb.Error.Message != "" {
			se.Err = errors.New(clip(eb.Error.Message))
		}
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

// clip bounds a message from Graph.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
