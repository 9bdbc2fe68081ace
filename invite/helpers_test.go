package invite_test

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

const baseURL = "https://portal.example.com/m365"

var linkRE = regexp.MustCompile(`https://portal\.example\.com/m365/invite/([A-Za-z0-9_-]{43})\b`)

// env is a Service over a memstore with an outbox.
type env struct {
	svc   *invite.Service
	store *memstore.Store
	box   *outbox.Outbox
}

func newEnv(t testing.TB, mod func(*invite.Options)) *env {
	t.Helper()
	e := &env{store: memstore.New(), box: outbox.New(outbox.Options{})}
	opts := invite.Options{
		Store:         e.store,
		Mailer:        e.box,
		PublicBaseURL: baseURL,
		Branding:      invite.Branding{ProviderName: "Fabrikam IT", SupportEmail: "help@fabrikam.example"},
		Logger:        discardLogger(),
	}
	if mod != nil {
		mod(&opts)
	}
	svc, err := invite.New(opts)
	require.NoError(t, err, "New")
	e.svc = svc
	return e
}

func request(customer, recipient string) invite.SendRequest {
	return invite.SendRequest{
		Customer:     customer,
		CustomerName: "Contoso Ltd",
		Tenant:       "contoso.onmicrosoft.com",
		Recipient:    recipient,
		SentBy:       "Alice Admin",
	}
}

// send sends an invitation and returns it with the token from the mail.
func (e *env) send(t *testing.T, req invite.SendRequest) (invite.Invitation, string) {
	t.Helper()
	inv, err := e.svc.Send(t.Context(), req)
	require.NoError(t, err, "Send")
	msgs := e.box.List()
	require.NotEmpty(t, msgs, "Send returned no error but the outbox is empty")
	return inv, tokenOf(t, msgs[0].Message)
}

// tokenOf extracts the token from a message, checking that both parts carry
// the same link.
func tokenOf(t *testing.T, msg invite.Message) string {
	t.Helper()
	mt := linkRE.FindStringSubmatch(msg.Text)
	mh := linkRE.FindStringSubmatch(msg.HTML)
	require.NotNil(t, mt, "no invitation link in the text part:\n%s", msg.Text)
	require.NotNil(t, mh, "no invitation link in the HTML part:\n%s", msg.HTML)
	require.Equal(t, mt[1], mh[1], "text and HTML parts carry different links")
	return mt[1]
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	require.ErrorIs(t, err, target)
}

// failingMailer records each message and then fails.
type failingMailer struct {
	mu   sync.Mutex
	msgs []invite.Message
	err  error
}

func (f *failingMailer) Send(_ context.Context, msg *invite.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, *msg)
	return f.err
}

// step advances the fake clock inside a synctest bubble.
func step(d time.Duration) { time.Sleep(d) }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
