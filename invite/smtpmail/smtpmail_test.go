package smtpmail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/smtpmail"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

var linkRE = regexp.MustCompile(`https://portal\.example\.com/invite/([A-Za-z0-9_-]{43})`)

func config(ts *testServer, sec smtpmail.Security) smtpmail.Config {
	return smtpmail.Config{
		Host:      "127.0.0.1",
		Port:      ts.port,
		Security:  sec,
		Username:  ts.user,
		Password:  ts.password,
		From:      "invites@fabrikam.example",
		FromName:  "Fabrikam IT",
		TLSConfig: &tls.Config{RootCAs: ts.roots},
		Timeout:   5 * time.Second,
	}
}

func newService(t *testing.T, m invite.Mailer) *invite.Service {
	t.Helper()
	svc, err := invite.New(invite.Options{
		Store:         memstore.New(),
		Mailer:        m,
		PublicBaseURL: "https://portal.example.com",
		Branding:      invite.Branding{ProviderName: "Fabrikam IT", SupportEmail: "help@fabrikam.example", Language: "en"},
		Logger:        slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return svc
}

var req = invite.SendRequest{
	Customer:     "c1",
	CustomerName: "Contoso Ltd",
	Tenant:       "contoso.onmicrosoft.com",
	Recipient:    "admin@contoso.example",
	SentBy:       "Alice Admin",
}

// parsed is a delivered message read back: its headers and both parts.
type parsed struct {
	header mail.Header
	text   string
	html   string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err, "delivered message does not parse:\n%s", data)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err, "Content-Type %q", msg.Header.Get("Content-Type"))
	require.Equal(t, "multipart/alternative", mt)
	p := parsed{header: msg.Header}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var order []string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		var body io.Reader = part // quoted-printable is decoded by NextPart
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, part)
		}
		b, err := io.ReadAll(body)
		require.NoError(t, err)
		ct, cparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		assert.Contains(t, []string{"UTF-8", "utf-8"}, cparams["charset"], "part %s's charset", ct)
		order = append(order, ct)
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	// RFC 2046: the preferred (richest) alternative comes last.
	require.Equal(t, []string{"text/plain", "text/html"}, order, "parts")
	return p
}

func TestDeliveryOverSMTP(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		mode    serverMode
		sec     smtpmail.Security
		user    string
		wantTLS bool
	}{
		{"STARTTLS with AUTH", modeStartTLS, smtpmail.StartTLS, "mailer", true},
		{"implicit TLS with AUTH", modeImplicitTLS, smtpmail.ImplicitTLS, "mailer", true},
		{"plain loopback without AUTH", modePlain, smtpmail.Insecure, "", false},
		{"plain loopback with AUTH", modePlain, smtpmail.Insecure, "mailer", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := startServer(t, c.mode, c.user, "s3cret pass")
			m, err := smtpmail.New(config(ts, c.sec))
			require.NoError(t, err)
			svc := newService(t, m)
			inv, err := svc.Send(t.Context(), req)
			require.NoError(t, err, "Send")
			msgs := ts.messages()
			require.Len(t, msgs, 1, "messages the server received")
			d := msgs[0]
			assert.Equal(t, c.wantTLS, d.TLS, "TLS")
			assert.Equal(t, c.user, d.User, "user")
			assert.Equal(t, "invites@fabrikam.example", d.From, "envelope from")
			assert.Equal(t, []string{"admin@contoso.example"}, d.To, "envelope to")
			p := parse(t, d.Data)
			h := p.header
			subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
			assert.NoError(t, err, "Subject")
			assert.Equal(t, "Fabrikam IT asks you to connect Contoso Ltd's Microsoft 365 tenant", subject)
			from, err := h.AddressList("From")
			if assert.NoError(t, err, "From") && assert.Len(t, from, 1, "From %q", h.Get("From")) {
				assert.Equal(t, "Fabrikam IT", from[0].Name)
				assert.Equal(t, "invites@fabrikam.example", from[0].Address)
			}
			to, err := h.AddressList("To")
			if assert.NoError(t, err, "To") && assert.Len(t, to, 1, "To %q", h.Get("To")) {
				assert.Equal(t, "admin@contoso.example", to[0].Address)
			}
			replyTo, err := h.AddressList("Reply-To")
			if assert.NoError(t, err, "Reply-To") && assert.Len(t, replyTo, 1, "Reply-To %q", h.Get("Reply-To")) {
				assert.Equal(t, "help@fabrikam.example", replyTo[0].Address)
			}
			for k, want := range map[string]string{"Content-Language": "en", "Auto-Submitted": "auto-generated", "Mime-Version": "1.0"} {
				assert.Equal(t, want, h.Get(k), k)
			}
			assert.NotEmpty(t, h.Get("Message-Id"), "headers: %v", h)
			assert.Empty(t, h.Get("Bcc"), "headers: %v", h)
			assert.Empty(t, h.Get("Cc"), "headers: %v", h)
			_, err = h.Date()
			assert.NoError(t, err, "Date")
			mt, mh := linkRE.FindStringSubmatch(p.text), linkRE.FindStringSubmatch(p.html)
			require.NotNil(t, mt, "link missing in the text part:\n%s", p.text)
			require.NotNil(t, mh, "link missing in the HTML part:\n%s", p.html)
			require.Equal(t, mt[1], mh[1], "the parts carry different links")
			assert.Contains(t, p.text, "Alice Admin at Fabrikam IT invites you", "the text body lacks the invitation text")
			assert.Contains(t, p.html, "<strong>Contoso Ltd</strong>", "the HTML body lacks the invitation text")
			assert.Contains(t, p.html, `<a href="`+mh[0]+`"`, "the HTML link is not an intact href")
			// The delivered link redeems the invitation.
			got, err := svc.Redeem(t.Context(), mt[1], "ip")
			require.NoError(t, err, "Redeem of the delivered link")
			require.Equal(t, inv.ID, got.ID, "Redeem of the delivered link")
		})
	}
}

func TestAuthFailure(t *testing.T) {
	t.Parallel()
	ts := startServer(t, modeStartTLS, "mailer", "right")
	cfg := config(ts, smtpmail.StartTLS)
	cfg.Password = "wrong-Password-123"
	m, err := smtpmail.New(cfg)
	require.NoError(t, err)
	svc := newService(t, m)
	inv, err := svc.Send(t.Context(), req)
	var de *invite.DeliveryError
	require.ErrorAs(t, err, &de, "Send with a wrong password")
	require.Equal(t, invite.StatusFailed, inv.Status, "Send with a wrong password")
	require.ErrorContains(t, err, "535", "want the server's 535")
	require.False(t, strings.Contains(err.Error(), cfg.Password), "the error shows the password")
	require.False(t, strings.Contains(inv.Failure, cfg.Password), "the stored failure shows the password")
	require.Empty(t, ts.messages(), "messages the server received")
}

func TestConnectionFailures(t *testing.T) {
	t.Parallel()
	msg := &invite.Message{To: "admin@contoso.example", Subject: "s", Text: "t", HTML: "<p>h</p>"}
	t.Run("STARTTLS required", func(t *testing.T) {
		ts := startServer(t, modePlain, "", "") // offers no STARTTLS
		m, _ := smtpmail.New(config(ts, smtpmail.StartTLS))
		require.ErrorContains(t, m.Send(t.Context(), msg), "STARTTLS", "want a refusal to send without STARTTLS")
		require.Empty(t, ts.messages(), "sent in plain text")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		ts := startServer(t, modeStartTLS, "", "")
		cfg := config(ts, smtpmail.StartTLS)
		cfg.TLSConfig = nil // system roots do not trust the test CA
		m, _ := smtpmail.New(cfg)
		err := m.Send(t.Context(), msg)
		var uae x509UnknownAuthority
		require.ErrorAs(t, err, &uae, "want an unknown-authority certificate error")
	})
	t.Run("rejected recipient", func(t *testing.T) {
		ts := startServer(t, modeStartTLS, "", "")
		m, _ := smtpmail.New(config(ts, smtpmail.StartTLS))
		err := m.Send(t.Context(), &invite.Message{To: "reject@contoso.example", Subject: "s", Text: "t", HTML: "h"})
		require.ErrorContains(t, err, "550", "want the server's 550")
	})
	t.Run("timeout", func(t *testing.T) {
		// A server that accepts connections and never greets.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		m, _ := smtpmail.New(smtpmail.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Security: smtpmail.Insecure,
			From: "invites@fabrikam.example", Timeout: 200 * time.Millisecond})
		require.Error(t, m.Send(t.Context(), msg), "Send to a silent server returned no error")
	})
	t.Run("cancelled context", func(t *testing.T) {
		ts := startServer(t, modeStartTLS, "", "")
		m, _ := smtpmail.New(config(ts, smtpmail.StartTLS))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		require.ErrorIs(t, m.Send(ctx, msg), context.Canceled)
	})
}

func TestHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, modeStartTLS, "", "")
	m, err := smtpmail.New(config(ts, smtpmail.StartTLS))
	require.NoError(t, err)
	for name, msg := range map[string]*invite.Message{
		"subject CRLF":   {To: "a@contoso.example", Subject: "hi\r\nBcc: eve@evil.example"},
		"subject LF":     {To: "a@contoso.example", Subject: "hi\nBcc: eve@evil.example"},
		"to CRLF":        {To: "a@contoso.example\r\nBcc: eve@evil.example", Subject: "s"},
		"to with name":   {To: "A <a@contoso.example>", Subject: "s"},
		"to list":        {To: "a@contoso.example, eve@evil.example", Subject: "s"},
		"reply-to CRLF":  {To: "a@contoso.example", ReplyTo: "r@x.example\r\nBcc: eve@evil.example", Subject: "s"},
		"language CRLF":  {To: "a@contoso.example", Subject: "s", Language: "en\r\nBcc: eve@evil.example"},
		"no recipient":   {Subject: "s"},
		"nil message":    nil,
		"invalid domain": {To: "a@", Subject: "s"},
	} {
		assert.Error(t, m.Send(t.Context(), msg), "%s: accepted", name)
	}
	require.Empty(t, ts.messages(), "messages the server received")
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	ok := smtpmail.Config{Host: "smtp.example.com", From: "invites@fabrikam.example"}
	_, err := smtpmail.New(ok)
	require.NoError(t, err, "valid config")
	for name, mod := range map[string]func(*smtpmail.Config){
		"no host":              func(c *smtpmail.Config) { c.Host = "" },
		"no from":              func(c *smtpmail.Config) { c.From = "" },
		"from with name":       func(c *smtpmail.Config) { c.From = "X <invites@fabrikam.example>" },
		"from name CRLF":       func(c *smtpmail.Config) { c.FromName = "X\r\nBcc: e@x.example" },
		"insecure remote":      func(c *smtpmail.Config) { c.Security = smtpmail.Insecure },
		"user without pass":    func(c *smtpmail.Config) { c.Username = "u" },
		"negative timeout":     func(c *smtpmail.Config) { c.Timeout = -1 },
		"unknown security":     func(c *smtpmail.Config) { c.Security = 7 },
		"port out of range":    func(c *smtpmail.Config) { c.Port = 70000 },
		"HELO with line break": func(c *smtpmail.Config) { c.HELO = "a\nb" },
	} {
		cfg := ok
		mod(&cfg)
		_, err := smtpmail.New(cfg)
		assert.Error(t, err, "%s: accepted", name)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		_, err := smtpmail.New(smtpmail.Config{Host: host, Security: smtpmail.Insecure, From: "a@b.example"})
		assert.NoError(t, err, "Insecure to %s", host)
	}
}
