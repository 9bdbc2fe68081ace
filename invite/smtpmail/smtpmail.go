package smtpmail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/tenantgate/tenantgate/invite"
)

// Security is how the connection to the SMTP server is protected.
type Security int

const (
	// StartTLS connects in plain text and upgrades with STARTTLS before
	// anything else is sent; a server without STARTTLS is refused. The
	// default, on port 587.
	StartTLS Security = iota
	// ImplicitTLS speaks TLS from the first byte ("SMTPS"), on port 465.
	ImplicitTLS
	// Insecure sends everything in plain text. New accepts it only for a
	// loopback host (localhost, 127.0.0.1, ::1): a mail catcher on the
	// developer's machine. Default port 1025.
	Insecure
)

// String names the mode for messages.
func (s Security) String() string {
	switch s {
	case StartTLS:
		return "STARTTLS"
	case ImplicitTLS:
		return "implicit TLS"
	case Insecure:
		return "insecure"
	}
	return "Security(" + strconv.Itoa(int(s)) + ")"
}

// DefaultTimeout bounds connecting and each SMTP command when
// Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config configures a Mailer. Host and From are required.
type Config struct {
	// Host is the SMTP server's host name (also the name its TLS
	// certificate must carry).
	Host string
	// Port defaults by Security: 587, 465 or 1025.
	Port int
	// Security defaults to StartTLS.
	Security Security
	// Username and Password enable SMTP AUTH (the strongest mechanism both
	// sides support; PLAIN and LOGIN only inside TLS). Leave both empty to
	// send without AUTH.
	Username string
	Password string
	// From is the sender's bare address; FromName its display name.
	From     string
	FromName string
	// TLSConfig customises TLS (for example RootCAs for a private CA).
	// Its ServerName defaults to Host. Default: system roots, TLS 1.2+.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each command. Default: DefaultTimeout.
	Timeout time.Duration
	// HELO is the name the client greets with. Default: the OS host name.
	HELO string
}

// Mailer sends invite.Messages over SMTP. Create it with New.
type Mailer struct {
	cfg  Config
	opts []gomail.Option
}

var _ invite.Mailer = (*Mailer)(nil)

// New checks cfg and returns a Mailer. It does not connect: the first
// Send does (use it to test the configuration).
func New(cfg Config) (*Mailer, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtpmail: Config.Host is required")
	}
	if err := checkAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("smtpmail: Config.From: %w", err)
	}
	if strings.ContainsAny(cfg.FromName, "\r\n") || strings.ContainsAny(cfg.HELO, "\r\n ") {
		return nil, errors.New("smtpmail: Config.FromName and Config.HELO must not contain line breaks")
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("smtpmail: set both Config.Username and Config.Password, or neither")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("smtpmail: Config.Timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConf = cfg.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = cfg.Host
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout), gomail.WithTLSConfig(tlsConf)}
	switch cfg.Security {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSMandatory), gomail.WithPort(portOr(cfg.Port, 587)))
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithPort(portOr(cfg.Port, 465)))
	case Insecure:
		if !isLoopback(cfg.Host) {
			return nil, fmt.Errorf("smtpmail: Security Insecure is only allowed to a loopback host, not %q: use StartTLS or ImplicitTLS", cfg.Host)
		}
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.NoTLS), gomail.WithPort(portOr(cfg.Port, 1025)))
	default:
		return nil, fmt.Errorf("smtpmail: unknown %v", cfg.Security)
	}
	if cfg.Username != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if cfg.Security == Insecure { // loopback only
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if _, err := gomail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("smtpmail: %w", err)
	}
	return &Mailer{cfg: cfg, opts: opts}, nil
}

func portOr(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAddress accepts one bare address.
func checkAddress(addr string) error {
	if addr == "" {
		return errors.New("is required")
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return fmt.Errorf("%q is not one bare address like name@example.com", addr)
	}
	return nil
}

// Send delivers msg with a text and an HTML part. It returns once the
// server accepted the message, or an error naming the server (never the
// credentials or the message body).
func (m *Mailer) Send(ctx context.Context, msg *invite.Message) error {
	gm, err := m.build(msg)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(m.cfg.Host, m.opts...)
	if err != nil {
		return fmt.Errorf("smtpmail: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, gm); err != nil {
		return fmt.Errorf("smtpmail: sending through %s (%v): %w", client.ServerAddr(), m.cfg.Security, err)
	}
	return nil
}

// build turns msg into a go-mail message, refusing header injection.
func (m *Mailer) build(msg *invite.Message) (*gomail.Msg, error) {
	if msg == nil {
		return nil, errors.New("smtpmail: nil message")
	}
	if err := checkAddress(msg.To); err != nil {
		return nil, fmt.Errorf("smtpmail: recipient: %w", err)
	}
	if msg.ReplyTo != "" {
		if err := checkAddress(msg.ReplyTo); err != nil {
			return nil, fmt.Errorf("smtpmail: Reply-To: %w", err)
		}
	}
	if strings.ContainsAny(msg.Subject, "\r\n") || strings.ContainsAny(msg.Language, "\r\n") {
		return nil, errors.New("smtpmail: line break in the subject or language: refused (header injection)")
	}
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	var err error
	if m.cfg.FromName != "" {
		err = gm.FromFormat(m.cfg.FromName, m.cfg.From)
	} else {
		err = gm.From(m.cfg.From)
	}
	if err != nil {
		return nil, fmt.Errorf("smtpmail: From: %w", err)
	}
	if err := gm.To(msg.To); err != nil {
		return nil, fmt.Errorf("smtpmail: To: %w", err)
	}
	if msg.ReplyTo != "" {
		if err := gm.ReplyTo(msg.ReplyTo); err != nil {
			return nil, fmt.Errorf("smtpmail: Reply-To: %w", err)
		}
	}
	gm.Subject(msg.Subject)
	if msg.Language != "" {
		gm.SetGenHeader(gomail.HeaderContentLang, msg.Language)
	}
	// An automated message: auto-responders must not answer it (RFC 3834).
	gm.SetGenHeader("Auto-Submitted", "auto-generated")
	gm.SetMessageID()
	gm.SetDate()
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	return gm, nil
}
