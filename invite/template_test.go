package invite_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/invite"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

func goldenData() invite.EmailData {
	return invite.EmailData{
		Branding: invite.Branding{
			ProviderName: "Fabrikam IT",
			LogoURL:      "https://fabrikam.example/logo.png",
			SupportEmail: "help@fabrikam.example",
			SupportURL:   "https://fabrikam.example/support",
			Language:     "en",
		},
		Inviter:      "Alice Admin",
		CustomerName: "Contoso Ltd",
		Tenant:       "contoso.onmicrosoft.com",
		Recipient:    "admin@contoso.example",
		Permissions:  invite.DefaultPermissions,
		Link:         "https://portal.example.com/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		ExpiresAt:    time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC),
		TTL:          invite.DefaultTTL,
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got, "%s differs from the rendered output (run go test -run Golden -update if the change is intended)", path)
}

func TestDefaultTemplatesGolden(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		mod  func(*invite.EmailData)
	}{
		{"full", func(*invite.EmailData) {}},
		{"minimal", func(d *invite.EmailData) {
			d.Branding = invite.Branding{ProviderName: "Your service provider", Language: "en"}
			d.CustomerName, d.Tenant = "", ""
			d.TTL = 36 * time.Hour
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := goldenData()
			c.mod(&d)
			subject, text, html, err := invite.DefaultTemplates().Render(d)
			require.NoError(t, err)
			golden(t, c.name+".subject.golden", subject+"\n")
			golden(t, c.name+".txt.golden", text)
			golden(t, c.name+".html.golden", html)
		})
	}
}

// TestEmailSaysWhatMatters checks the facts the email must carry, in both
// parts, independent of wording details pinned by the golden files.
func TestEmailSaysWhatMatters(t *testing.T) {
	t.Parallel()
	d := goldenData()
	_, text, html, err := invite.DefaultTemplates().Render(d)
	require.NoError(t, err)
	for _, part := range []struct{ name, body string }{{"text", text}, {"html", html}} {
		for _, want := range []string{
			"Alice Admin", "Fabrikam IT", // who invites
			"Contoso Ltd", "contoso.onmicrosoft.com", // for which customer and tenant
			"User.Read.All", "offline_access", "to read the users", // which permissions and why
			"Thursday, 3 December 2026 09:30 UTC", "7 days", // when it expires
			"Did not expect this email?", "help@fabrikam.example", // what to do if unexpected
			d.Link,
		} {
			assert.Contains(t, part.body, want, "%s part", part.name)
		}
	}
}

func TestHTMLEscapesInput(t *testing.T) {
	t.Parallel()
	d := goldenData()
	d.CustomerName = `<script>alert("x")</script>`
	d.Inviter = `<img src=x onerror=alert(1)>`
	_, _, html, err := invite.DefaultTemplates().Render(d)
	require.NoError(t, err)
	require.NotContains(t, html, "<script>", "HTML part does not escape names")
	require.NotContains(t, html, "<img src=x", "HTML part does not escape names")
	require.Contains(t, html, "&lt;script&gt;", "escaped name missing")
}

func TestCustomTemplates(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"templates/subject.tmpl":    {Data: []byte("Einladung von {{.Branding.ProviderName}}")},
		"templates/body.txt.tmpl":   {Data: []byte("Link: {{.Link}} bis {{.Expires}}")},
		"templates/body.html.tmpl":  {Data: []byte(`<html lang="{{.Branding.Language}}"><a href="{{.Link}}">Verbinden</a></html>`)},
		"templates/unrelated.other": {Data: []byte("x")},
	}
	tpl, err := invite.ParseTemplates(fsys)
	require.NoError(t, err)
	e := newEnv(t, func(o *invite.Options) {
		o.Templates = tpl
		o.Branding.Language = "de"
	})
	e.send(t, request("c1", "a@contoso.example"))
	msg := e.box.List()[0].Message
	require.Equal(t, "Einladung von Fabrikam IT", msg.Subject, "custom templates not used")
	require.Equal(t, "de", msg.Language, "custom templates not used")
	require.True(t, strings.HasPrefix(msg.HTML, `<html lang="de">`), "custom templates not used: %+v", msg)
	require.Equal(t, "help@fabrikam.example", msg.ReplyTo, "headers")
	require.Equal(t, "a@contoso.example", msg.To, "headers")

	// Errors: a missing file, a broken template, a multi-line subject.
	_, err = invite.ParseTemplates(fstest.MapFS{"subject.tmpl": {Data: []byte("x")}})
	assert.Error(t, err, "ParseTemplates accepted a set without body templates")
	_, err = invite.ParseTemplates(fstest.MapFS{
		"subject.tmpl": {Data: []byte("{{.Nope")}, "body.txt.tmpl": {}, "body.html.tmpl": {},
	})
	assert.Error(t, err, "ParseTemplates accepted a broken template")
	bad, err := invite.ParseTemplates(fstest.MapFS{
		"subject.tmpl": {Data: []byte("line one\nBcc: eve@evil.example")}, "body.txt.tmpl": {}, "body.html.tmpl": {},
	})
	require.NoError(t, err)
	_, _, _, err = bad.Render(goldenData())
	assert.Error(t, err, "a subject template rendering two lines was accepted")
	e = newEnv(t, func(o *invite.Options) { o.Templates = bad })
	_, err = e.svc.Send(t.Context(), request("c1", "a@contoso.example"))
	assert.Error(t, err, "Send with a broken subject")
	assert.Empty(t, e.box.List(), "Send with a broken subject sent a message")
	list, _ := e.svc.List(t.Context(), "c1")
	assert.Empty(t, list, "a message that could not be rendered left invitations")
}
