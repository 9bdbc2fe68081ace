package smtpmail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
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
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatalf("delivered message does not parse: %v\n%s", err, data)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	p := parsed{header: msg.Header}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var order []string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = part // quoted-printable is decoded by NextPart
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, part)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		ct, cparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if cparams["charset"] != "UTF-8" && cparams["charset"] != "utf-8" {
			t.Errorf("part %s has charset %q, want UTF-8", ct, cparams["charset"])
		}
		order = append(order, ct)
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	// RFC 2046: the preferred (richest) alternative comes last.
	if strings.Join(order, ",") != "text/plain,text/html" {
		t.Fatalf("parts %v, want text/plain then text/html", order)
	}
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
			if err != nil {
				t.Fatal(err)
			}
			svc := newService(t, m)
			inv, err := svc.Send(t.Context(), req)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := ts.messages()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages", len(msgs))
			}
			d := msgs[0]
			if d.TLS != c.wantTLS || d.User != c.user {
				t.Errorf("TLS=%v user=%q, want %v %q", d.TLS, d.User, c.wantTLS, c.user)
			}
			if d.From != "invites@fabrikam.example" || len(d.To) != 1 || d.To[0] != "admin@contoso.example" {
				t.Errorf("envelope from %q to %v", d.From, d.To)
			}
			p := parse(t, d.Data)
			h := p.header
			subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
			if err != nil || subject != "Fabrikam IT asks you to connect Contoso Ltd's Microsoft 365 tenant" {
				t.Errorf("Subject %q (%v)", subject, err)
			}
			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != "Fabrikam IT" || from[0].Address != "invites@fabrikam.example" {
				t.Errorf("From %q (%v)", h.Get("From"), err)
			}
			to, err := h.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != "admin@contoso.example" {
				t.Errorf("To %q (%v)", h.Get("To"), err)
			}
			replyTo, err := h.AddressList("Reply-To")
			if err != nil || len(replyTo) != 1 || replyTo[0].Address != "help@fabrikam.example" {
				t.Errorf("Reply-To %q (%v)", h.Get("Reply-To"), err)
			}
			for k, want := range map[string]string{"Content-Language": "en", "Auto-Submitted": "auto-generated", "Mime-Version": "1.0"} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if h.Get("Message-Id") == "" || h.Get("Bcc") != "" || h.Get("Cc") != "" {
				t.Errorf("headers: %v", h)
			}
			if _, err := h.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			mt, mh := linkRE.FindStringSubmatch(p.text), linkRE.FindStringSubmatch(p.html)
			if mt == nil || mh == nil || mt[1] != mh[1] {
				t.Fatalf("link missing or different in the parts:\n%s\n---\n%s", p.text, p.html)
			}
			if !strings.Contains(p.text, "Alice Admin at Fabrikam IT invites you") || !strings.Contains(p.html, "<strong>Contoso Ltd</strong>") {
				t.Errorf("bodies lack the invitation text:\n%s\n---\n%s", p.text, p.html)
			}
			if !strings.Contains(p.html, `<a href="`+mh[0]+`"`) {
				t.Errorf("the HTML link is not an intact href")
			}
			// The delivered link redeems the invitation.
			got, err := svc.Redeem(t.Context(), mt[1], "ip")
			if err != nil || got.ID != inv.ID {
				t.Fatalf("Redeem of the delivered link: %+v, %v", got, err)
			}
		})
	}
}

func TestAuthFailure(t *testing.T) {
	t.Parallel()
	ts := startServer(t, modeStartTLS, "mailer", "right")
	cfg := config(ts, smtpmail.StartTLS)
	cfg.Password = "wrong-Password-123"
	m, err := smtpmail.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, m)
	inv, err := svc.Send(t.Context(), req)
	var de *invite.DeliveryError
	if !errors.As(err, &de) || inv.Status != invite.StatusFailed {
		t.Fatalf("Send with a wrong password: %+v, %v", inv, err)
	}
	if !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), cfg.Password) || strings.Contains(inv.Failure, cfg.Password) {
		t.Fatalf("error %q: want the server's 535, never the password", err)
	}
	if n := len(ts.messages()); n != 0 {
		t.Fatalf("server received %d messages", n)
	}
}

func TestConnectionFailures(t *testing.T) {
	t.Parallel()
	msg := &invite.Message{To: "admin@contoso.example", Subject: "s", Text: "t", HTML: "<p>h</p>"}
	t.Run("STARTTLS required", func(t *testing.T) {
		ts := startServer(t, modePlain, "", "") // offers no STARTTLS
		m, _ := smtpmail.New(config(ts, smtpmail.StartTLS))
		if err := m.Send(t.Context(), msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("err = %v, want a refusal to send without STARTTLS", err)
		}
		if n := len(ts.messages()); n != 0 {
			t.Fatalf("sent in plain text: %d", n)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		ts := startServer(t, modeStartTLS, "", "")
		cfg := config(ts, smtpmail.StartTLS)
		cfg.TLSConfig = nil // system roots do not trust the test CA
		m, _ := smtpmail.New(cfg)
		err := m.Send(t.Context(), msg)
		var uae x509UnknownAuthority
		if err == nil || !errors.As(err, &uae) {
			t.Fatalf("err = %v, want an unknown-authority certificate error", err)
		}
	})
	t.Run("rejected recipient", func(t *testing.T) {
		ts := startServer(t, modeStartTLS, "", "")
		m, _ := smtpmail.New(config(ts, smtpmail.StartTLS))
		err := m.Send(t.Context(), &invite.Message{To: "reject@contoso.example", Subject: "s", Text: "t", HTML: "h"})
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Fatalf("err = %v, want the server's 550", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		// A server that accepts connections and never greets.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
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
		if err := m.Send(t.Context(), msg); err == nil {
			t.Fatal("Send to a silent server returned no error")
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ts := startServer(t, modeStartTLS, "", "")
		m, _ := smtpmail.New(config(ts, smtpmail.StartTLS))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := m.Send(ctx, msg); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, modeStartTLS, "", "")
	m, err := smtpmail.New(config(ts, smtpmail.StartTLS))
	if err != nil {
		t.Fatal(err)
	}
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
		if err := m.Send(t.Context(), msg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := len(ts.messages()); n != 0 {
		t.Fatalf("server received %d messages", n)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	ok := smtpmail.Config{Host: "smtp.example.com", From: "invites@fabrikam.example"}
	if _, err := smtpmail.New(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
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
		if _, err := smtpmail.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := smtpmail.New(smtpmail.Config{Host: host, Security: smtpmail.Insecure, From: "a@b.example"}); err != nil {
			t.Errorf("Insecure to %s: %v", host, err)
		}
	}
}
