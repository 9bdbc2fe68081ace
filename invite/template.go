package invite

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates/*.tmpl
var defaultTemplateFS embed.FS

// The file names ParseTemplates reads.
const (
	SubjectTemplate = "subject.tmpl"   // text/template, one line
	TextTemplate    = "body.txt.tmpl"  // text/template, the plain-text part
	HTMLTemplate    = "body.html.tmpl" // html/template, the HTML part
)

// Branding is how the email presents the provider. Every field is checked
// by New: no control characters, URLs absolute http(s).
type Branding struct {
	// ProviderName is the provider's name as the customer knows it.
	// Default: "Your service provider".
	ProviderName string
	// LogoURL is an absolute https URL of the provider's logo shown on top
	// of the HTML part; empty shows none.
	LogoURL string
	// SupportEmail and SupportURL are where a recipient who did not expect
	// the email should turn; SupportEmail also becomes the Reply-To.
	SupportEmail string
	SupportURL   string
	// Language is the BCP 47 tag of the templates' language, for the HTML
	// lang attribute and the Content-Language header. Default: "en".
	Language string
}

// EmailData is what the templates render.
type EmailData struct {
	Branding Branding
	// Subject is the rendered subject (available to the body templates).
	Subject string
	// Inviter names the provider admin who sends the invitation.
	Inviter      string
	CustomerName string
	Tenant       string
	Recipient    string
	Permissions  []Permission
	// Link is the invitation link. It is secret until used: templates must
	// not send it anywhere else (no tracking pixels, no third-party URLs).
	Link string
	// ExpiresAt is when the link stops working, in UTC.
	ExpiresAt time.Time
	// TTL is how long the link works from sending.
	TTL time.Duration
}

// Expires is ExpiresAt for people, for example "Thursday, 3 December 2026
// 09:30 UTC".
func (d EmailData) Expires() string {
	return d.ExpiresAt.UTC().Format("Monday, 2 January 2006 15:04 MST")
}

// ValidFor is TTL for people, for example "7 days" or "12 hours".
func (d EmailData) ValidFor() string {
	switch t := d.TTL; {
	case t >= 48*time.Hour && t%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", t/(24*time.Hour))
	case t >= 2*time.Hour && t%time.Hour == 0:
		return fmt.Sprintf("%d hours", t/time.Hour)
	case t >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", t/time.Minute)
	default:
		return t.String()
	}
}

// Templates renders the invitation email. Override the defaults (English)
// with ParseTemplates, for example for another language or a provider's
// own layout.
type Templates struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// DefaultTemplates returns the built-in English templates.
func DefaultTemplates() *Templates {
	t, err := ParseTemplates(defaultTemplateFS)
	if err != nil {
		panic(err) // the embedded templates are tested
	}
	return t
}

// ParseTemplates reads the three templates SubjectTemplate, TextTemplate
// and HTMLTemplate from fsys (at its root, or under "templates/"). They
// render an EmailData.
func ParseTemplates(fsys fs.FS) (*Templates, error) {
	if sub, err := fs.Sub(fsys, "templates"); err == nil {
		if _, err := fs.Stat(sub, SubjectTemplate); err == nil {
			fsys = sub
		}
	}
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", fmt.Errorf("invite: read template: %w", err)
		}
		return string(b), nil
	}
	var t Templates
	src, err := read(SubjectTemplate)
	if err != nil {
		return nil, err
	}
	if t.subject, err = texttemplate.New(SubjectTemplate).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("invite: parse template: %w", err)
	}
	if src, err = read(TextTemplate); err != nil {
		return nil, err
	}
	if t.text, err = texttemplate.New(TextTemplate).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("invite: parse template: %w", err)
	}
	if src, err = read(HTMLTemplate); err != nil {
		return nil, err
	}
	if t.html, err = htmltemplate.New(HTMLTemplate).Option("missingkey=error").Parse(src); err != nil {
		return nil, fmt.Errorf("invite: parse template: %w", err)
	}
	return &t, nil
}

// Render renders the message for data. The subject is trimmed and must be
// a single line; data.Subject is set from it for the bodies.
func (t *Templates) Render(data EmailData) (subject, text, html string, err error) {
	var b bytes.Buffer
	if err := t.subject.Execute(&b, data); err != nil {
		return "", "", "", fmt.Errorf("invite: render subject: %w", err)
	}
	subject = strings.TrimSpace(b.String())
	if subject == "" || strings.ContainsAny(subject, "\r\n") {
		return "", "", "", fmt.Errorf("invite: render subject: the subject template must render one non-empty line")
	}
	data.Subject = subject
	b.Reset()
	if err := t.text.Execute(&b, data); err != nil {
		return "", "", "", fmt.Errorf("invite: render text part: %w", err)
	}
	text = b.String()
	b.Reset()
	if err := t.html.Execute(&b, data); err != nil {
		return "", "", "", fmt.Errorf("invite: render HTML part: %w", err)
	}
	return subject, text, b.String(), nil
}
