package invite_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

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
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered output (run go test -run Golden -update if the change is intended):\n--- got\n%s", path, got)
	}
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
			if err != nil {
				t.Fatal(err)
			}
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
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct{ name, body string }{{"text", text}, {"html", html}} {
		for _, want := range []string{
			"Alice Admin", "Fabrikam IT", // who invites
			"Contoso Ltd", "contoso.onmicrosoft.com", // for which customer and tenant
			"User.Read.All", "offline_access", "to read the users", // which permissions and why
			"Thursday, 3 December 2026 09:30 UTC", "7 days", // when it expires
			"Did not expect this email?", "help@fabrikam.example", // what to do if unexpected
			d.Link,
		} {
			if !strings.Contains(part.body, want) {
				t.Errorf("%s part lacks %q", part.name, want)
			}
		}
	}
}

func TestHTMLEscapesInput(t *testing.T) {
	t.Parallel()
	d := goldenData()
	d.CustomerName = `<script>alert("x")</script>`
	d.Inviter = `<img src=x onerror=alert(1)>`
	_, _, html, err := invite.DefaultTemplates().Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<img src=x") {
		t.Fatalf("HTML part does not escape names:\n%s", html)
	}
	if !strings.Contains(html, "&lt;script&gt;") {
		t.Fatalf("escaped name missing:\n%s", html)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *invite.Options) {
		o.Templates = tpl
		o.Branding.Language = "de"
	})
	e.send(t, request("c1", "a@contoso.example"))
	msg := e.box.List()[0].Message
	if msg.Subject != "Einladung von Fabrikam IT" || msg.Language != "de" || !strings.HasPrefix(msg.HTML, `<html lang="de">`) {
		t.Fatalf("custom templates not used: %+v", msg)
	}
	if msg.ReplyTo != "help@fabrikam.example" || msg.To != "a@contoso.example" {
		t.Fatalf("headers: %+v", msg)
	}

	// Errors: a missing file, a broken template, a multi-line subject.
	if _, err := invite.ParseTemplates(fstest.MapFS{"subject.tmpl": {Data: []byte("x")}}); err == nil {
		t.Error("ParseTemplates accepted a set without body templates")
	}
	if _, err := invite.ParseTemplates(fstest.MapFS{
		"subject.tmpl": {Data: []byte("{{.Nope")}, "body.txt.tmpl": {}, "body.html.tmpl": {},
	}); err == nil {
		t.Error("ParseTemplates accepted a broken template")
	}
	bad, err := invite.ParseTemplates(fstest.MapFS{
		"subject.tmpl": {Data: []byte("line one\nBcc: eve@evil.example")}, "body.txt.tmpl": {}, "body.html.tmpl": {},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := bad.Render(goldenData()); err == nil {
		t.Error("a subject template rendering two lines was accepted")
	}
	e = newEnv(t, func(o *invite.Options) { o.Templates = bad })
	if _, err := e.svc.Send(t.Context(), request("c1", "a@contoso.example")); err == nil || len(e.box.List()) != 0 {
		t.Errorf("Send with a broken subject: %v, %d sent", err, len(e.box.List()))
	}
	if list, _ := e.svc.List(t.Context(), "c1"); len(list) != 0 {
		t.Errorf("a message that could not be rendered left %d invitations", len(list))
	}
}
