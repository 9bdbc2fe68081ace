package graphmail_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/graphmail"
	"github.com/tenantgate/tenantgate/m365test"
)

// TestSendMailFaults: each refusal Exchange Online sends through Graph
// becomes a SendError with its reason and the action a person must take;
// the invitation is kept, failed, with the reason in its Failure. Only
// throttling is retried (here MaxRetries 0, so each code costs one call;
// retries are tested in retry_internal_test.go).
func TestSendMailFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code      string
		status    int
		reason    graphmail.Reason
		action    string // in Action, and in the invitation's Failure
		retryable bool
	}{
		{m365test.MailFaultMailboxNotEnabled, 404, graphmail.ReasonMailbox, "license or enable it", false},
		{m365test.MailFaultAccessDenied, 403, graphmail.ReasonPermission, "Mail.Send", false},
		{m365test.MailFaultInvalidRecipients, 400, graphmail.ReasonRecipient, "fix the address", false},
		{m365test.MailFaultQuotaExceeded, 403, graphmail.ReasonQuota, "is full", false},
		{m365test.MailFaultSendAsDenied, 403, graphmail.ReasonSendAs, "Send As", false},
		{m365test.MailFaultMessageSizeExceeded, 400, graphmail.ReasonMessageSize, "size limit", false},
		{m365test.MailFaultThrottled, 429, graphmail.ReasonThrottled, "send again later", true},
	} {
		t.Run(tc.code, func(t *testing.T) {
			f := newFixture(t, []string{"Mail.Send"}, sender)
			m, err := graphmail.New(graphmail.Config{Credential: f.cred, Sender: sender, Transport: f.srv.Transport(), MaxRetries: -1})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.srv.SetMailFault(f.tenant.ID, sender, m365test.MailFault{Code: tc.code}); err != nil {
				t.Fatal(err)
			}
			svc := newService(t, m)
			inv, err := svc.Send(t.Context(), req)
			var se *graphmail.SendError
			var de *invite.DeliveryError
			if !errors.As(err, &de) || !errors.As(err, &se) {
				t.Fatalf("err = %v, want a DeliveryError wrapping a SendError", err)
			}
			if se.StatusCode != tc.status || se.Code != tc.code || se.Reason != tc.reason || se.Retryable != tc.retryable || se.Attempts != 1 {
				t.Errorf("SendError %+v", se)
			}
			if tc.retryable != (se.Action == "") || !strings.Contains(se.Error(), tc.action) {
				t.Errorf("action %q, error %q: want %q", se.Action, se.Error(), tc.action)
			}
			got, err := svc.Get(t.Context(), req.Customer, inv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != invite.StatusFailed || !strings.Contains(got.Failure, tc.code) || !strings.Contains(got.Failure, tc.action) {
				t.Errorf("stored invitation: status %s, failure %q", got.Status, got.Failure)
			}
			if n := len(f.srv.SentMail()); n != 0 {
				t.Errorf("%d messages sent", n)
			}
		})
	}
}

// TestSendMailThrottledThenSent: a throttled mailbox (one 429 without
// Retry-After, one with) is retried and the invitation goes out once.
func TestSendMailThrottledThenSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"Mail.Send"}, sender)
	m, err := graphmail.New(graphmail.Config{Credential: f.cred, Sender: sender, Transport: f.srv.Transport(), RetryDelay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.SetMailFault(f.tenant.ID, sender, m365test.MailFault{Code: m365test.MailFaultThrottled, Times: 1}); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, m)
	inv, err := svc.Send(t.Context(), req)
	if err != nil || inv.Status != invite.StatusPending || len(f.srv.SentMail()) != 1 {
		t.Fatalf("Send after one throttled call: %+v, %v, %d sent", inv, err, len(f.srv.SentMail()))
	}
	if n := f.srv.Count(m365test.Match{Endpoint: m365test.EndpointSendMail}); n != 2 {
		t.Errorf("%d sendMail calls, want 2", n)
	}
}

func TestSetMailFaultRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"Mail.Send"}, sender)
	for _, mf := range []m365test.MailFault{
		{Code: "ErrorNoSuchThing"},
		{Code: m365test.MailFaultQuotaExceeded, RetryAfter: time.Second},
		{Code: m365test.MailFaultThrottled, Times: -1},
	} {
		if err := f.srv.SetMailFault(f.tenant.ID, sender, mf); err == nil {
			t.Errorf("%+v accepted", mf)
		}
	}
	if err := f.srv.SetMailFault(f.tenant.ID, "nobody@fabrikam.onmicrosoft.com", m365test.MailFault{Code: m365test.MailFaultThrottled}); err == nil {
		t.Error("unknown mailbox accepted")
	}
}
