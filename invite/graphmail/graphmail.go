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
	"strconv"
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
	// Transport is the HTTP transport under Graph's middleware
	// (redirects, telemetry); nil means http.DefaultTransport.
	Transport http.RoundTripper
	// MaxRetries is how often a throttled or unavailable send (429
	// ApplicationThrottled / MailboxConcurrency, 503, 504) is retried;
	// zero means 3, negative none. Other refusals are never retried: a
	// person must act first (SendError.Action).
	MaxRetries int
	// RetryDelay is the first wait before a retry when Graph sends no
	// Retry-After (Exchange often omits it), doubled after each retry up
	// to a minute; zero means 2 s. A Retry-After is honoured up to
	// MaxRetryAfter.
	RetryDelay time.Duration
}

// MaxRetryAfter bounds how long Send waits on one Retry-After: a longer
// one fails the send as retryable instead of holding the caller.
const MaxRetryAfter = 2 * time.Minute

// Mailer sends invite.Messages through Graph sendMail, one POST each,
// through Graph's middleware pipeline. It is safe for concurrent use.
type Mailer struct {
	cfg    Config
	base   *url.URL
	scope  string
	client *http.Client
	// sleep waits d or until ctx ends; tests replace it to see the
	// backoff without waiting.
	sleep func(ctx context.Context, d time.Duration) error
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
	if cfg.RetryDelay < 0 {
		return nil, fmt.Errorf("graphmail: Config.RetryDelay %s is negative", cfg.RetryDelay)
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = 3
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 2 * time.Second
	}
	// Retries are Send's own: it knows which refusals a retry can help.
	client, err := graphhttp.NewClient(graphhttp.Options{Transport: cfg.Transport, NoRetry: true, Timeout: 60 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("graphmail: %w", err)
	}
	scope := base.Scheme + "://" + base.Host + "/.default"
	return &Mailer{cfg: cfg, base: base, scope: scope, client: client, sleep: sleepCtx}, nil
}

// Reason classifies a sendMail refusal: what a person must fix, or that
// a retry later helps.
type Reason string

// The reasons of SendError.
const (
	// ReasonPermission: the provider app may not send as the mailbox
	// (401/403 ErrorAccessDenied): grant Mail.Send, check the application
	// access policy.
	ReasonPermission Reason = "permission"
	// ReasonMailbox: the sender has no usable Exchange Online mailbox
	// (404 ErrorInvalidUser, MailboxNotEnabledForRESTAPI): license or
	// enable it, or fix Config.Sender.
	ReasonMailbox Reason = "mailbox"
	// ReasonSendAs: the mailbox may not send as the From address
	// (ErrorSendAsDenied).
	ReasonSendAs Reason = "sendAs"
	// ReasonQuota: the sender's mailbox is full (ErrorQuotaExceeded).
	ReasonQuota Reason = "quota"
	// ReasonRecipient: the recipient address was refused
	// (ErrorInvalidRecipients): fix the address.
	ReasonRecipient Reason = "recipient"
	// ReasonMessageSize: the message is over the size limit
	// (ErrorMessageSizeExceeded).
	ReasonMessageSize Reason = "messageSize"
	// ReasonThrottled: Exchange throttled the app or the mailbox (429
	// ApplicationThrottled, MailboxConcurrency) or Graph was unavailable
	// (503, 504). Send retried it; sending again later helps.
	ReasonThrottled Reason = "throttled"
	// ReasonOther: any other refusal; SendError.Code says which.
	ReasonOther Reason = "other"
)

// SendError is a sendMail call Graph refused. Branch on Reason (or Code,
// Graph's error code), never on the message. Action says what a person
// must do; it is empty when sending again later is the remedy
// (Retryable).
type SendError struct {
	StatusCode int    // HTTP status
	Code       string // for example "ErrorAccessDenied"
	Reason     Reason
	Action     string // empty when retrying later is the remedy
	// Retryable reports a refusal a later send can overcome (throttling,
	// Graph unavailable); Send already retried it Attempts-1 times.
	Retryable bool
	// RetryAfter is the last answer's Retry-After, zero when it had none.
	RetryAfter time.Duration
	// Attempts is how many sendMail calls were made.
	Attempts int
	Err      error // Graph's error message, when it sent one
}

// Error gives the status, Graph's code and the action.
func (e *SendError) Error() string {
	s := fmt.Sprintf("graphmail: sendMail refused (HTTP %d, %s)", e.StatusCode, e.Code)
	if e.Action != "" {
		s += ": " + e.Action
	}
	if e.Retryable {
		s += fmt.Sprintf(": still refused after %d attempts; send again later", e.Attempts)
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
	delay := m.cfg.RetryDelay
	for attempt := 1; ; attempt++ {
		se, err := m.post(ctx, data)
		if err != nil || se == nil {
			return err
		}
		se.Attempts = attempt
		if !se.Retryable || attempt > m.cfg.MaxRetries || se.RetryAfter > MaxRetryAfter {
			return se
		}
		wait := delay
		if se.RetryAfter > 0 {
			wait = se.RetryAfter
		} else {
			delay = min(delay*2, time.Minute)
		}
		if err := m.sleep(ctx, wait); err != nil {
			return fmt.Errorf("graphmail: sendMail as %s throttled, retry abandoned: %w", m.cfg.Sender, err)
		}
	}
}

// post makes one sendMail call: nil, nil when Graph accepted the message,
// a *SendError when it refused.
func (m *Mailer) post(ctx context.Context, data []byte) (*SendError, error) {
	endpoint := m.base.JoinPath("users", m.cfg.Sender, "sendMail")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("graphmail: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := graphhttp.Authorize(ctx, req, m.cfg.Credential, []string{m.scope}, []string{m.base.Hostname()}); err != nil {
		return nil, fmt.Errorf("graphmail: token for sendMail as %s: %w", m.cfg.Sender, err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("graphmail: sendMail as %s: %w", m.cfg.Sender, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil, nil
	}
	errBody, _ := io.ReadAll(io.LimitReader(resp.Body, graphhttp.MaxErrorBody))
	se := classify(m.cfg.Sender, resp.StatusCode, errBody)
	se.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	return se, nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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

// classify turns Graph's refusal into a *SendError with its reason and
// the action a person must take.
func classify(sender string, status int, body []byte) *SendError {
	se := &SendError{StatusCode: status, Reason: ReasonOther}
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
	switch code := strings.TrimPrefix(se.Code, "Error"); {
	case status == http.StatusTooManyRequests || code == "ApplicationThrottled" || code == "MailboxConcurrency" ||
		status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		se.Reason, se.Retryable = ReasonThrottled, true
	case code == "SendAsDenied":
		se.Reason = ReasonSendAs
		se.Action = "the mailbox " + sender + " may not send as the From address: send as the mailbox itself, or grant it Send As on that address"
	case code == "QuotaExceeded":
		se.Reason = ReasonQuota
		se.Action = "the sender mailbox " + sender + " is full: free space in it or raise its quota"
	case code == "MessageSizeExceeded":
		se.Reason = ReasonMessageSize
		se.Action = "the invitation is over the mailbox's message size limit: shorten the email template or raise the limit"
	case code == "InvalidRecipients":
		se.Reason = ReasonRecipient
		se.Action = "the recipient address was refused: fix the address and send a new invitation"
	case code == "MailboxNotEnabledForRESTAPI" || code == "InvalidUser" || status == http.StatusNotFound:
		se.Reason = ReasonMailbox
		se.Action = "the sender mailbox " + sender + " does not exist or has no active Exchange Online mailbox: license or enable it, or fix graphmail Config.Sender"
	case status == http.StatusUnauthorized || status == http.StatusForbidden || code == "AccessDenied":
		se.Reason = ReasonPermission
		se.Action = "grant the provider app the application permission Mail.Send with admin consent in the provider's tenant, and allow the mailbox " + sender + " in its application access policy"
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
